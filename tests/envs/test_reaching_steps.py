"""The step-by-step reaching task is sound before anything learns on it.

A trainer that does not learn could hide a task that cannot be learnt: inputs that are not what
they say, turns that go the wrong way, a reward of the wrong sign. Here a damped least-squares
controller plays ``robot_arm_steps_ppo`` through its graph env, reading nothing but the
observation and the arm's kinematics: if the inputs, the turns and the reward are right, its
reward rises step by step and most episodes end within 2 cm.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from atrap_studio.envs.graph_env import GraphVectorEnv
from atrap_studio.runtime.arm_scene import ArmScene

ARMS = 256


def _controller_action(
    scene: ArmScene, obs: np.ndarray, max_step: float, fine_m: float
) -> np.ndarray:
    """Joint turns towards the target, from the observation alone: q and the tip-to-target
    vector rebuilt from its direction and log length (mm); the arm's Jacobian from q. Within
    ``fine_m`` of the target the action's largest turn shrinks with the distance, so the
    values asked for grow back by as much."""
    chain = scene.chain
    q = torch.as_tensor(obs[:, :6])
    direction = torch.as_tensor(obs[:, 9:12])
    distance_m = torch.expm1(torch.as_tensor(obs[:, 12:13])) / 1000.0
    error = direction * distance_m
    _, jacobian = chain.effector_and_jacobian(q)
    damped = jacobian @ jacobian.transpose(1, 2) + 1e-3 * torch.eye(3)
    turn = (jacobian.transpose(1, 2) @ torch.linalg.solve(damped, error[..., None]))[..., 0]
    largest = max_step * (distance_m / fine_m).clamp(min=1e-6, max=1.0)
    action: np.ndarray = (turn / largest).clamp(-1.0, 1.0).numpy()
    return action


def test_a_controller_reaches_most_targets_through_the_observation() -> None:
    env = GraphVectorEnv("robot_arm_steps_ppo", num_envs=ARMS)
    obs, _ = env.reset(seed=0)
    scene = env.pipeline.scene
    assert isinstance(scene, ArmScene)
    # The inputs are what the graph says: q, target, direction, log(1 + d / 1 mm).
    delta = scene.target - scene.effector
    length = torch.linalg.vector_norm(delta, dim=-1)
    np.testing.assert_allclose(obs[:, :6], scene.q.numpy(), atol=1e-6)
    np.testing.assert_allclose(obs[:, 9:12], (delta / length[:, None]).numpy(), atol=1e-5)
    np.testing.assert_allclose(obs[:, 12], torch.log1p(length * 1000).numpy(), rtol=1e-5)

    rewards = []
    for _ in range(24):
        obs, reward, terminated, truncated, info = env.step(
            _controller_action(scene, obs, math.radians(20.0), 0.1)
        )
        rewards.append(float(reward.mean()))
    # The reward is -log(1 + d / 20 mm): it rises as the tips close in.
    assert rewards[-1] > rewards[0] + 2.0
    assert all(later >= earlier - 0.05 for earlier, later in itertools.pairwise(rewards))
    # The 24th step is a time limit (bootstrapped by trainers), never the task's end.
    assert truncated.all() and not terminated.any()
    success = info["final_info"]["is_success"]
    assert success.mean() > 0.6  # the rest are held at joint limits (local descent)
