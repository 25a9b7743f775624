"""A gymnasium vector environment behind the Scene protocol.

Observations, rewards and ends live in torch tensors like any scene's. Gymnasium's three ways
of restarting ended copies are all served, so that an environment's own fast vector version can
be used as it is:

- ``DISABLED`` (one copy after another, our default): ended copies are reset at the next
  ``begin_step()`` with a reset mask; the scene works exactly as the contract says.
- ``SAME_STEP``: the environment already restarted them; the step's last observation comes from
  ``final_obs`` and the new one is swapped in at ``begin_step()``.
- ``NEXT_STEP`` (CartPole's vector version): the environment restarts a copy during the step
  after its end and ignores that step's action. That one step per episode is a *restart step*:
  it gives no reward, is not counted in the episode and ends nothing.
"""

from __future__ import annotations

import os
from typing import Any

import gymnasium
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from torch import Tensor

from atrap_studio.runtime.context import Command
from atrap_studio.runtime.snapshots import FrameSnapshot

# pygame draws the classic-control frames off screen, MuJoCo through EGL: neither needs a display
# or a sound card (set before an environment imports either).
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("MUJOCO_GL", "egl")

#: Drawing every copy of an environment whose vector version draws all at once costs too much
#: beyond this many copies.
MAX_DRAWN_TOGETHER = 64


def _make_vector(env_id: str, instances: int, vectorize: str, render: bool) -> Any:

    spec = gymnasium.spec(env_id)
    drawn = render and "rgb_array" in _render_modes(env_id)
    kwargs: dict[str, Any] = {"render_mode": "rgb_array"} if drawn else {}
    if vectorize == "auto" and spec.vector_entry_point:
        return gymnasium.make_vec(
            env_id, num_envs=instances, vectorization_mode="vector_entry_point", **kwargs
        )
    return gymnasium.make_vec(
        env_id,
        num_envs=instances,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": AutoresetMode.DISABLED},
        **kwargs,
    )


def _render_modes(env_id: str) -> tuple[str, ...]:
    entry = gymnasium.spec(env_id).entry_point
    if callable(entry):
        return tuple(getattr(entry, "metadata", {}).get("render_modes", ()))
    module, _, name = str(entry).partition(":")
    import importlib

    cls = getattr(importlib.import_module(module), name)
    return tuple(getattr(cls, "metadata", {}).get("render_modes", ()))


