"""Action node specs: turn the network's values in [-1, 1] into commands for the scene."""

from __future__ import annotations

from atrap_studio.core.specs import NodeSpec, PortSpec, PropSpec
from atrap_studio.nodes.specs.nn import names_a_network_file

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
    help=(
        "Turns each joint by a step: ±1 is the largest step; limits still hold. With "
        "'fine_within_mm' the largest step shrinks as the tip nears the target, so the same "
        "values turn the joints less the closer it is: the last millimetres take no finer "
        "answers from the network than the first decimetres (best for reaching learned by "
        "trial; link the scene into 'scene')."
    ),
    impl="atrap_studio.nodes.impl.actions:JointDeltas",
    inputs=(
        _VALUES_IN,
        PortSpec(
            "scene",
            "Scene",
            "The arm, whose tip-to-target distance sets the step (only with 'fine_within_mm').",
            required=False,
            needed_when=(
                lambda p: p["fine_within_mm"] > 0,
                "'fine_within_mm' above 0 reads the distance from the scene",
            ),
        ),
    ),
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
        PropSpec(
            "fine_within_mm",
            "float",
            0.0,
            "Closer than this to the target (mm), the largest turn is 'max_step_deg' times the "
            "distance over this: half the turn at half the distance, a tenth at a tenth, so "
            "the network's trial noise and errors shrink with the distance left (0: always "
            "'max_step_deg'). Near the distance one largest turn moves the tip: the "
            "step-by-step arm example uses 100 mm with 20° turns (200 mm learnt as fast).",
            min=0.0,
            max=100_000.0,
        ),
    ),
    requires_facts=("joints",),
)

IK_REACH = NodeSpec(
    type="action.ik_reach",
    version=1,
    title="Reach by IK",
    category="action",
    help=(
        "Brings the arm's tip to a point (and, if asked, turns it to an orientation) through a "
        "learned inverse-kinematics solver: a network trained on the arm (the robot_arm_reach "
        "or robot_arm_pose example's file) guesses the joint angles and a few damped-least-"
        "squares steps refine them. The network before it then decides where the tip goes, "
        "not how the joints turn: reaching is not learned again."
    ),
    impl="atrap_studio.nodes.impl.ik:IKReach",
    inputs=(
        PortSpec("scene", "Scene", "The arm to move (its geometry must be the solver's)."),
        PortSpec(
            "values",
            "Vector",
            "Where the tip should go: x, y, z in units of the arm's reach (a network's answer "
            "in [-1, 1] spans it); with orientation 'given', then 6 values of the orientation "
            "(two directions, made a rotation: any 6 values do).",
            multiple=True,
            shape=lambda p, f: (3 if p["orientation"] == "free" else 9,),
        ),
    ),
    outputs=(_COMMAND_OUT,),
    props=(
        PropSpec(
            "file",
            "str",
            "",
            "The .atrapnet file of a network trained on this arm to answer with joint angles "
            "(an IK solver: see 'atrap ik'); a relative name is read from the graph's folder.",
            required=True,
            file_types=(".atrapnet",),
        ),
        PropSpec(
            "orientation",
            "choice",
            "free",
            "free: reach the point, the tip turned as the solver finds it; given: also turn "
            "the tip to the orientation that follows the point (a pose network, such as the "
            "robot_arm_pose example's, guesses both).",
            choices=("free", "given"),
        ),
        PropSpec(
            "refine",
            "int",
            10,
            "Damped-least-squares steps after the network's guess (0: the network alone; each "
            "step costs about as much as the guess).",
            min=0,
            max=1_000,
        ),
    ),
    requires_facts=("joints", "effector"),
    checks=(names_a_network_file,),
)

SPECS = (JOINT_TARGETS, JOINT_DELTAS, IK_REACH)
