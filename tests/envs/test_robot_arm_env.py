"""The robot-arm scene as gymnasium ``Env``/``VectorEnv``: API conformance and the same task."""

from __future__ import annotations

import importlib
import math
import subprocess
import sys
import warnings
from typing import Any

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import atrap_studio.envs
from atrap_studio.envs import ROBOT_ARM_ID
from atrap_studio.envs.robot_arm import RobotArmEnv, RobotArmVectorEnv
from atrap_studio.ik.chain import ArmChain

J = 6
SCALE_M = 0.1  # reward unit of the example graph: scale_mm 100


def _distance(chain: ArmChain, obs: np.ndarray) -> np.ndarray:
    """Tip-to-target distance (m) recomputed from observations alone, (N,)."""
    obs = np.atleast_2d(obs)
    j = chain.joints
    q = torch.as_tensor(obs[:, :j])
    target = torch.as_tensor(obs[:, j:])
    return torch.linalg.vector_norm(chain.effector(q) - target, dim=-1).numpy()


def _unit_from_q(chain: ArmChain, q: torch.Tensor) -> np.ndarray:
    """Inverse of the scene's joint_targets mapping: angles to values in [-1, 1]."""
    middle = (chain.upper + chain.lower) / 2
    half = (chain.upper - chain.lower) / 2
    return ((q - middle) / half).numpy().astype(np.float32)


# -- registration ---------------------------------------------------------------------------


def test_importing_registers_the_env_without_torch() -> None:
    code = (
        "import sys, atrap_studio.envs, gymnasium;"
        "assert 'atrap/RobotArm-v0' in gymnasium.registry;"
        "assert 'torch' not in sys.modules, 'atrap_studio.envs imported torch'"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True)


def test_importing_twice_does_not_reregister() -> None:
    spec = gymnasium.spec(ROBOT_ARM_ID)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.reload(atrap_studio.envs)
        atrap_studio.envs.register_envs()
    assert gymnasium.spec(ROBOT_ARM_ID) is spec
    assert atrap_studio.envs.RobotArmEnv is RobotArmEnv


def test_make_and_make_vec_build_our_classes() -> None:
    env = gymnasium.make(ROBOT_ARM_ID)
    assert isinstance(env.unwrapped, RobotArmEnv)
    vec = gymnasium.make_vec(ROBOT_ARM_ID, num_envs=8, vectorization_mode="vector_entry_point")
    assert isinstance(vec, RobotArmVectorEnv)
    assert vec.num_envs == 8
    assert gymnasium.make_vec(ROBOT_ARM_ID, num_envs=2).unwrapped.__class__ is RobotArmVectorEnv
    vec_kw = gymnasium.make_vec(ROBOT_ARM_ID, num_envs=2, episode_steps=3, joints=4)
    assert vec_kw.single_action_space.shape == (4,)
    assert vec_kw.scene.episode_steps == 3


# -- the single env -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"action_mode": "joint_deltas", "episode_steps": 5}, {"joints": 3}],
    ids=["default", "deltas", "three_joints"],
)
def test_env_checker_passes_without_warnings(kwargs: dict[str, Any]) -> None:
    env = gymnasium.make(ROBOT_ARM_ID, **kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert [str(w.message) for w in caught] == []


def test_wrapped_env_steps_quietly() -> None:
    env = gymnasium.make(ROBOT_ARM_ID)  # with gymnasium's passive checker and order enforcing
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env.reset(seed=0)
        env.action_space.seed(0)
        for _ in range(5):
            _, _, terminated, _, _ = env.step(env.action_space.sample())
            assert terminated
            env.reset()


def test_spaces_match_the_example_graph() -> None:
    env = RobotArmEnv()
    chain = env.scene.chain
    assert env.action_space == gymnasium.spaces.Box(-1.0, 1.0, (J,), np.float32)
    space = env.observation_space
    assert isinstance(space, gymnasium.spaces.Box)
    assert space.shape == (J + 3,) and space.dtype == np.float32
    assert np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))
    np.testing.assert_array_equal(space.low[:J], chain.lower.numpy())
    np.testing.assert_array_equal(space.high[:J], chain.upper.numpy())
    reach = env.scene.geometry.reach
    assert np.all(space.high[J:] >= reach) and np.all(space.high[J:] < reach + 0.01)


