"""The robot-arm reaching scene as a gymnasium ``Env`` and a batched gymnasium ``VectorEnv``.

Both wrap :class:`~atrap_studio.runtime.arm_scene.ArmScene`, so an outside RL library trains on
the very task our own trainers see: the defaults match ``robot_arm_reach_ppo.yaml``.

- observation: joint angles (J, radians) then the target position (3, metres), float32;
- action: J values in [-1, 1], absolute joint targets normalised to the limits
  (``joint_targets``) or turns of up to ``max_step_deg`` (``joint_deltas``);
- reward: minus the tip-to-target distance in units of ``reward_scale_mm`` (100 mm), as
  ``reward.distance_to_target`` with ``shape: negative_distance``;
- episodes: ``episode_steps`` steps, then ``terminated`` with ``error_mm`` and ``is_success``
  in the info. The observation holds no clock, so the end is the task's end, never a truncation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import gymnasium
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from atrap_studio.ik.chain import ArmGeometry
from atrap_studio.runtime.arm_scene import ArmScene
from atrap_studio.runtime.context import Command

ACTION_MODES = ("joint_targets", "joint_deltas")

Obs = NDArray[np.float32]
Action = NDArray[np.float32]

# Targets are FK of reachable poses, so |coordinate| <= reach; the margin absorbs float32
# rounding at full stretch so an observation never falls outside its own space.
_TARGET_MARGIN_M = 1e-3


def _torch_seed(rng: np.random.Generator) -> int:
    """A torch seed drawn from gymnasium's generator, so ``reset(seed=...)`` fixes both."""
    return int(rng.integers(0, 2**63 - 1))


class _ReachTask:
    """What both envs share: the scene, the action and observation encoding, the reward."""

    def __init__(
        self,
        *,
        instances: int,
        joints: int,
        episode_steps: int,
        success_mm: float,
        action_mode: str,
        max_step_deg: float,
        reward_scale_mm: float,
        axes: Sequence[str],
        link_lengths: Sequence[float],
        limits_deg: Sequence[float],
        device: str | torch.device,
        seed: int,
    ) -> None:
        if action_mode not in ACTION_MODES:
            raise ValueError(f"action_mode {action_mode!r} is not one of {ACTION_MODES}")
        if instances < 1:
            raise ValueError(f"need at least one arm, got {instances}")
        if episode_steps < 1:
            raise ValueError(f"episode_steps must be >= 1, got {episode_steps}")
        if not reward_scale_mm > 0:
            raise ValueError(f"reward_scale_mm must be > 0, got {reward_scale_mm}")
        if action_mode == "joint_deltas" and not max_step_deg > 0:
            raise ValueError(f"max_step_deg must be > 0, got {max_step_deg}")
        geometry = ArmGeometry.from_props(joints, axes, link_lengths, limits_deg)
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(seed)
        self.scene = ArmScene(
            geometry,
            instances=instances,
            episode_steps=episode_steps,
            success_mm=success_mm,
            target_mode="random_in_reach",
            generator=self.generator,
        )
        self.instances = instances
        self.joints = geometry.joints
        self.action_mode = action_mode
        # joint_targets stay normalised: the scene maps them onto its own limits.
        self.action_scale = 1.0 if action_mode == "joint_targets" else math.radians(max_step_deg)
        self.reward_scale_m = reward_scale_mm / 1000.0

    def observation_space(self) -> spaces.Box:
        chain = self.scene.chain
        bound = np.full(3, self.scene.geometry.reach + _TARGET_MARGIN_M, dtype=np.float32)
        low = np.concatenate([chain.lower.cpu().numpy(), -bound]).astype(np.float32)
        high = np.concatenate([chain.upper.cpu().numpy(), bound]).astype(np.float32)
        return spaces.Box(low=low, high=high, dtype=np.float32)

    def action_space(self) -> spaces.Box:
        return spaces.Box(-1.0, 1.0, shape=(self.joints,), dtype=np.float32)

    def restart(self, seed: int | None) -> None:
        """Start new episodes in every instance (reseeding first when given a seed)."""
        if seed is not None:
            self.generator.manual_seed(seed)
        self.scene.done = torch.ones_like(self.scene.done)
        with torch.no_grad():
            self.scene.begin_step()

    def observe(self) -> Obs:
        """(N, J + 3) float32, a fresh array each call (users keep what they are given)."""
        scene = self.scene
        obs: Obs = torch.cat([scene.q, scene.target], dim=1).cpu().numpy()
        return obs

    def act(self, actions: Any) -> tuple[NDArray[np.float64], NDArray[np.bool_], Obs]:
        """Apply one batch of actions; returns rewards, ended episodes and the reached state.

        Ended episodes are not restarted here: the caller decides when (gymnasium's single
        env waits for ``reset()``, the vector env restarts them in the same step).
        """
        values = np.asarray(actions, dtype=np.float32)
        if values.size != self.instances * self.joints:
            raise ValueError(
                f"expected {self.instances} x {self.joints} action values, got shape {values.shape}"
            )
        scene = self.scene
        with torch.no_grad():
            command = torch.as_tensor(values, device=scene.q.device)
            command = command.reshape(self.instances, self.joints).clamp(-1.0, 1.0)
            if self.action_scale != 1.0:
                command = command * self.action_scale
            scene.apply([Command(self.action_mode, command)])
            reward = -(scene.distance() / self.reward_scale_m)
            reached = self.observe()
            return (
                reward.cpu().numpy().astype(np.float64),
                # A copy: restarting episodes clears ``done`` in place.
                scene.done.cpu().numpy().copy(),
                reached,
            )

    def outcome(self) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """Reach error (mm) and success of every instance's current state."""
        with torch.no_grad():
            result = self.scene.outcome()
        return (
            result["error_mm"].cpu().numpy().astype(np.float64),
            result["success"].cpu().numpy(),
        )


