"""Tiny gymnasium environments that misbehave on purpose, registered for the tests."""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces


class FaultyEnv(gymnasium.Env[np.ndarray, np.ndarray]):
    """Counts steps; at step ``fault_at`` returns NaN (``fault="nan"``), observations that
    blew up (``fault="explode"``: finite, 1e20) or raises."""

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 - gymnasium reads it

    def __init__(
        self, fault: str = "nan", fault_at: int = 30, render_mode: str | None = None
    ) -> None:
        self.fault, self.fault_at = fault, fault_at
        self.observation_space = spaces.Box(-10.0, 10.0, (2,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.t = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.t += 1
        if self.t >= self.fault_at:
            if self.fault == "raise":
                raise RuntimeError("the simulator lost its licence")
            if self.fault == "explode":
                return np.full(2, 1e20, np.float32), 0.0, False, False, {}
            return np.full(2, np.nan, np.float32), 0.0, False, False, {}
        return (
            np.full(2, 0.1 * (self.t % 5), np.float32),
            float(action[0]),
            False,
            self.t % 5 == 0,
            {},
        )


def register() -> None:
    for fault in ("nan", "raise", "explode"):
        env_id = f"atrap-test/Faulty{fault.title()}-v0"
        if env_id not in gymnasium.registry:
            gymnasium.register(
                id=env_id,
                entry_point="tests.nodes.scenes.faulty_envs:FaultyEnv",
                kwargs={"fault": fault},
            )