@pytest.mark.parametrize("action_mode", ["joint_targets", "joint_deltas"])
def test_observations_stay_in_their_space(action_mode: str) -> None:
    env = RobotArmEnv(action_mode=action_mode, episode_steps=3)
    obs, _ = env.reset(seed=3)
    env.action_space.seed(3)
    extremes = [np.full(J, -1, np.float32), np.ones(J, np.float32)]
    for i in range(60):
        assert obs in env.observation_space
        action = extremes[i % 2] if i % 5 == 0 else env.action_space.sample()
        obs, _, terminated, _, _ = env.step(action)
        assert obs in env.observation_space
        if terminated:
            obs, _ = env.reset()


def test_same_seed_gives_the_same_observations() -> None:
    a, b = RobotArmEnv(), RobotArmEnv()
    obs_a = [a.reset(seed=11)[0]] + [a.reset()[0] for _ in range(3)]
    obs_b = [b.reset(seed=11)[0]] + [b.reset()[0] for _ in range(3)]
    np.testing.assert_array_equal(np.stack(obs_a), np.stack(obs_b))
    assert not np.array_equal(a.reset(seed=12)[0], obs_a[0])
    action = np.linspace(-0.5, 0.5, J, dtype=np.float32)
    a.reset(seed=5)
    b.reset(seed=5)
    step_a, step_b = a.step(action), b.step(action)
    np.testing.assert_array_equal(step_a[0], step_b[0])
    assert step_a[1:] == step_b[1:]


def test_reward_is_minus_the_distance_in_100_mm_units() -> None:
    env = RobotArmEnv()
    env.reset(seed=1)
    env.action_space.seed(1)
    for _ in range(20):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        distance = float(_distance(env.scene.chain, obs)[0])
        assert reward == pytest.approx(-distance / SCALE_M, rel=1e-4, abs=1e-5)
        assert reward == pytest.approx(-float(env.scene.distance()[0]) / SCALE_M)
        assert terminated and not truncated  # one-move episodes by default
        assert info["error_mm"] == pytest.approx(distance * 1000.0, rel=1e-4, abs=1e-3)
        assert info["is_success"] == (info["error_mm"] < 20.0)
        env.reset()


def test_reward_scale_is_configurable() -> None:
    env = RobotArmEnv(reward_scale_mm=10.0)
    env.reset(seed=0)
    obs, reward, *_ = env.step(np.zeros(J, np.float32))
    assert reward == pytest.approx(-float(_distance(env.scene.chain, obs)[0]) / 0.01, rel=1e-4)


def test_the_true_ik_solution_earns_zero_and_succeeds() -> None:
    env = RobotArmEnv()
    chain = env.scene.chain
    generator = torch.Generator().manual_seed(7)
    for _ in range(10):
        env.reset()
        target, q_star = chain.sample_targets(1, generator)
        env.scene.target = target  # a target whose IK solution we know
        obs, reward, terminated, _, info = env.step(_unit_from_q(chain, q_star)[0])
        assert terminated
        assert reward == pytest.approx(0.0, abs=1e-3)  # under 0.1 mm
        assert info["is_success"] is True
        assert info["error_mm"] < 0.1
        np.testing.assert_allclose(obs[:J], q_star[0].numpy(), atol=1e-5)


def test_joint_deltas_over_five_step_episodes() -> None:
    max_step = math.radians(10.0)
    env = RobotArmEnv(action_mode="joint_deltas", episode_steps=5)
    obs, _ = env.reset(seed=2)
    env.action_space.seed(2)
    lower, upper = env.scene.chain.lower.numpy(), env.scene.chain.upper.numpy()
    for _episode in range(3):
        target = obs[J:].copy()
        for t in range(5):
            action = env.action_space.sample()
            expected_q = np.clip(obs[:J] + action * max_step, lower, upper)
            obs, reward, terminated, truncated, info = env.step(action)
            np.testing.assert_allclose(obs[:J], expected_q, atol=1e-5)
            assert np.all(np.abs(obs[:J] - expected_q) <= 1e-5)
            np.testing.assert_array_equal(obs[J:], target)  # the target holds for the episode
            distance = float(_distance(env.scene.chain, obs)[0])
            assert reward == pytest.approx(-distance / SCALE_M, rel=1e-4, abs=1e-5)
            assert not truncated
            assert terminated == (t == 4)
            assert ("is_success" in info) == (t == 4)
            assert ("error_mm" in info) == (t == 4)
        obs, _ = env.reset()
        assert not np.array_equal(obs[J:], target)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="action_mode"):
        RobotArmEnv(action_mode="torques")
    with pytest.raises(ValueError, match="render_mode"):
        RobotArmEnv(render_mode="human")
    with pytest.raises(ValueError, match="joints"):
        RobotArmEnv(joints=9)
    env = RobotArmEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action values"):
        env.step(np.zeros(J + 1, np.float32))
    vec = RobotArmVectorEnv(num_envs=2)
    with pytest.raises(ValueError, match="one int seed"):
        vec.reset(seed=[1, 2])  # type: ignore[arg-type]


