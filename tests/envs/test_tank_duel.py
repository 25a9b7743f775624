"""The tank duel as a PettingZoo parallel env: PettingZoo's own API and seed checks, each side
sees what the graph's camera would show it, and a fight's end is told to both agents."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from pettingzoo.test import parallel_api_test, parallel_seed_test

from atrap_studio.envs.tank_duel import TankDuelEnv
from atrap_studio.nodes.scenes.tanks.nodes import camera_view

FIRE = 7  # the last of the discrete moves
WAIT = 0


def test_pettingzoo_api_and_seed_checks_pass() -> None:
    parallel_api_test(TankDuelEnv(episode_steps=40), num_cycles=100)
    parallel_seed_test(lambda: TankDuelEnv(map="random", episode_steps=40))
    parallel_api_test(TankDuelEnv(controls="continuous", episode_steps=40), num_cycles=50)


def _facing(env: TankDuelEnv) -> None:
    """Both tanks on the x axis, each facing the other, no pillars."""
    arena = env.arena
    arena.pillars.zero_()
    arena.position[0] = torch.tensor([[-4.0, 0.0], [4.0, 0.0]])
    arena.heading[0] = torch.tensor([0.0, math.pi])


def test_each_tank_sees_the_other_in_the_middle_of_its_camera() -> None:
    env = TankDuelEnv(map="open", rays=9)
    env.reset(seed=0)
    _facing(env)
    observations, *_ = env.step({"tank_0": WAIT, "tank_1": WAIT})
    for tank, agent in enumerate(("tank_0", "tank_1")):
        seen = observations[agent][9:18]  # the "sees the enemy" channel
        assert seen.tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0], agent
        expected = camera_view(env.arena, tank, 9, math.radians(90.0))[0].numpy()
        np.testing.assert_allclose(observations[agent][:27], expected)
    assert observations["tank_0"][-2:].tolist() == [1.0, 1.0]  # full health, loaded


def test_a_kill_ends_the_fight_for_both_with_the_win_to_the_killer() -> None:
    env = TankDuelEnv(map="open", hits_to_kill=1)
    env.reset(seed=1)
    _facing(env)
    rewards_seen = {"tank_0": 0.0, "tank_1": 0.0}
    for _ in range(10):
        _, rewards, terminations, truncations, infos = env.step({"tank_0": FIRE, "tank_1": WAIT})
        for agent, reward in rewards.items():
            rewards_seen[agent] += reward
        if any(terminations.values()):
            break
    assert terminations == {"tank_0": True, "tank_1": True}
    assert truncations == {"tank_0": False, "tank_1": False}
    assert infos["tank_0"]["result"] == 1.0 and infos["tank_1"]["result"] == -1.0
    assert rewards_seen["tank_0"] > 3.5 and rewards_seen["tank_1"] < -0.4  # hit + win; hit taken
    assert env.agents == []
    with pytest.raises(RuntimeError, match="reset"):
        env.step({"tank_0": WAIT, "tank_1": WAIT})


def test_bad_arguments_and_actions_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="map 'moon'"):
        TankDuelEnv(map="moon")
    with pytest.raises(ValueError, match="unknown reward events"):
        TankDuelEnv(rewards={"glory": 1.0})
    env = TankDuelEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="no action for"):
        env.step({"tank_0": WAIT})
    with pytest.raises(ValueError, match="tank_1: move 9"):
        env.step({"tank_0": WAIT, "tank_1": 9})
