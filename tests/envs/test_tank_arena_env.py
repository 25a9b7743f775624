"""``atrap/TankArena-v0``: the tank duel for outside RL libraries, as gymnasium checks it."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import atrap_studio.envs  # noqa: F401 (registers the envs)
from atrap_studio.envs import TANK_ARENA_ID
from atrap_studio.envs.tank_arena import TankArenaEnv


def test_passes_gymnasiums_checks_and_repeats_with_a_seed() -> None:
    env = gymnasium.make(TANK_ARENA_ID, opponent="idle", rays=16)
    check_env(env.unwrapped, skip_render_check=True)
    first, _ = env.reset(seed=5)
    again, _ = gymnasium.make(TANK_ARENA_ID, opponent="idle", rays=16).reset(seed=5)
    np.testing.assert_array_equal(first, again)
    assert first.shape == (3 * 16 + 2,) and env.action_space.shape == (8,)


def test_a_hunter_ends_a_fight_against_a_tank_that_waits() -> None:
    env = gymnasium.make_vec(TANK_ARENA_ID, num_envs=4, opponent="hunter", hits_to_kill=1)
    env.reset(seed=1)
    wait = np.tile(np.eye(8, dtype=np.float32)[0] * 2 - 1, (4, 1))  # move 0: wait
    for _ in range(300):
        _, _, terminated, truncated, info = env.step(wait)
        if terminated.any():
            results = info["final_info"]["result"][terminated]
            assert (results == -1).all() and not truncated[terminated].any()
            return
    pytest.fail("the hunter never won")


def test_continuous_controls_and_refused_arguments() -> None:
    env = TankArenaEnv(controls="continuous")
    assert env.action_space.shape == (3,)
    with pytest.raises(ValueError, match="opponent"):
        TankArenaEnv(opponent="sniper")
    with pytest.raises(ValueError, match="render_mode"):
        TankArenaEnv(render_mode="human")
