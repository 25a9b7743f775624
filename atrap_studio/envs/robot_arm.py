"""The robot-arm reaching task as gymnasium envs: ``atrap/RobotArm-v0``.

Not a second copy of the task: each env is the graph env of ``robot_arm_reach_ppo.yaml`` with
the arm, action and reward set from keyword arguments, so an outside RL library trains on the
very task our own trainers see.

- observation: joint angles (J, radians) then the target position (3, metres), float32,
  bounded by the joint limits and the arm's reach;
- action: J values in [-1, 1], absolute joint targets normalised to the limits
  (``joint_targets``) or turns of up to ``max_step_deg`` (``joint_deltas``);
- reward: minus the tip-to-target distance in units of ``reward_scale_mm`` (100 mm), or
  ``reward_shape="log"``: -log(1 + d / ``reward_scale_mm``), which keeps telling the last
  millimetres apart;
- episodes: ``episode_steps`` steps, with ``error_mm`` and ``is_success`` in the info at the
  end. By default the end is the task's (``terminated``: one move is judged where it lands);
  ``episode_end="time_limit"`` reports it as ``truncated`` instead, the right reading for
  closed-loop reaching over several steps, where the arm could go on and a learner should
  bootstrap the value of where it stopped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector.utils import batch_space

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import AtrapError
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.envs.graph_env import GraphEnv, GraphVectorEnv
from atrap_studio.examples import example_path
from atrap_studio.runtime.arm_scene import ArmScene

ACTION_MODES = ("joint_targets", "joint_deltas")
REWARD_SHAPES = ("negative_distance", "log")
EPISODE_ENDS = ("task", "time_limit")
EXAMPLE = "robot_arm_reach_ppo"

# Targets are FK of reachable poses, so |coordinate| <= reach; the margin absorbs float32
# rounding at full stretch so an observation never falls outside its own space.
_TARGET_MARGIN_M = 1e-3


def arm_task_graph(
    *,
    joints: int = 6,
    episode_steps: int = 1,
    success_mm: float = 20.0,
    action_mode: str = "joint_targets",
    max_step_deg: float = 10.0,
    reward_scale_mm: float = 100.0,
    reward_shape: str = "negative_distance",
    episode_end: str = "task",
    axes: Sequence[str] = (),
    link_lengths: Sequence[float] = (),
    limits_deg: Sequence[float] = (),
) -> GraphDocument:
    """The example graph with the arm, its action and its reward set as asked.

    Raises:
        ValueError: an argument the graph refuses, with validation's words.
    """
    if action_mode not in ACTION_MODES:
        raise ValueError(f"action_mode {action_mode!r} is not one of {ACTION_MODES}")
    if reward_shape not in REWARD_SHAPES:
        raise ValueError(f"reward_shape {reward_shape!r} is not one of {REWARD_SHAPES}")
    if episode_end not in EPISODE_ENDS:
        raise ValueError(f"episode_end {episode_end!r} is not one of {EPISODE_ENDS}")
    doc = load_graph(example_path(EXAMPLE))
    nodes = {node.id: node for node in doc.nodes}
    nodes["arm"].props.update(
        joints=joints,
        episode_steps=episode_steps,
        episode_end=episode_end,
        success_mm=success_mm,
        axes=list(axes),
        link_lengths=list(link_lengths),
        limits_deg=list(limits_deg),
    )
    nodes["brain"].props["hidden"] = [8]  # the agent is outside: keep the unused network small
    nodes["move"].type = f"action.{action_mode}"
    nodes["move"].props = {"max_step_deg": max_step_deg} if action_mode == "joint_deltas" else {}
    nodes["near"].props.update(scale_mm=reward_scale_mm, shape=reward_shape)
    return doc


def _observation_space(scene: ArmScene) -> spaces.Box:
    chain = scene.chain
    bound = np.full(3, scene.geometry.reach + _TARGET_MARGIN_M, dtype=np.float32)
    low = np.concatenate([chain.lower.cpu().numpy(), -bound]).astype(np.float32)
    high = np.concatenate([chain.upper.cpu().numpy(), bound]).astype(np.float32)
    return spaces.Box(low=low, high=high, dtype=np.float32)


class RobotArmEnv(GraphEnv):
    """One robot arm reaching for a target: ``atrap/RobotArm-v0``.

    Args:
        joints: Number of revolute joints (2..7); the industrial layout unless overridden.
        episode_steps: Steps per episode (1: reach in one move).
        success_mm: An episode succeeds when the tip ends closer than this to the target.
        action_mode: ``joint_targets`` (absolute, normalised to the limits) or
            ``joint_deltas`` (turns of up to ``max_step_deg`` per step).
        max_step_deg: Largest turn per step in ``joint_deltas`` mode.
        reward_scale_mm: The distance's unit in the reward.
        reward_shape: ``negative_distance`` (-d / scale) or ``log`` (-log(1 + d / scale)).
        episode_end: ``task`` (the end is ``terminated``) or ``time_limit`` (``truncated``).
        axes, link_lengths, limits_deg: the arm's layout, as the ``scene.robot_arm`` node.
        device: Where the scene's tensors live.
        render_mode: Only ``None``: the scene is drawn by the studio, not by gymnasium.
    """

    def __init__(
        self,
        joints: int = 6,
        episode_steps: int = 1,
        success_mm: float = 20.0,
        action_mode: str = "joint_targets",
        max_step_deg: float = 10.0,
        reward_scale_mm: float = 100.0,
        reward_shape: str = "negative_distance",
        episode_end: str = "task",
        axes: Sequence[str] = (),
        link_lengths: Sequence[float] = (),
        limits_deg: Sequence[float] = (),
        device: str | torch.device = "cpu",
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode {render_mode!r} is not supported; this env has none")
        graph = arm_task_graph(
            joints=joints,
            episode_steps=episode_steps,
            success_mm=success_mm,
            action_mode=action_mode,
            max_step_deg=max_step_deg,
            reward_scale_mm=reward_scale_mm,
            reward_shape=reward_shape,
            episode_end=episode_end,
            axes=axes,
            link_lengths=link_lengths,
            limits_deg=limits_deg,
        )
        try:
            super().__init__(graph, device=str(device))
        except AtrapError as exc:  # an argument the graph refuses, in validation's words
            raise ValueError(str(exc)) from None
        self.observation_space = _observation_space(self.scene)

    @property
    def scene(self) -> ArmScene:
        """The simulated scene (one instance), for inspection and tests."""
        scene = self.pipeline.scene
        assert isinstance(scene, ArmScene)
        return scene


class RobotArmVectorEnv(GraphVectorEnv):
    """``num_envs`` robot arms in one batched scene: one tensor pass per step.

    Autoreset is ``SAME_STEP``: an episode that ends in a step is restarted within it, so with
    one-step episodes every step is a full episode rather than every other step a reset. The
    ended episode's state is in ``info["final_obs"]`` (a dense (num_envs, J + 3) array) and its
    ``error_mm`` and ``is_success`` in ``info["final_info"]``, each with a ``_``-prefixed mask.

    Arguments are those of :class:`RobotArmEnv`, plus ``num_envs``. ``reset(seed=s)`` seeds the
    whole batch from one stream; with ``num_envs=1`` it reproduces ``RobotArmEnv`` exactly.
    """

    def __init__(
        self,
        num_envs: int = 1,
        joints: int = 6,
        episode_steps: int = 1,
        success_mm: float = 20.0,
        action_mode: str = "joint_targets",
        max_step_deg: float = 10.0,
        reward_scale_mm: float = 100.0,
        reward_shape: str = "negative_distance",
        episode_end: str = "task",
        axes: Sequence[str] = (),
        link_lengths: Sequence[float] = (),
        limits_deg: Sequence[float] = (),
        device: str | torch.device = "cpu",
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode {render_mode!r} is not supported; this env has none")
        graph = arm_task_graph(
            joints=joints,
            episode_steps=episode_steps,
            success_mm=success_mm,
            action_mode=action_mode,
            max_step_deg=max_step_deg,
            reward_scale_mm=reward_scale_mm,
            reward_shape=reward_shape,
            episode_end=episode_end,
            axes=axes,
            link_lengths=link_lengths,
            limits_deg=limits_deg,
        )
        try:
            super().__init__(graph, num_envs=num_envs, device=str(device))
        except AtrapError as exc:
            raise ValueError(str(exc)) from None
        self.single_observation_space = _observation_space(self.scene)
        self.observation_space = batch_space(self.single_observation_space, num_envs)

    @property
    def scene(self) -> ArmScene:
        """The simulated scene (``num_envs`` instances), for inspection and tests."""
        scene = self.pipeline.scene
        assert isinstance(scene, ArmScene)
        return scene
