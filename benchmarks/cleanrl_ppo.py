"""A one-file CleanRL-style PPO, written as the yardstick for our own trainer (benchmarks only).

It follows CleanRL's ``ppo_continuous_action.py`` (Huang et al.): separate actor and critic
MLPs (64-64 tanh, orthogonal init), a state-independent log-std, running mean/std observation
normalisation clipped to ±10, rewards divided by the running std of the discounted return and
clipped to ±10, GAE, advantage normalisation, clipped value loss, gradient-norm clipping and a
linearly annealed learning rate. One addition, as the reaching study did: a time-limit end is
bootstrapped with the critic's value of the state where it was cut.

It drives any batched gymnasium ``VectorEnv`` with SAME_STEP autoreset (``final_obs`` in the
info), such as a graph env (``atrap_studio.envs.graph_env.GraphVectorEnv``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class Hyper:
    steps: int = 32  # per env per rollout
    lr: float = 3e-4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    minibatch_size: int = 1024
    epochs: int = 10
    clip: float = 0.2
    value_coef: float = 0.5
    entropy_coef: float = 0.0
    max_grad_norm: float = 0.5
    anneal_over: int = 2_000_000  # env steps over which the learning rate falls to 0
    init_log_std: float = 0.0  # CleanRL's: a spread of 1, the whole action range


class RunningMeanStd:
    """Chan et al.'s parallel mean/variance, as gymnasium's normalisation wrappers keep it."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.mean = np.zeros(shape, np.float64)
        self.var = np.ones(shape, np.float64)
        self.count = 1e-4

    def update(self, x: np.ndarray) -> None:
        mean, var, n = x.mean(0), x.var(0), x.shape[0]
        delta, total = mean - self.mean, self.count + n
        self.mean = self.mean + delta * n / total
        self.var = (self.var * self.count + var * n + delta**2 * self.count * n / total) / total
        self.count = total


def _layer(inputs: int, outputs: int, std: float = np.sqrt(2)) -> nn.Linear:
    layer = nn.Linear(inputs, outputs)
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, 0.0)
    return layer