# -- the vector env -------------------------------------------------------------------------


def test_vector_env_shapes_and_spaces() -> None:
    n = 16
    vec = gymnasium.make_vec(ROBOT_ARM_ID, num_envs=n, vectorization_mode="vector_entry_point")
    assert vec.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
    single = RobotArmEnv()
    assert vec.single_observation_space == single.observation_space
    assert vec.single_action_space == single.action_space
    assert vec.action_space.shape == (n, J)
    obs, info = vec.reset(seed=0)
    assert info == {}
    assert obs.shape == (n, J + 3) and obs.dtype == np.float32
    assert obs in vec.observation_space
    vec.action_space.seed(0)
    obs, rewards, terminated, truncated, infos = vec.step(vec.action_space.sample())
    assert obs in vec.observation_space
    assert rewards.shape == (n,) and rewards.dtype == np.float64
    assert terminated.dtype == np.bool_ and terminated.all()
    assert truncated.dtype == np.bool_ and not truncated.any()
    assert infos["final_obs"].shape == (n, J + 3)
    assert infos["final_info"]["error_mm"].shape == (n,)


def test_vector_autoreset_happens_in_the_same_step() -> None:
    n, steps = 4, 3
    vec = RobotArmVectorEnv(num_envs=n, episode_steps=steps)
    obs, _ = vec.reset(seed=4)
    vec.action_space.seed(4)
    chain = vec.scene.chain
    for _episode in range(2):
        targets = obs[:, J:].copy()
        for t in range(steps):
            action = vec.action_space.sample()
            obs, rewards, terminated, _, infos = vec.step(action)
            if t < steps - 1:
                assert not terminated.any()
                assert infos == {}
                np.testing.assert_array_equal(obs[:, J:], targets)
                reached = obs
            else:
                assert terminated.all()
                for key in ("_final_obs", "_final_info"):
                    np.testing.assert_array_equal(infos[key], terminated)
                final = infos["final_obs"]
                reached = final
                # the ended episode's last state: its target, the joints the action set
                np.testing.assert_array_equal(final[:, J:], targets)
                assert not np.shares_memory(final, obs)
                # the returned observation already belongs to a new episode
                assert not np.any(np.all(obs[:, J:] == targets, axis=1))
                error = _distance(chain, final) * 1000.0
                final_info = infos["final_info"]
                np.testing.assert_allclose(final_info["error_mm"], error, rtol=1e-4, atol=1e-3)
                np.testing.assert_array_equal(final_info["is_success"], error < 20.0)
                np.testing.assert_array_equal(final_info["_is_success"], terminated)
            np.testing.assert_allclose(
                rewards, -_distance(chain, reached) / SCALE_M, rtol=1e-4, atol=1e-5
            )


