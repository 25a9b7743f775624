"""Sensor node specs: what the agent perceives of its scene, as vectors."""

from __future__ import annotations

from atrap_studio.core.specs import Facts, NodeSpec, PortSpec, Props, PropSpec

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

JOINT_PULL = NodeSpec(
    type="sensor.joint_pull",
    version=1,
    title="Joint pull",
    category="sensor",
    help=(
        "For each joint, how fast turning it brings the tip towards the target (metres per "
        "radian; negative: away): the arm's Jacobian read along the tip-to-target direction. "
        "It tells a network which joints move the tip where it should go at this pose, which "
        "it would otherwise have to learn from the joint angles: PPO's step-by-step arm learnt "
        "about twice as fast at first with it, though no further in the end."
    ),
    impl="atrap_studio.nodes.impl.sensors:JointPull",
    inputs=(_SCENE_IN,),
    outputs=(
        PortSpec(
            "value",
            "Vector",
            "One value per joint (m/rad): minus the gradient of the distance.",
            shape=lambda p, f: (f["joints"],),
        ),
    ),
    requires_facts=("joints", "effector", "target"),
)

_ORIENTATION_ENCODING = PropSpec(
    "encoding",
    "choice",
    "rotation_6d",
    "rotation_6d: the first two columns of the rotation matrix (6 values; continuous over all "
    "orientations, so the easiest for a network to learn from); quaternion: w, x, y, z with "
    "w >= 0 (4 values; it must jump somewhere between the two that mean one orientation).",
    choices=("rotation_6d", "quaternion"),
)


def _orientation_size(props: Props, facts: Facts) -> tuple[int, ...]:
    return (6 if props["encoding"] == "rotation_6d" else 4,)


EFFECTOR_ORIENTATION = NodeSpec(
    type="sensor.effector_orientation",
    version=1,
    title="Effector orientation",
    category="sensor",
    help="How the tip of the arm is turned: the orientation of its last link's frame.",
    impl="atrap_studio.nodes.impl.sensors:EffectorOrientation",
    inputs=(_SCENE_IN,),
    outputs=(
        PortSpec(
            "value",
            "Vector",
            "The tip's orientation (6 values, or 4 as a quaternion).",
            shape=_orientation_size,
        ),
    ),
    props=(_ORIENTATION_ENCODING,),
    requires_facts=("effector",),
)

TARGET_ORIENTATION = NodeSpec(
    type="sensor.target_orientation",
    version=1,
    title="Target orientation",
    category="sensor",
    help=(
        "How the target wants the tip turned: an orientation the tip can take at the target's "
        "position (the scene draws both from one pose of the arm)."
    ),
    impl="atrap_studio.nodes.impl.sensors:TargetOrientation",
    inputs=(_SCENE_IN,),
    outputs=(
        PortSpec(
            "value",
            "Vector",
            "The target's orientation (6 values, or 4 as a quaternion).",
            shape=_orientation_size,
        ),
    ),
    props=(_ORIENTATION_ENCODING,),
    requires_facts=("target_orientation",),
)

ORIENTATION_TO_TARGET = NodeSpec(
    type="sensor.orientation_to_target",
    version=1,
    title="Orientation to target",
    category="sensor",
    help=(
        "How far the tip is turned from the target's orientation: the turn still to make as a "
        "rotation vector (3 values: axis times angle, radians, in the base frame) or its angle "
        "alone (1 value, radians)."
    ),
    impl="atrap_studio.nodes.impl.sensors:OrientationToTarget",
    inputs=(_SCENE_IN,),
    outputs=(
        PortSpec(
            "value",
            "Vector",
            "The turn from the tip's orientation to the target's (rad).",
            shape=lambda p, f: (3 if p["mode"] == "rotation_vector" else 1,),
        ),
    ),
    props=(
        PropSpec(
            "mode",
            "choice",
            "rotation_vector",
            "rotation_vector: axis times angle of the turn left (3 values, rad); angle: the "
            "angle alone (1 value, rad).",
            choices=("rotation_vector", "angle"),
        ),
    ),
    requires_facts=("effector", "target_orientation"),
)

SPECS = (
    JOINT_ANGLES,
    EFFECTOR_POSITION,
    TARGET_POSITION,
    DISTANCE_TO_TARGET,
    JOINT_PULL,
    EFFECTOR_ORIENTATION,
    TARGET_ORIENTATION,
    ORIENTATION_TO_TARGET,
)
