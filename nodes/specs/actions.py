"""Action node specs: turn the network's values in [-1, 1] into commands for the scene."""

from __future__ import annotations

from atrap_studio.core.specs import NodeSpec, PortSpec, PropSpec

_COMMAND_OUT = PortSpec("command", "Action", "Link into the scene's 'actuators'.")
_VALUES_IN = PortSpec(
    "values",
    "Vector",
    "One value in [-1, 1] per joint.",
    multiple=True,
    shape=lambda p, f: (f["joints"],),
)

JOINT_TARGETS = NodeSpec(
    type="action.joint_targets",
    version=1,
    title="Joint targets",
    category="action",
    help="Sets each joint to an absolute angle: -1 is its lower limit, +1 its upper limit.",
    impl="atrap_studio.nodes.impl.actions:JointTargets",
    inputs=(_VALUES_IN,),
    outputs=(_COMMAND_OUT,),
    props=(
        PropSpec(
            "range",
            "float",
            1.0,
            "Share of each joint's range that the values span (1: the whole range).",
            min=0.01,
            max=1.0,
        ),
    ),
    requires_facts=("joints",),
)

JOINT_DELTAS = NodeSpec(
    type="action.joint_deltas",
    version=1,
    title="Joint deltas",
    category="action",
    help="Turns each joint by a step: ±1 is the largest step; limits still hold.",
    impl="atrap_studio.nodes.impl.actions:JointDeltas",
    inputs=(_VALUES_IN,),
    outputs=(_COMMAND_OUT,),
    props=(
        PropSpec(
            "max_step_deg",
            "float",
            10.0,
            "Largest turn of a joint in one step (degrees).",
            min=0.01,
            max=180.0,
        ),
    ),
    requires_facts=("joints",),
)

SPECS = (JOINT_TARGETS, JOINT_DELTAS)
