"""The tank duel as a PettingZoo parallel env: both tanks are agents, for multi-agent libraries.

The same arena, camera, status and rewards as the graph's nodes (``nodes/scenes/tanks``), seen
from each side: ``tank_0`` is the graph's agent, ``tank_1`` the tank a scripted opponent drives
in a graph. Each agent observes its own camera strip (per ray: depth as a share of the arena's
diagonal, whether it sees the enemy, whether it sees an enemy shell) and its status (health,
gun loaded); it acts with one of 8 moves (``controls="discrete"``) or drive, turn and fire in
[-1, 1]. Rewards are the example's (hits given and taken, the win, aim), each from the agent's
own side. A fight ends when a tank is destroyed (both terminate) or by the time limit (both
truncate); ``infos`` then hold ``result`` (+1 won, 0 draw, -1 lost) per agent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from pettingzoo import ParallelEnv

from atrap_studio.nodes.scenes.tanks.arena import MAPS, Rules, TankArena
from atrap_studio.nodes.scenes.tanks.nodes import camera_view, event_value, status_view
from atrap_studio.nodes.scenes.tanks.opponents import Opponent, State
from atrap_studio.nodes.scenes.tanks.specs import DISCRETE_CONTROLS, EVENTS
from atrap_studio.runtime.context import Command

AGENTS = ("tank_0", "tank_1")
#: The shipped example's reward weights (tanks_camera_ppo.yaml).
EXAMPLE_REWARDS: Mapping[str, float] = {
    "hit_given": 1.0,
    "won": 3.0,
    "hit_taken": -0.5,
    "aim": 0.01,
}


class _Outside:
    """Tank 1's driver when an outside agent plays it: the controls the env was given."""

    def initial_state(self, instances: int, device: torch.device) -> State:
        return {"controls": torch.zeros(instances, 3, device=device)}

    def restart(self, state: State, index: torch.Tensor, generator: torch.Generator) -> None:
        pass

    def act(self, arena: TankArena, state: State, generator: torch.Generator) -> torch.Tensor:
        controls: torch.Tensor = state["controls"]
        return controls.clone()


class TankDuelEnv(ParallelEnv[str, np.ndarray, Any]):  # type: ignore[misc]  # untyped base
    """One arena, two learning tanks.

    Args:
        map: the arena's map (``open``, ``pillars`` or ``random``).
        rays, fov_deg: each tank's camera.
        episode_steps: steps of 0.1 s before a fight is a draw.
        hits_to_kill: hits that destroy a tank.
        controls: ``discrete`` (one of 8 moves) or ``continuous`` (drive, turn, fire).
        rewards: weight of each event (``hit_given``, ``hit_taken``, ``won``, ``lost``,
            ``time``, ``aim``); the example's by default.
    """

    metadata: dict[str, Any] = {"name": "atrap_tank_duel_v0", "render_modes": []}  # noqa: RUF012

    def __init__(
        self,
        *,
        map: str = "pillars",  # the scene's own property name
        rays: int = 32,
        fov_deg: float = 90.0,
        episode_steps: int = 300,
        hits_to_kill: int = 3,
        controls: str = "discrete",
        rewards: Mapping[str, float] = EXAMPLE_REWARDS,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode {render_mode!r} is not supported; this env has none")
        if map not in MAPS:
            raise ValueError(f"map {map!r} is not one of {MAPS}")
        if controls not in ("discrete", "continuous"):
            raise ValueError(f"controls {controls!r} is not 'discrete' or 'continuous'")
        unknown = sorted(set(rewards) - set(EVENTS))
        if unknown:
            raise ValueError(f"unknown reward events {unknown}; events are {EVENTS}")
        if rays < 1 or not 0 < fov_deg <= 360 or episode_steps < 1 or hits_to_kill < 1:
            raise ValueError("rays, fov_deg, episode_steps and hits_to_kill must be positive")
        self.rays, self.fov = rays, math.radians(fov_deg)
        self.discrete = controls == "discrete"
        self.weights = dict(rewards)
        self.render_mode = render_mode
        self.possible_agents = list(AGENTS)
        self.agents: list[str] = []
        self._table = torch.tensor([move for _, move in DISCRETE_CONTROLS], dtype=torch.float32)
        self._generator = torch.Generator()
        self.arena = TankArena(
            instances=1,
            map_name=map,
            opponent="idle",
            episode_steps=episode_steps,
            rules=Rules(hits_to_kill=hits_to_kill),
            generator=self._generator,
        )
        self._outside: Opponent = _Outside()
        self.arena.seat(self._outside, "outside agent")
        self._observation_space = spaces.Box(0.0, 1.0, shape=(3 * rays + 2,), dtype=np.float32)
        self._action_space: spaces.Space[Any] = (
            spaces.Discrete(len(DISCRETE_CONTROLS))
            if self.discrete
            else spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
        )

    def observation_space(self, agent: str) -> spaces.Box:
        return self._observation_space  # the same object each time, as PettingZoo asks

    def action_space(self, agent: str) -> spaces.Space[Any]:
        return self._action_space

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        if seed is None:
            seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
        self.arena.restart(seed)
        self.agents = list(AGENTS)
        return self._observations(), {agent: {} for agent in self.agents}

    def step(
        self, actions: dict[str, Any]
    ) -> tuple[
        dict[str, np.ndarray],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        if not self.agents:
            raise RuntimeError("the fight is over: call reset() before step()")
        missing = [agent for agent in self.agents if agent not in actions]
        if missing:
            raise ValueError(f"no action for {missing}")
        arena = self.arena
        arena.opponent_state["controls"] = self._controls(actions["tank_1"], "tank_1")
        arena.apply([Command("tank_controls", self._controls(actions["tank_0"], "tank_0"))])
        rewards = {
            agent: float(sum(w * event_value(arena, tank, e)[0] for e, w in self.weights.items()))
            for tank, agent in enumerate(AGENTS)
        }
        ended, cut = bool(arena.done[0]), bool(arena.truncated[0])
        observations = self._observations()
        result = float(arena.result()[0])
        terminations = {agent: ended and not cut for agent in AGENTS}
        truncations = {agent: cut for agent in AGENTS}
        infos: dict[str, dict[str, Any]] = {agent: {} for agent in AGENTS}
        if ended:
            infos = {"tank_0": {"result": result}, "tank_1": {"result": -result}}
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def _controls(self, action: Any, agent: str) -> torch.Tensor:
        """One agent's action as the arena's (drive, turn, fire) row."""
        if self.discrete:
            choice = int(np.asarray(action).reshape(()))
            if not 0 <= choice < len(self._table):
                raise ValueError(f"{agent}: move {choice} is not in 0..{len(self._table) - 1}")
            return self._table[choice][None].clone()
        values = np.asarray(action, dtype=np.float32).reshape(-1)
        if values.shape != (3,) or not np.isfinite(values).all():
            raise ValueError(f"{agent}: continuous controls are 3 finite values, got {action!r}")
        return torch.as_tensor(values).clamp(-1.0, 1.0)[None]

    def _observations(self) -> dict[str, np.ndarray]:
        arena = self.arena
        return {
            agent: torch.cat(
                [camera_view(arena, tank, self.rays, self.fov), status_view(arena, tank)], -1
            )[0]
            .clamp(0.0, 1.0)
            .numpy()
            .astype(np.float32)
            for tank, agent in enumerate(AGENTS)
        }
