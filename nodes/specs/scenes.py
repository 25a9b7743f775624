"""Scene node specs: the worlds an agent acts in, simulated in batches."""

from __future__ import annotations

from atrap_studio.core.outcome import Outcome, Score
from atrap_studio.core.specs import Facts, NodeSpec, PortSpec, Props, PropSpec

MAX_JOINTS = 7


def _arm_facts(props: Props) -> dict[str, object]:
    return {
        "joints": props["joints"],
        "effector": True,
        "target": True,
        "target_orientation": True,
        "differentiable": True,
    }


def _arm_outcome(props: Props) -> Outcome:
    return Outcome(
        score=Score("error_mm", "tip error", "mm", better="lower"),
        success=f"tip within {props['success_mm']:g} mm of the target"
        + (
            f" and turned within {props['success_deg']:g}° of its orientation"
            if props["success_deg"] > 0
            else ""
        ),
        snapshot="arm",
        episode_word="fresh targets",
    )


def _arm_lists_match_joints(props: Props, facts: Facts) -> list[tuple[str, str, str]]:
    problems = []
    joints = props["joints"]
    for name in ("axes", "link_lengths", "limits_deg"):
        value = props[name]
        if value and len(value) != joints:
            problems.append(
                (
                    name,
                    f"property '{name}' has {len(value)} entries but the arm has {joints} joints",
                    "give one entry per joint, or leave it empty ([]) for the default layout",
                )
            )
    for name in ("link_lengths", "limits_deg"):
        if any(v <= 0 for v in props[name]):
            problems.append((name, f"property '{name}' must hold positive values", "use > 0"))
    if props["region"] >= props["regions"]:
        problems.append(
            (
                "region",
                f"region {props['region']} does not exist: the regions are numbered 0 to "
                f"{props['regions'] - 1}",
                "choose a region below 'regions'",
            )
        )
    if props["regions"] > 1 and props["target"] == "near_effector":
        problems.append(
            (
                "regions",
                "targets near the tip cannot be kept inside a region",
                "use target 'random_in_reach' or 'user_driven' with regions, or regions 1",
            )
        )
    return problems


ROBOT_ARM = NodeSpec(
    type="scene.robot_arm",
    version=1,
    title="Robot arm",
    category="scene",
    help=(
        "A serial arm of revolute joints (an industrial 6-axis layout by default) that must "
        "bring its tip to a target. Many copies are simulated at once; each episode draws a "
        "new reachable target: a position and an orientation the tip can take together (the "
        "orientation sensors and reward read it)."
    ),
    impl="atrap_studio.nodes.impl.arm:RobotArmScene",
    inputs=(
        PortSpec(
            "actuators",
            "Action",
            "Commands from action nodes; they move the joints at each step.",
            multiple=True,
            feedback=True,
        ),
    ),
    outputs=(PortSpec("scene", "Scene", "The simulated arms, for sensors and rewards to read."),),
    props=(
        PropSpec("joints", "int", 6, "Number of revolute joints.", min=2, max=MAX_JOINTS),
        PropSpec(
            "axes",
            "str_list",
            [],
            "Rotation axis of each joint in its own frame (x, y or z); empty: industrial layout.",
            choices=("x", "y", "z"),
            max_items=MAX_JOINTS,
        ),
        PropSpec(
            "link_lengths",
            "float_list",
            [],
            "Length in metres of the link after each joint; empty: industrial layout.",
            min=0.001,
            max=10.0,
            max_items=MAX_JOINTS,
        ),
        PropSpec(
            "limits_deg",
            "float_list",
            [],
            "Symmetric limit (±degrees) of each joint; empty: ±170° yaw joints, ±120° others.",
            min=1.0,
            max=180.0,
            max_items=MAX_JOINTS,
        ),
        PropSpec(
            "instances",
            "int",
            1024,
            "How many arms are simulated at once (more: smoother learning, more memory).",
            min=1,
            max=262_144,
        ),
        PropSpec(
            "episode_steps",
            "int",
            1,
            "Steps in each episode before a new target is drawn (1: reach in one move).",
            min=1,
            max=10_000,
        ),
        PropSpec(
            "episode_end",
            "choice",
            "task",
            "What the end of an episode is: the task's end (the reach is judged there and "
            "nothing comes after), or a time limit that cuts an episode the arm could go on with "
            "(trainers then count on the value of where it stopped; best for multi-step reaching "
            "learned by trial, since the arm's inputs hold no clock).",
            choices=("task", "time_limit"),
        ),
        PropSpec(
            "success_mm",
            "float",
            10.0,
            "An episode succeeds when the tip ends closer than this to the target (mm).",
            min=0.001,
            max=10_000.0,
        ),
        PropSpec(
            "success_deg",
            "float",
            0.0,
            "With a value above 0, an episode succeeds only when the tip is also turned within "
            "this many degrees of the target's orientation (0: only the position counts); the "
            "scene view then also draws the target's and the tip's axes.",
            min=0.0,
            max=180.0,
        ),
        PropSpec(
            "target",
            "choice",
            "random_in_reach",
            "Where targets appear: anywhere the arm can reach; near the tip first (a "
            "curriculum that widens as training goes); or user-driven: random, except that a "
            "target you move in the scene view stays where you put it.",
            choices=("random_in_reach", "near_effector", "user_driven"),
        ),
        PropSpec(
            "regions",
            "int",
            1,
            "Split the workspace into this many equal sectors around the base, seen from above "
            "(1: the whole world). Networks trained in different regions can be merged or "
            "trained together in a crowd.",
            min=1,
            max=64,
        ),
        PropSpec(
            "region",
            "int",
            0,
            "Which sector targets come from (0 to regions - 1).",
            min=0,
            max=63,
        ),
    ),
    facts=_arm_facts,
    outcome=_arm_outcome,
    examples=("robot_arm_reach", "robot_arm_reach_ppo", "robot_arm_pose"),
    checks=(_arm_lists_match_joints,),
)

SPECS = (ROBOT_ARM,)
