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

import numpy as np
import torch
from torch import Tensor

from atrap_studio.runtime.context import Command
from atrap_studio.runtime.snapshots import FrameSnapshot

#: Drawing every copy of an environment whose vector version draws all at once costs too much
#: beyond this many copies.
MAX_DRAWN_TOGETHER = 64


def _make_vector(env_id: str, instances: int, vectorize: str, render: bool) -> Any:
    # pygame draws the classic-control frames off screen; it needs no display or sound card.
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    import gymnasium
    from gymnasium.vector import AutoresetMode

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
    import gymnasium

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
        from gymnasium import spaces
        from gymnasium.vector import AutoresetMode

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
        n = instances
        self.done = torch.zeros(n, dtype=torch.bool)
        self.terminated = torch.zeros(n, dtype=torch.bool)
        self.truncated = torch.zeros(n, dtype=torch.bool)
        self.reward = torch.zeros(n)
        self.episode_return = torch.zeros(n, dtype=torch.float64)
        self.episode_length = torch.zeros(n, dtype=torch.int64)
        self.episodes = 0
        self._restarting = torch.zeros(n, dtype=torch.bool)
        self._restarting_any = False
        self._next_obs: Tensor | None = None
        self.steps = 0
        self.obs = self._reset_all()

    # -- the Scene protocol ---------------------------------------------------------------

    def begin_step(self) -> None:
        """Restart the copies whose episode ended in the last step."""
        ended = self.done
        if bool(self._restarting_any):
            self._restarting = torch.zeros_like(ended)
            self._restarting_any = False
        if bool(ended.any()):
            from gymnasium.vector import AutoresetMode

            if self.mode == AutoresetMode.DISABLED:
                obs, _ = self.env.reset(options={"reset_mask": ended.numpy().copy()})
                self.obs[ended] = self._encode(obs)[ended]
            elif self.mode == AutoresetMode.SAME_STEP:
                assert self._next_obs is not None
                self.obs[ended] = self._next_obs[ended]
            else:  # NEXT_STEP: the environment restarts them during the coming step
                self._restarting = ended.clone()
                self._restarting_any = True
            self.episode_return[ended] = 0.0
            self.episode_length[ended] = 0
            self.done = torch.zeros_like(ended)
            self.terminated = torch.zeros_like(ended)
            self.truncated = torch.zeros_like(ended)

    def restart(self, seed: int | None = None) -> None:
        """Start new episodes in every copy (reseeding first when given a seed)."""
        if seed is not None:
            self.generator.manual_seed(seed)
        self.obs = self._reset_all()

    def apply(self, commands: list[Command]) -> None:
        """Step every copy with the environment action's command."""
        from gymnasium.vector import AutoresetMode

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
        reward_t = torch.from_numpy(rewards)
        term = torch.from_numpy(np.array(terminated, dtype=bool))
        trunc = torch.from_numpy(np.array(truncated, dtype=bool))
        if self._restarting_any:  # restart steps: no reward, no end, not counted
            restarting = self._restarting
            term, trunc = term & ~restarting, trunc & ~restarting
            reward_t = torch.where(restarting, 0.0, reward_t)
            self.episode_length += (~restarting).to(torch.int64)
        else:
            self.episode_length += 1
        self.reward = reward_t.to(torch.float32)
        self.episode_return += reward_t
        self.terminated, self.truncated = term, trunc & ~term
        self.done = term | trunc
        self.episodes += int(self.done.sum())
        if self.mode == AutoresetMode.SAME_STEP and bool(self.done.any()):
            self._next_obs = encoded.clone()
            final = info["final_obs"]
            for index in self.done.nonzero().flatten().tolist():
                encoded[index] = self._encode(np.asarray(final[index])[None])[0]
        self.obs = encoded

    def outcome(self) -> dict[str, Tensor]:
        """Each copy's episode return so far (complete where its episode just ended)."""
        if self.success_return is not None:
            success = self.episode_return >= self.success_return
        else:
            success = self.truncated.clone()
        return {"return": self.episode_return.clone(), "success": success}

    def metrics(self) -> dict[str, float]:
        return {}

    def snapshot(self, instances: list[int]) -> FrameSnapshot:
        """Pictures of the shown copies, where the environment can draw them."""
        shown = [i for i in instances if 0 <= i < self.instances] or [0]
        from gymnasium.vector import SyncVectorEnv

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
        index = torch.tensor(shown)
        return FrameSnapshot(
            instances=np.asarray(shown),
            frames=tuple(np.ascontiguousarray(f[..., :3], dtype=np.uint8) for f in frames),
            returns=self.episode_return[index].numpy().copy(),
            lengths=self.episode_length[index].numpy().copy(),
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
        self.obs = self._reset_all()

    def close(self) -> None:
        self.env.close()

    # -- encoding -----------------------------------------------------------------------------

    def _reset_all(self) -> Tensor:
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=self.generator))
        obs, _ = self.env.reset(seed=seed)
        self.done = torch.zeros(self.instances, dtype=torch.bool)
        self.terminated = torch.zeros_like(self.done)
        self.truncated = torch.zeros_like(self.done)
        self._restarting = torch.zeros_like(self.done)
        self._restarting_any = False
        self.episode_return.zero_()
        self.episode_length.zero_()
        return self._encode(obs)

    def _encode(self, obs: Any) -> Tensor:
        """Observations as (N, size) float32: Box flattened, Discrete one-hot."""
        array = np.asarray(obs)
        if self.discrete_observation:
            index = torch.as_tensor(array.astype(np.int64)).reshape(-1)
            return torch.nn.functional.one_hot(index, int(self.observation_space.n)).float()
        values = np.array(array.reshape(array.shape[0], -1), dtype=np.float32)  # our own copy
        if not np.isfinite(values).all():
            bad = int(np.flatnonzero(~np.isfinite(values).all(1))[0])
            raise ValueError(
                f"the environment '{self.env_id}' observed non-finite values "
                f"{values[bad].tolist()} (copy {bad}, step {self.steps})"
            )
        return torch.from_numpy(values)

    def _decode(self, values: Tensor) -> np.ndarray:
        """The network's values as the environment's actions."""
        array = values.cpu().numpy()  # numpy is quicker than torch at these small sizes
        if self.discrete_action:
            return array.argmax(axis=-1).astype(np.int64)
        unit = np.clip(array, -1.0, 1.0)
        scaled = self._low + (unit + 1.0) * 0.5 * (self._high - self._low)
        shape = (self.instances, *self.action_space.shape)
        return scaled.reshape(shape).astype(self.action_space.dtype)
