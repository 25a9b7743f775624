"""Specs of the gymnasium scene plug-in: any installed environment becomes a scene.

The environment's spaces decide the sizes of its observation and action nodes. They are read
by making the environment once (cached per id), with gymnasium and numpy only: validation never
imports torch.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from atrap_studio.core.outcome import Outcome, Score
from atrap_studio.core.specs import NodeSpec, PortSpec, Props, PropSpec


@lru_cache(maxsize=64)
def env_facts(env_id: str) -> dict[str, Any]:
    """What an installed environment offers: its sizes, action kind and solved threshold.

    Raises:
        ValueError: the id is not installed, or a space is one the scene cannot carry.
    """
    import gymnasium
    from gymnasium import spaces

    try:
        spec = gymnasium.spec(env_id)
    except gymnasium.error.Error as exc:
        known = ", ".join(sorted(i for i in gymnasium.registry if "/" not in i)[:6])
        raise ValueError(
            f"no gymnasium environment '{env_id}' is installed ({exc}); installed ones "
            f"include {known}"
        ) from None
    try:
        env = gymnasium.make(env_id)
    except Exception as exc:  # a missing optional dependency (MuJoCo, Box2D...)
        raise ValueError(f"the environment '{env_id}' cannot be made here: {exc}") from None
    try:
        observation, action = env.observation_space, env.action_space
    finally:
        env.close()
    if isinstance(observation, spaces.Box):
        observation_size = math.prod(observation.shape)
    elif isinstance(observation, spaces.Discrete):
        observation_size = int(observation.n)
    else:
        raise ValueError(
            f"'{env_id}' observes through a {type(observation).__name__} space; the scene "
            "carries Box and Discrete observations only"
        )
    if isinstance(action, spaces.Box):
        kind, action_size = "continuous", math.prod(action.shape)
    elif isinstance(action, spaces.Discrete):
        kind, action_size = "discrete", int(action.n)
    else:
        raise ValueError(
            f"'{env_id}' acts through a {type(action).__name__} space; the scene carries Box "
            "and Discrete actions only"
        )
    return {
        "env_observation": observation_size,
        "env_actions": action_size,
        "env_action_kind": kind,
        "env_reward_threshold": spec.reward_threshold,
        "env_max_steps": spec.max_episode_steps,
        "env_vector_entry_point": bool(spec.vector_entry_point),
    }


def _facts(props: Props) -> dict[str, Any]:
    facts = env_facts(props["env_id"])
    discrete = facts["env_action_kind"] == "discrete"
    return {**facts, "env_reward": True, "differentiable": False, "discrete_actions": discrete}


def success_return(props: Props) -> float | None:
    """The return at which an episode counts as a success, if any."""
    if props["success_from_env"]:
        threshold = env_facts(props["env_id"])["env_reward_threshold"]
        if threshold is not None:
            return float(threshold)
    return float(props["success_return"]) if props["success_return_on"] else None


def _outcome(props: Props) -> Outcome:
    threshold = success_return(props)
    success = (
        f"return of at least {threshold:g}"
        if threshold is not None
        else "the episode ended by the time limit, not by failing"
    )
    return Outcome(
        score=Score("return", "episode return", "", better="higher"),
        success=success,
        snapshot="frame",
    )


GYMNASIUM = NodeSpec(
    type="scene.gymnasium",
    version=1,
    title="Gymnasium environment",
    category="scene",
    help=(
        "Any installed gymnasium environment (CartPole-v1, Pendulum-v1, ...) as a scene: many "
        "copies run at once (the environment's own vector version where it has one). Link its "
        "observation into the network, the network into its action, and its reward into a "
        "trainer."
    ),
    impl="atrap_studio.nodes.scenes.gymnasium.nodes:GymnasiumScene",
    inputs=(
        PortSpec(
            "actuators",
            "Action",
            "The environment action node's command; it steps every copy.",
            multiple=True,
            feedback=True,
        ),
    ),
    outputs=(PortSpec("scene", "Scene", "The environments, for the observation and reward."),),
    props=(
        PropSpec(
            "env_id",
            "str",
            "CartPole-v1",
            "The gymnasium id of the environment, e.g. CartPole-v1 or Pendulum-v1.",
        ),
        PropSpec(
            "instances",
            "int",
            16,
            "How many copies of the environment run at once.",
            min=1,
            max=65_536,
        ),
        PropSpec(
            "vectorize",
            "choice",
            "auto",
            "auto: the environment's own vector version where it has one (fast), else one "
            "copy after another; copies: always one copy after another (each can be drawn).",
            choices=("auto", "copies"),
        ),
        PropSpec(
            "success_from_env",
            "bool",
            True,
            "Count an episode as a success when its return reaches the environment's own "
            "'solved' threshold (CartPole-v1: 475), where it declares one.",
        ),
        PropSpec(
            "success_return_on",
            "bool",
            False,
            "Use 'success_return' where the environment declares no threshold (else an "
            "episode succeeds when it ends by the time limit rather than by failing).",
        ),
        PropSpec(
            "success_return",
            "float",
            0.0,
            "The return that counts as a success, with 'success_return_on'.",
            min=-1e12,
            max=1e12,
        ),
    ),
    facts=_facts,
    outcome=_outcome,
    examples=(
        "cartpole_ppo",
        "pendulum_ppo",
        "pendulum_sac",
        "inverted_pendulum_ppo",
        "cartpole_dqn",
    ),
)

OBSERVATION = NodeSpec(
    type="sensor.env_observation",
    version=1,
    title="Environment observation",
    category="sensor",
    help=(
        "What a gymnasium environment shows the agent, as one vector (a Discrete observation "
        "becomes a one-hot vector)."
    ),
    impl="atrap_studio.nodes.scenes.gymnasium.nodes:Observation",
    inputs=(PortSpec("scene", "Scene", "The gymnasium scene."),),
    outputs=(
        PortSpec(
            "value",
            "Vector",
            "The observation, flattened.",
            shape=lambda p, f: (f["env_observation"],),
        ),
    ),
    requires_facts=("env_observation",),
)

ACTION = NodeSpec(
    type="action.env_action",
    version=1,
    title="Environment action",
    category="action",
    help=(
        "Turns the network's values into the environment's action: for a Box, each value in "
        "[-1, 1] scaled to the action's bounds; for a Discrete choice, the option with the "
        "highest value (one value per option)."
    ),
    impl="atrap_studio.nodes.scenes.gymnasium.nodes:EnvAction",
    inputs=(
        PortSpec(
            "values",
            "Vector",
            "One value per action (Box) or per option (Discrete).",
            shape=lambda p, f: (f["env_actions"],),
        ),
    ),
    outputs=(PortSpec("command", "Action", "Link into the scene's 'actuators'."),),
    requires_facts=("env_actions",),
)

REWARD = NodeSpec(
    type="reward.env_reward",
    version=1,
    title="Environment reward",
    category="reward",
    help="The reward the gymnasium environment gave for the last step, times 'weight'.",
    impl="atrap_studio.nodes.scenes.gymnasium.nodes:EnvReward",
    inputs=(PortSpec("scene", "Scene", "The gymnasium scene."),),
    outputs=(PortSpec("reward", "Reward", "Link into a trainer's 'reward' (or a sum)."),),
    props=(PropSpec("weight", "float", 1.0, "Multiplies the reward.", min=-1e6, max=1e6),),
    requires_facts=("env_reward",),
)

SPECS = (GYMNASIUM, OBSERVATION, ACTION, REWARD)