class GymScene:
    """``instances`` copies of a gymnasium environment stepped as one vector.

    Args:
        env_id: the gymnasium id.
        instances: how many copies.
        vectorize: ``auto`` (the environment's vector version where it has one) or ``copies``.
        success_return: the return that makes an episode a success; ``None``: an episode
            succeeds when it ends by the time limit rather than by failing.
        generator: seeds the environments (and their restarts after a checkpoint).
        render: whether frames can be drawn (the views ask for them).
    """

    def __init__(
        self,
        env_id: str,
        *,
        instances: int,
        vectorize: str = "auto",
        success_return: float | None = None,
        generator: torch.Generator,
        render: bool = True,
    ) -> None:
        self.env_id = env_id
        self.instances = instances
        self.vectorize = vectorize
        self.success_return = success_return
        self.generator = generator
        self.render = render
        self.env = _make_vector(env_id, instances, vectorize, render)
        self.mode = AutoresetMode(self.env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP))
        self.restarts_next_step = self.mode == AutoresetMode.NEXT_STEP
        self.observation_space = self.env.single_observation_space
        self.action_space = self.env.single_action_space
        self.discrete_observation = isinstance(self.observation_space, spaces.Discrete)
        self.discrete_action = isinstance(self.action_space, spaces.Discrete)
        if not self.discrete_action:
            low, high = self.action_space.low.reshape(-1), self.action_space.high.reshape(-1)
            bounded = np.isfinite(low) & np.isfinite(high)
            self._low = np.where(bounded, low, -1.0).astype(np.float32)
            self._high = np.where(bounded, high, 1.0).astype(np.float32)
        # The bookkeeping is numpy (quicker than torch for these small per-step updates); the
        # Scene protocol's tensors are views of it, made fresh each step.
        n = instances
        self._done = np.zeros(n, dtype=bool)
        self._terminated = np.zeros(n, dtype=bool)
        self._truncated = np.zeros(n, dtype=bool)
        self._reward = np.zeros(n, dtype=np.float32)
        self._return = np.zeros(n, dtype=np.float64)
        self._length = np.zeros(n, dtype=np.int64)
        self._restarting = np.zeros(n, dtype=bool)
        self._next_obs: np.ndarray | None = None
        self.episodes = 0
        self.steps = 0
        self._obs = self._reset_all()

    # -- what sensors, rewards and trainers read ----------------------------------------------

    @property
    def obs(self) -> Tensor:
        """(N, size) float32: Box observations flattened, Discrete ones one-hot."""
        return torch.from_numpy(self._obs)

    @property
    def reward(self) -> Tensor:
        """(N,) the reward of the last step."""
        return torch.from_numpy(self._reward)

    @property
    def done(self) -> Tensor:
        return torch.from_numpy(self._done)

    @property
    def terminated(self) -> Tensor:
        """(N,) ended by the task (the pole fell), not by a time limit."""
        return torch.from_numpy(self._terminated)

    @property
    def truncated(self) -> Tensor:
        return torch.from_numpy(self._truncated)

    @property
    def episode_return(self) -> Tensor:
        """(N,) float64, the reward gathered so far in each copy's episode."""
        return torch.from_numpy(self._return)

    # -- the Scene protocol ---------------------------------------------------------------

    def begin_step(self) -> None:
        """Restart the copies whose episode ended in the last step."""
        if self._restarting.any():  # the restart step is over
            self._restarting = np.zeros_like(self._restarting)
        ended = self._done
        if not ended.any():
            return
        if self.mode == AutoresetMode.DISABLED:
            obs, _ = self.env.reset(options={"reset_mask": ended.copy()})
            self._obs[ended] = self._encode(obs)[ended]
        elif self.mode == AutoresetMode.SAME_STEP:
            assert self._next_obs is not None
            self._obs[ended] = self._next_obs[ended]
        else:  # NEXT_STEP: the environment restarts them during the coming step
            self._restarting = ended.copy()
        self._return[ended] = 0.0
        self._length[ended] = 0
        self._done = np.zeros_like(ended)
        self._terminated = np.zeros_like(ended)
        self._truncated = np.zeros_like(ended)

    def restart(self, seed: int | None = None) -> None:
        """Start new episodes in every copy (reseeding first when given a seed)."""
        if seed is not None:
            self.generator.manual_seed(seed)
        self._obs = self._reset_all()

    def apply(self, commands: list[Command]) -> None:
        """Step every copy with the environment action's command."""
        values = next((c.values for c in commands if c.kind == "env_action"), None)
        if values is None:
            kinds = ", ".join(sorted({c.kind for c in commands})) or "none"
            raise ValueError(
                f"a gymnasium scene needs an 'Environment action' command (got: {kinds})"
            )
        obs, reward, terminated, truncated, info = self.env.step(self._decode(values.detach()))
        self.steps += 1
        encoded = self._encode(obs)
        rewards = np.asarray(reward, dtype=np.float64).reshape(-1)
        if not np.isfinite(rewards).all():
            bad = int(np.flatnonzero(~np.isfinite(rewards))[0])
            raise ValueError(
                f"the environment '{self.env_id}' gave the reward {rewards[bad]} "
                f"(copy {bad}, step {self.steps})"
            )
        term = np.array(terminated, dtype=bool).reshape(-1)
        trunc = np.array(truncated, dtype=bool).reshape(-1) & ~term
        restarting = self._restarting
        if restarting.any():  # restart steps: no reward, no end, not counted
            term &= ~restarting
            trunc &= ~restarting
            rewards = np.where(restarting, 0.0, rewards)
            self._length += ~restarting
        else:
            self._length += 1
        self._reward = rewards.astype(np.float32)
        self._return += rewards
        self._terminated, self._truncated = term, trunc
        self._done = term | trunc
        self.episodes += int(self._done.sum())
        if self.mode == AutoresetMode.SAME_STEP and self._done.any():
            self._next_obs = encoded.copy()
            final = info["final_obs"]
            for index in np.flatnonzero(self._done):
                encoded[index] = self._encode(np.asarray(final[index])[None])[0]
        self._obs = encoded

    def outcome(self) -> dict[str, Tensor]:
        """Each copy's episode return and length so far (complete where its episode just ended)."""
        if self.success_return is not None:
            success = self._return >= self.success_return
        else:
            success = self._truncated.copy()
        return {
            "return": torch.from_numpy(self._return.copy()),
            "length": torch.from_numpy(self._length.copy()),
            "success": torch.from_numpy(success),
        }

    def metrics(self) -> dict[str, float]:
        return {}

    def snapshot(self, instances: list[int]) -> FrameSnapshot:
        """Pictures of the shown copies, where the environment can draw them."""
        shown = [i for i in instances if 0 <= i < self.instances] or [0]
        frames: tuple[np.ndarray, ...] = ()
        note = ""
        if not self.render or self.env.render_mode != "rgb_array":
            note = f"{self.env_id} cannot draw itself (no rgb_array render mode)"
        elif isinstance(self.env, SyncVectorEnv):  # one copy after another: draw the shown ones
            frames = tuple(np.asarray(self.env.envs[i].render()) for i in shown)
        elif self.instances <= MAX_DRAWN_TOGETHER:
            drawn = self.env.render()
            frames = tuple(np.asarray(drawn[i]) for i in shown)
        else:
            note = (
                f"{self.env_id}'s vector version draws all {self.instances:,} copies at once; "
                f"set 'vectorize' to copies, or use at most {MAX_DRAWN_TOGETHER} instances"
            )
        return FrameSnapshot(
            instances=np.asarray(shown),
            frames=tuple(np.ascontiguousarray(f[..., :3], dtype=np.uint8) for f in frames),
            returns=self._return[shown].copy(),
            lengths=self._length[shown].copy(),
            title=self.env_id,
            note=note,
        )

    def spawn(
        self, instances: int, generator: torch.Generator, *, whole_world: bool = False
    ) -> GymScene:
        """Fresh copies (not drawn) for testing a policy; gymnasium worlds have no regions."""
        return GymScene(
            self.env_id,
            instances=instances,
            vectorize=self.vectorize,
            success_return=self.success_return,
            generator=generator,
            render=False,
        )

    def state_tensors(self) -> dict[str, Tensor]:
        """What a checkpoint keeps: the random stream and the count of episodes.

        An environment's own state cannot be saved in general: a resumed run starts fresh
        episodes, seeded from the kept stream.
        """
        return {
            "rng": self.generator.get_state(),
            "episodes": torch.tensor([self.episodes], dtype=torch.int64),
        }

    def load_state_tensors(self, tensors: dict[str, Tensor]) -> None:
        self.generator.set_state(tensors["rng"])
        self.episodes = int(tensors["episodes"][0])
        self._obs = self._reset_all()

    # -- encoding -----------------------------------------------------------------------------

    def _reset_all(self) -> np.ndarray:
        """Reset every copy, seeded from the scene's generator; the first observations."""
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=self.generator))
        obs, _ = self.env.reset(seed=seed)
        for flags in (self._done, self._terminated, self._truncated, self._restarting):
            flags[:] = False
        self._return[:] = 0.0
        self._length[:] = 0
        return self._encode(obs)

    def _encode(self, obs: Any) -> np.ndarray:
        """Observations as (N, size) float32: Box flattened, Discrete one-hot."""
        array = np.asarray(obs)
        if self.discrete_observation:
            index = array.astype(np.int64).reshape(-1)
            return np.eye(int(self.observation_space.n), dtype=np.float32)[index]
        values = np.array(array.reshape(array.shape[0], -1), dtype=np.float32)  # our own copy
        if not np.isfinite(values).all():
            bad = int(np.flatnonzero(~np.isfinite(values).all(1))[0])
            raise ValueError(
                f"the environment '{self.env_id}' observed non-finite values "
                f"{values[bad].tolist()} (copy {bad}, step {self.steps})"
            )
        return values

    def _decode(self, values: Tensor) -> np.ndarray:
        """The network's values as the environment's actions."""
        array = values.cpu().numpy()  # numpy is quicker than torch at these small sizes
        if self.discrete_action:
            return array.argmax(axis=-1).astype(np.int64)
        unit = np.clip(array, -1.0, 1.0)
        scaled = self._low + (unit + 1.0) * 0.5 * (self._high - self._low)
        shape = (self.instances, *self.action_space.shape)
        return scaled.reshape(shape).astype(self.action_space.dtype)