class Agent(nn.Module):
    def __init__(self, obs: int, actions: int, init_log_std: float = 0.0) -> None:
        super().__init__()
        self.critic = nn.Sequential(
            _layer(obs, 64), nn.Tanh(), _layer(64, 64), nn.Tanh(), _layer(64, 1, 1.0)
        )
        self.actor_mean = nn.Sequential(
            _layer(obs, 64), nn.Tanh(), _layer(64, 64), nn.Tanh(), _layer(64, actions, 0.01)
        )
        self.actor_logstd = nn.Parameter(torch.full((1, actions), init_log_std))

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(obs).squeeze(-1)

    def act(
        self, obs: torch.Tensor, action: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        mean = self.actor_mean(obs)
        dist = torch.distributions.Normal(mean, self.actor_logstd.expand_as(mean).exp())
        if action is None:
            action = dist.sample()
        return action, dist.log_prob(action).sum(1), dist.entropy().sum(1), self.value(obs)


class CleanPPO:
    """Trains :class:`Agent` on ``env``; :meth:`update` plays one rollout and learns from it."""

    def __init__(self, env: Any, seed: int, hyper: Hyper = Hyper()) -> None:
        torch.manual_seed(seed)
        self.env, self.h = env, hyper
        self.n = env.num_envs
        size = env.single_observation_space.shape[0]
        self.actions = env.single_action_space.shape[0]
        self.agent = Agent(size, self.actions, hyper.init_log_std)
        self.optimizer = torch.optim.Adam(self.agent.parameters(), lr=hyper.lr, eps=1e-5)
        self.obs_stats = RunningMeanStd((size,))
        self.return_stats = RunningMeanStd(())
        self.returns = np.zeros(self.n)
        self.env_steps = 0
        raw, _ = env.reset(seed=seed)
        self.obs = self._normalize(raw, learn=True)

    def _normalize(self, raw: np.ndarray, learn: bool = False) -> torch.Tensor:
        if learn:
            self.obs_stats.update(raw)
        scaled = (raw - self.obs_stats.mean) / np.sqrt(self.obs_stats.var + 1e-8)
        return torch.as_tensor(np.clip(scaled, -10, 10), dtype=torch.float32)

    def _scale_rewards(self, reward: np.ndarray, ended: np.ndarray) -> np.ndarray:
        self.returns = self.returns * self.h.gamma + reward
        self.return_stats.update(self.returns)
        self.returns[ended] = 0.0
        return np.clip(reward / np.sqrt(self.return_stats.var + 1e-8), -10, 10)

    def policy(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """The greedy policy on raw observations (tensor in, actions in [-1, 1] out)."""
        mean, std = self.obs_stats.mean, np.sqrt(self.obs_stats.var + 1e-8)

        def act(raw: torch.Tensor) -> torch.Tensor:
            scaled = ((raw.double() - torch.as_tensor(mean)) / torch.as_tensor(std)).clamp(-10, 10)
            return self.agent.actor_mean(scaled.float()).clamp(-1.0, 1.0)

        return act

    def update(self) -> None:
        h, n = self.h, self.n
        frac = max(0.0, 1.0 - self.env_steps / h.anneal_over)
        self.optimizer.param_groups[0]["lr"] = frac * h.lr
        obs = torch.zeros(h.steps, n, self.obs.shape[1])
        actions = torch.zeros(h.steps, n, self.actions)
        log_probs, rewards, dones, values = (torch.zeros(h.steps, n) for _ in range(4))
        with torch.no_grad():
            for t in range(h.steps):
                obs[t] = self.obs
                action, log_prob, _, value = self.agent.act(self.obs)
                raw, reward, terminated, truncated, info = self.env.step(
                    action.clamp(-1, 1).numpy()
                )
                ended = terminated | truncated
                reward = self._scale_rewards(reward, ended)
                if truncated.any():  # bootstrap a time-limit cut with the value where it stopped
                    final = self._normalize(np.asarray(info["final_obs"], np.float32))
                    reward = reward + h.gamma * truncated * self.agent.value(final).numpy()
                actions[t], log_probs[t], values[t] = action, log_prob, value
                rewards[t] = torch.as_tensor(reward, dtype=torch.float32)
                dones[t] = torch.as_tensor(ended, dtype=torch.float32)
                self.obs = self._normalize(raw, learn=True)
            advantages = torch.zeros_like(rewards)
            last, next_value = torch.zeros(n), self.agent.value(self.obs)
            for t in reversed(range(h.steps)):
                going_on = 1.0 - dones[t]
                delta = rewards[t] + h.gamma * next_value * going_on - values[t]
                last = delta + h.gamma * h.gae_lambda * going_on * last
                advantages[t], next_value = last, values[t]
            returns = advantages + values
        self.env_steps += h.steps * n

        b_obs, b_actions = obs.reshape(-1, obs.shape[-1]), actions.reshape(-1, self.actions)
        b_log_probs, b_adv = log_probs.reshape(-1), advantages.reshape(-1)
        b_returns, b_values = returns.reshape(-1), values.reshape(-1)
        size = b_obs.shape[0]
        batch = min(h.minibatch_size, size)
        for _ in range(h.epochs):
            order = torch.randperm(size)
            for start in range(0, size - batch + 1, batch):
                i = order[start : start + batch]
                _, new_log_prob, entropy, value = self.agent.act(b_obs[i], b_actions[i])
                ratio = (new_log_prob - b_log_probs[i]).exp()
                adv = (b_adv[i] - b_adv[i].mean()) / (b_adv[i].std() + 1e-8)
                policy_loss = torch.max(
                    -adv * ratio, -adv * ratio.clamp(1 - h.clip, 1 + h.clip)
                ).mean()
                unclipped = (value - b_returns[i]).square()
                moved = b_values[i] + (value - b_values[i]).clamp(-h.clip, h.clip)
                value_loss = 0.5 * torch.max(unclipped, (moved - b_returns[i]).square()).mean()
                loss = policy_loss - h.entropy_coef * entropy.mean() + h.value_coef * value_loss
                self.optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(self.agent.parameters(), h.max_grad_norm)
                self.optimizer.step()
