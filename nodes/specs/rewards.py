"""Reward node specs: what the agent is rewarded for; the trainer adds up their terms."""

from __future__ import annotations

from atrap_studio.core.specs import NodeSpec, PortSpec, PropSpec

_SCENE_IN = PortSpec("scene", "Scene", "The scene to judge.")
_REWARD_OUT = PortSpec("reward", "Reward", "Link into a trainer's 'reward' (or a sum).")
_WEIGHT = PropSpec("weight", "float", 1.0, "Multiplies this reward.", min=-1e6, max=1e6)

DISTANCE_TO_TARGET = NodeSpec(
    type="reward.distance_to_target",
    version=1,
    title="Distance to target",
    category="reward",
    help=(
        "Rewards being close to the target, smoothly (shaped), so every step tells the "
        "agent whether it got warmer."
    ),
    impl="atrap_studio.nodes.impl.rewards:DistanceToTarget",
    inputs=(_SCENE_IN,),
    outputs=(_REWARD_OUT,),
    props=(
        PropSpec(
            "shape",
            "choice",
            "negative_distance",
            "negative_distance: minus the distance in units of 'scale_mm'; exponential: "
            "exp(-distance / scale), 1 at the target; log: -log(1 + distance / scale), which "
            "keeps rewarding the last millimetres (the best shape for learning by trial); "
            "huber: minus half the squared distance within one unit, minus the distance less "
            "half a unit beyond, so targets nearly reached pull less and the direct trainer "
            "works on those still a few units off (a thinner tail of misses).",
            choices=("negative_distance", "exponential", "log", "huber"),
        ),
        PropSpec(
            "scale_mm",
            "float",
            100.0,
            "Distance that counts as one unit (mm).",
            min=0.001,
            max=1e6,
        ),
        _WEIGHT,
    ),
    requires_facts=("effector", "target"),
)

REACHED = NodeSpec(
    type="reward.reached",
    version=1,
    title="Reached",
    category="reward",
    help="A bonus when the tip is within the tolerance of the target (no gradient: a yes/no).",
    impl="atrap_studio.nodes.impl.rewards:Reached",
    inputs=(_SCENE_IN,),
    outputs=(_REWARD_OUT,),
    props=(
        PropSpec("tolerance_mm", "float", 10.0, "How close counts (mm).", min=0.001, max=1e6),
        _WEIGHT,
    ),
    requires_facts=("effector", "target"),
)

WEIGHTED_SUM = NodeSpec(
    type="reward.weighted_sum",
    version=1,
    title="Weighted sum",
    category="reward",
    help="Adds several rewards, each times its weight (in link order).",
    impl="atrap_studio.nodes.impl.rewards:WeightedSum",
    inputs=(PortSpec("terms", "Reward", "Rewards to add up.", multiple=True),),
    outputs=(_REWARD_OUT,),
    props=(
        PropSpec(
            "weights",
            "float_list",
            [],
            "One weight per linked reward, in link order; empty: all 1.",
            min=-1e6,
            max=1e6,
            max_items=64,
        ),
    ),
)

ORIENTATION_TO_TARGET = NodeSpec(
    type="reward.orientation_to_target",
    version=1,
    title="Orientation to target",
    category="reward",
    help=(
        "Rewards turning the tip to the target's orientation, smoothly (shaped) by the angle "
        "left between them; add it to a distance reward to teach position and orientation."
    ),
    impl="atrap_studio.nodes.impl.rewards:OrientationToTarget",
    inputs=(_SCENE_IN,),
    outputs=(_REWARD_OUT,),
    props=(
        PropSpec(
            "shape",
            "choice",
            "negative_angle",
            "negative_angle: minus the angle in units of 'scale_deg'; exponential: "
            "exp(-angle / scale), 1 when turned exactly; log: -log(1 + angle / scale), which "
            "keeps rewarding the last fractions of a degree.",
            choices=("negative_angle", "exponential", "log"),
        ),
        PropSpec(
            "scale_deg",
            "float",
            40.0,
            "Angle that counts as one unit (degrees): beside a distance reward's 100 mm, 40° "
            "weighs 2° as 5 mm (the balance of the learned-IK goal: 5 mm and 2°).",
            min=0.001,
            max=180.0,
        ),
        _WEIGHT,
    ),
    requires_facts=("effector", "target_orientation"),
)

SPECS = (DISTANCE_TO_TARGET, REACHED, WEIGHTED_SUM, ORIENTATION_TO_TARGET)