class RobotArmEnv(gymnasium.Env[NDArray[Any], NDArray[Any]]):
    """One robot arm reaching for a target: ``atrap/RobotArm-v0``.

    Built on an :class:`ArmScene` of one instance. Call ``reset()`` after an episode ends.

    Args:
        joints: Number of revolute joints (2..7); the industrial layout unless overridden.
        episode_steps: Steps per episode (1: reach in one move).
        success_mm: An episode succeeds when the tip ends closer than this to the target.
        action_mode: ``joint_targets`` (absolute, normalised to the limits) or
            ``joint_deltas`` (turns of up to ``max_step_deg`` per step).
        max_step_deg: Largest turn per step in ``joint_deltas`` mode.
        reward_scale_mm: The reward is minus the distance in units of this.
        axes: Joint axes, as the ``scene.robot_arm`` node; empty for the default.
        link_lengths: Link lengths (m), as the node; empty for the default.
        limits_deg: Symmetric joint limits (±degrees), as the node; empty for the default.
        device: Where the scene's tensors live.
        render_mode: Only ``None``: the scene is drawn by the studio, not by gymnasium.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 - gymnasium reads it

    def __init__(
        self,
        joints: int = 6,
        episode_steps: int = 1,
        success_mm: float = 20.0,
        action_mode: str = "joint_targets",
        max_step_deg: float = 10.0,
        reward_scale_mm: float = 100.0,
        axes: Sequence[str] = (),
        link_lengths: Sequence[float] = (),
        limits_deg: Sequence[float] = (),
        device: str | torch.device = "cpu",
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode {render_mode!r} is not supported; this env has none")
        self.render_mode = render_mode
        self._task = _ReachTask(
            instances=1,
            joints=joints,
            episode_steps=episode_steps,
            success_mm=success_mm,
            action_mode=action_mode,
            max_step_deg=max_step_deg,
            reward_scale_mm=reward_scale_mm,
            axes=axes,
            link_lengths=link_lengths,
            limits_deg=limits_deg,
            device=device,
            seed=_torch_seed(self.np_random),
        )
        self.observation_space = self._task.observation_space()
        self.action_space = self._task.action_space()

    @property
    def scene(self) -> ArmScene:
        """The simulated scene (one instance), for inspection and tests."""
        return self._task.scene

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Obs, dict[str, Any]]:
        super().reset(seed=seed)
        self._task.restart(_torch_seed(self.np_random) if seed is not None else None)
        return self._task.observe()[0], {}

    def step(self, action: Action) -> tuple[Obs, float, bool, bool, dict[str, Any]]:
        reward, ended, reached = self._task.act(action)
        info: dict[str, Any] = {}
        terminated = bool(ended[0])
        if terminated:
            error_mm, success = self._task.outcome()
            info = {"error_mm": float(error_mm[0]), "is_success": bool(success[0])}
        return reached[0], float(reward[0]), terminated, False, info


class RobotArmVectorEnv(VectorEnv[NDArray[Any], NDArray[Any], NDArray[Any]]):
    """``num_envs`` robot arms in one batched :class:`ArmScene`: one tensor pass per step.

    Autoreset is ``SAME_STEP`` (declared in ``metadata``): an episode that ends in a step is
    restarted within it, so with one-step episodes every step is a full episode rather than
    every other step a reset. As gymnasium's ``SyncVectorEnv`` in that mode, the returned
    observation is the new episode's, and the ended episode's state is in ``info["final_obs"]``
    and its info (``error_mm``, ``is_success``) in ``info["final_info"]``, each with a
    ``_``-prefixed mask. Unlike it, ``final_obs`` is a dense (num_envs, J + 3) float32 array
    rather than an object array (cheaper at thousands of arms; indexing by env works the same);
    its unmasked rows hold the state after the step's action.

    Arguments are those of :class:`RobotArmEnv`, plus ``num_envs``. ``reset(seed=s)`` seeds the
    whole batch from one stream; with ``num_envs=1`` it reproduces ``RobotArmEnv`` exactly.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 - gymnasium reads it
        "render_modes": [],
        "autoreset_mode": AutoresetMode.SAME_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        joints: int = 6,
        episode_steps: int = 1,
        success_mm: float = 20.0,
        action_mode: str = "joint_targets",
        max_step_deg: float = 10.0,
        reward_scale_mm: float = 100.0,
        axes: Sequence[str] = (),
        link_lengths: Sequence[float] = (),
        limits_deg: Sequence[float] = (),
        device: str | torch.device = "cpu",
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode {render_mode!r} is not supported; this env has none")
        self.render_mode = render_mode
        self.num_envs = num_envs
        self._task = _ReachTask(
            instances=num_envs,
            joints=joints,
            episode_steps=episode_steps,
            success_mm=success_mm,
            action_mode=action_mode,
            max_step_deg=max_step_deg,
            reward_scale_mm=reward_scale_mm,
            axes=axes,
            link_lengths=link_lengths,
            limits_deg=limits_deg,
            device=device,
            seed=_torch_seed(self.np_random),
        )
        self.single_observation_space = self._task.observation_space()
        self.single_action_space = self._task.action_space()
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)

    @property
    def scene(self) -> ArmScene:
        """The simulated scene (``num_envs`` instances), for inspection and tests."""
        return self._task.scene

    def reset(
        self,
        *,
        seed: int | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[Obs, dict[str, Any]]:
        """Start new episodes in every arm; ``seed`` is one int for the whole batch."""
        if seed is not None and not isinstance(seed, int | np.integer):
            raise ValueError(
                f"the batch draws from one random stream: give one int seed, not {seed!r}"
            )
        super().reset(seed=None if seed is None else int(seed))
        self._task.restart(_torch_seed(self.np_random) if seed is not None else None)
        return self._task.observe(), {}

    def step(
        self, actions: Action
    ) -> tuple[Obs, NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_], dict[str, Any]]:
        rewards, ended, reached = self._task.act(actions)
        infos: dict[str, Any] = {}
        obs = reached
        if ended.any():
            error_mm, success = self._task.outcome()
            infos = {
                "final_obs": reached,
                "_final_obs": ended.copy(),
                "final_info": {
                    "error_mm": error_mm,
                    "_error_mm": ended.copy(),
                    "is_success": success,
                    "_is_success": ended.copy(),
                },
                "_final_info": ended.copy(),
            }
            with torch.no_grad():
                self._task.scene.begin_step()
            obs = self._task.observe()
        return obs, rewards, ended, np.zeros(self.num_envs, dtype=np.bool_), infos
