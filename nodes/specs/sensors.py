"""Sensor node specs: what the agent perceives of its scene, as vectors."""

from __future__ import annotations

from atrap_studio.core.specs import NodeSpec, PortSpec, PropSpec

_SCENE_IN = PortSpec("scene", "Scene", "The scene to read.")

JOINT_ANGLES = NodeSpec(
    type="sensor.joint_angles",
    version=1,
    title="Joint angles",
    category="sensor",
    help="The arm's joint angles: radians, or one quaternion (w, x, y, z) per joint.",
    impl="atrap_studio.nodes.impl.sensors:JointAngles",
    inputs=(_SCENE_IN,),
    outputs=(
        PortSpec(
            "value",
            "Vector",
            "Joint angles (one value per joint, or four per joint as quaternions).",
            shape=lambda p, f: (f["joints"] * (4 if p["encoding"] == "quaternion" else 1),),
        ),
    ),
    props=(
        PropSpec(
            "encoding",
            "choice",
            "radians",
            "radians: one angle per joint; quaternion: w, x, y, z of each joint's rotation.",
            choices=("radians", "quaternion"),
        ),
    ),
    requires_facts=("joints",),
)

EFFECTOR_POSITION = NodeSpec(
    type="sensor.effector_position",
    version=1,
    title="Effector position",
    category="sensor",
    help="Where the tip of the arm is (x, y, z in metres).",
    impl="atrap_studio.nodes.impl.sensors:EffectorPosition",
    inputs=(_SCENE_IN,),
    outputs=(PortSpec("value", "Vector[3]", "Tip position x, y, z (m)."),),
    requires_facts=("effector",),
)

TARGET_POSITION = NodeSpec(
    type="sensor.target_position",
    version=1,
    title="Target position",
    category="sensor",
    help="Where the target is (x, y, z in metres).",
    impl="atrap_studio.nodes.impl.sensors:TargetPosition",
    inputs=(_SCENE_IN,),
    outputs=(PortSpec("value", "Vector[3]", "Target position x, y, z (m)."),),
    requires_facts=("target",),
)

DISTANCE_TO_TARGET = NodeSpec(
    type="sensor.distance_to_target",
    version=1,
    title="Distance to target",
    category="sensor",
    help=(
        "How far the tip is from the target: the vector (3 values), its direction (3 values of "
        "length 1), its length (1 value), or the log of its length (1 value; small distances "
        "stay telling as the arm closes in)."
    ),
    impl="atrap_studio.nodes.impl.sensors:DistanceToTarget",
    inputs=(_SCENE_IN,),
    outputs=(
        PortSpec(
            "value",
            "Vector",
            "Target minus tip (x, y, z), its direction, its length (m) or log length.",
            shape=lambda p, f: (3 if p["mode"] in ("vector", "direction") else 1,),
        ),
    ),
    props=(
        PropSpec(
            "mode",
            "choice",
            "vector",
            "vector: target minus tip (3 values, m); direction: that vector scaled to length 1; "
            "length: the distance (1 value, m); log_length: log of the distance in mm, "
            "log(1 + d / 1 mm).",
            choices=("vector", "direction", "length", "log_length"),
        ),
    ),
    requires_facts=("effector", "target"),
)

SPECS = (JOINT_ANGLES, EFFECTOR_POSITION, TARGET_POSITION, DISTANCE_TO_TARGET)
