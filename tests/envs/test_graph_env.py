"""Every graph is a gymnasium environment: the checker passes and other libraries train on it."""

from __future__ import annotations

import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

import atrap_studio.envs
from atrap_studio.core.document import GraphDocument
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.envs.graph_env import GraphEnv, GraphVectorEnv
from atrap_studio.examples import example_names, example_path


def _quiet_check(env: gymnasium.Env) -> list[str]:  # type: ignore[type-arg]
    """The checker's warnings, less its advice about unbounded observations: sensors declare no
    bounds, so a graph's observation space is unbounded (as CartPole's own velocities are)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env)
    return [str(w.message) for w in caught if "infinity" not in str(w.message)]


@pytest.mark.parametrize("name", example_names())
def test_every_shipped_example_passes_the_env_checker(name: str) -> None:
    env = gymnasium.make(atrap_studio.envs.GRAPH_ID, graph=name)
    assert isinstance(env.unwrapped, GraphEnv)
    assert _quiet_check(env.unwrapped) == []


def test_the_observation_is_what_the_graph_feeds_its_network() -> None:
    env = GraphEnv("robot_arm_reach_ppo")
    obs, _ = env.reset(seed=4)
    scene = env.pipeline.scene
    expected = np.concatenate([scene.q[0].numpy(), scene.target[0].numpy()])  # type: ignore[attr-defined]
    np.testing.assert_allclose(obs, expected, atol=1e-7)
    assert env.action_space.shape == (6,)


def _copies_one_after_another(doc: GraphDocument) -> GraphDocument:
    doc.node("cartpole").props["vectorize"] = "copies"  # type: ignore[union-attr]
    return doc


def test_vector_env_restarts_ended_episodes_in_the_same_step() -> None:
    graph = _copies_one_after_another(load_graph(example_path("cartpole_ppo")))
    env = gymnasium.make_vec(atrap_studio.envs.GRAPH_ID, num_envs=5, graph=graph)
    assert isinstance(env, GraphVectorEnv)
    assert env.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    env.reset(seed=0)
    push = np.tile(np.array([[-1.0, 1.0]], np.float32), (5, 1))  # always right: falls soon
    for _ in range(40):
        obs, _, terminated, _, info = env.step(push)
        if terminated.any():
            assert "final_obs" in info and info["_final_obs"].tolist() == terminated.tolist()
            assert (info["final_info"]["return"][terminated] > 0).all()
            # the new episodes start near upright, the ended ones had fallen
            assert np.abs(obs[terminated, 2]).max() < 0.06
            assert np.abs(info["final_obs"][terminated, 2]).min() > 0.2
            return
    pytest.fail("no episode ended")


def test_a_next_step_scene_makes_a_next_step_vector_env() -> None:
    env = GraphVectorEnv("cartpole_ppo", num_envs=5)  # CartPole's own vector version inside
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    env.reset(seed=0)
    push = np.tile(np.array([[-1.0, 1.0]], np.float32), (5, 1))
    for _ in range(40):
        obs, _, terminated, _, info = env.step(push)
        if terminated.any():
            assert np.abs(obs[terminated, 2]).min() > 0.2  # the fallen pole, as gymnasium does
            assert (info["return"][terminated] > 0).all()
            obs, reward, terminated_again, _, _ = env.step(push)
            assert (reward[terminated] == 0).all() and not terminated_again[terminated].any()
            assert np.abs(obs[terminated, 2]).max() < 0.06  # restarted, the action ignored
            return
    pytest.fail("no episode ended")


def test_same_seed_same_episodes() -> None:
    first = GraphEnv("cartpole_ppo")
    second = GraphEnv("cartpole_ppo")
    np.testing.assert_array_equal(first.reset(seed=9)[0], second.reset(seed=9)[0])


def test_stable_baselines3_trains_on_a_graph_unchanged() -> None:
    sb3 = pytest.importorskip("stable_baselines3")
    env = GraphEnv("cartpole_ppo")
    model = sb3.PPO("MlpPolicy", env, n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=128)
    action, _ = model.predict(env.reset(seed=1)[0], deterministic=True)
    assert action.shape == (2,) and np.all(np.abs(action) <= 1.0)


def test_an_arm_whose_episodes_end_by_time_reports_truncation() -> None:
    graph = load_graph(example_path("robot_arm_reach_ppo"))
    graph.node("arm").props.update(episode_steps=3, episode_end="time_limit")  # type: ignore[union-attr]
    env = GraphEnv(graph)
    env.reset(seed=0)
    ends = [env.step(np.zeros(6, np.float32))[2:4] for _ in range(3)]
    assert ends == [(False, False), (False, False), (False, True)]