def test_vector_seeding_is_deterministic() -> None:
    def rollout(seed: int) -> list[np.ndarray]:
        vec = RobotArmVectorEnv(num_envs=32, episode_steps=2)
        out = [vec.reset(seed=seed)[0]]
        actions = np.random.default_rng(0).uniform(-1, 1, (10, 32, J)).astype(np.float32)
        for action in actions:
            obs, rewards, *_ = vec.step(action)
            out += [obs, rewards]
        out.append(vec.reset()[0])
        return out

    first, again, other = rollout(9), rollout(9), rollout(10)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"action_mode": "joint_deltas", "episode_steps": 2}],
    ids=["targets", "deltas"],
)
def test_one_arm_vector_env_equals_the_single_env(kwargs: dict[str, Any]) -> None:
    """Same seed, same actions: our batched env, gymnasium's SyncVectorEnv, the single env."""
    ours = RobotArmVectorEnv(num_envs=1, **kwargs)
    sync = SyncVectorEnv([lambda: RobotArmEnv(**kwargs)], autoreset_mode=AutoresetMode.SAME_STEP)
    single = RobotArmEnv(**kwargs)
    obs_ours, _ = ours.reset(seed=21)
    obs_sync, _ = sync.reset(seed=21)
    obs_single, _ = single.reset(seed=21)
    np.testing.assert_array_equal(obs_ours, obs_sync)
    np.testing.assert_array_equal(obs_ours[0], obs_single)
    actions = np.random.default_rng(1).uniform(-1, 1, (8, 1, J)).astype(np.float32)
    for action in actions:
        obs_ours, rew_ours, term_ours, trunc_ours, info_ours = ours.step(action)
        obs_sync, rew_sync, term_sync, trunc_sync, info_sync = sync.step(action)
        obs_single, rew_single, term_single, _, info_single = single.step(action[0])
        np.testing.assert_array_equal(obs_ours, obs_sync)
        np.testing.assert_array_equal(rew_ours, rew_sync)
        np.testing.assert_array_equal(term_ours, term_sync)
        np.testing.assert_array_equal(trunc_ours, trunc_sync)
        assert rew_ours[0] == rew_single and term_ours[0] == term_single
        assert info_ours.keys() == info_sync.keys()
        if term_single:
            np.testing.assert_array_equal(info_ours["final_obs"][0], obs_single)
            np.testing.assert_array_equal(info_ours["final_obs"][0], info_sync["final_obs"][0])
            for key, value in info_sync["final_info"].items():
                np.testing.assert_array_equal(info_ours["final_info"][key], value)
            assert info_ours["final_info"]["error_mm"][0] == info_single["error_mm"]
            assert info_ours["final_info"]["is_success"][0] == info_single["is_success"]
            obs_single, _ = single.reset()
        np.testing.assert_array_equal(obs_ours[0], obs_single)


@pytest.mark.parametrize("action_mode", ["joint_targets", "joint_deltas"])
def test_vector_random_rollout(action_mode: str) -> None:
    vec = RobotArmVectorEnv(num_envs=64, action_mode=action_mode, episode_steps=5)
    obs, _ = vec.reset(seed=0)
    vec.action_space.seed(0)
    episodes = 0
    for _ in range(300):
        obs, rewards, terminated, _, infos = vec.step(vec.action_space.sample())
        assert np.all(np.isfinite(rewards)) and np.all(rewards <= 0)
        episodes += int(terminated.sum())
        if terminated.any():
            assert infos["final_obs"] in vec.observation_space
    assert obs in vec.observation_space
    assert episodes == 64 * 300 // 5
    assert vec.scene.episodes == episodes


def test_vector_env_runs_on_cuda_when_present() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    vec = RobotArmVectorEnv(num_envs=256, device="cuda")
    obs, _ = vec.reset(seed=0)
    obs, rewards, terminated, _, _ = vec.step(vec.action_space.sample())
    assert obs.shape == (256, J + 3) and isinstance(rewards, np.ndarray) and terminated.all()


def test_closed_loop_reaching_as_the_issue_describes_it() -> None:
    """Joint turns over several steps, a log-distance reward and the end as a time limit: the
    formulation a learner bootstraps at the cut instead of treating it as the task's end."""
    env = RobotArmVectorEnv(
        num_envs=4,
        action_mode="joint_deltas",
        max_step_deg=20.0,
        episode_steps=3,
        reward_shape="log",
        reward_scale_mm=20.0,
        episode_end="time_limit",
    )
    env.reset(seed=0)
    for t in range(3):
        obs, reward, terminated, truncated, info = env.step(np.zeros((4, J), np.float32))
        reached = info["final_obs"] if t == 2 else obs
        distance = _distance(env.scene.chain, reached)
        np.testing.assert_allclose(reward, -np.log1p(distance / 0.02), rtol=1e-4, atol=1e-5)
        assert not terminated.any()
        assert truncated.all() == (t == 2)
    assert info["final_info"]["_is_success"].all()
    with pytest.raises(ValueError, match="reward_shape"):
        RobotArmEnv(reward_shape="square")
    with pytest.raises(ValueError, match="episode_end"):
        RobotArmEnv(episode_end="never")
