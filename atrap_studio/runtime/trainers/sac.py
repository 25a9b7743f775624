"""The SAC trainer: off-policy learning by trial and reward, for continuous actions.

Soft Actor-Critic (Haarnoja et al. 2018), written like CleanRL's ``sac_continuous_action.py``:
every step's transitions go into a replay buffer, and each update learns from a minibatch drawn
from all the experience so far, which needs far fewer scene steps than PPO's use-once rollouts
(it pays in gradient work instead: the better trade where the scene is expensive). Two
Q-critics and their slowly following copies give the targets; the entropy weight α tunes
itself towards a target entropy.

The policy is a tanh-squashed Gaussian whose centre, before the squash, is the NN Factory's
output before its final tanh, with a learnable spread per action. The greedy action is then
exactly the network's output, so an exported or loaded network acts as it was trained. The
exploration schedule's random actions are simply stored with the rest: off-policy learning
needs no correction for them.
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from atrap_studio.core.errors import RunError
from atrap_studio.runtime.context import NodeContext, derive_seed
from atrap_studio.runtime.networks import Normalize, build_module
from atrap_studio.runtime.trainers.base import (
    Metrics,
    OffPolicyRollout,
    ReplayTrainer,
    learn_input_statistics,
)
from atrap_studio.runtime.trainers.critics import critic_architecture
from atrap_studio.runtime.trainers.policies import LogStd
from atrap_studio.runtime.trainers.replay import Batch, ReplayBuffer

if TYPE_CHECKING:
    from atrap_studio.runtime.network_owner import NetworkChange
    from atrap_studio.runtime.pipeline import Agent

#: The spread stays in a sane range (CleanRL's bounds): no collapse to 0, no uniform noise.
LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


class TwinQ(torch.nn.Module):
    """Two action-value critics; the smaller of their values is the one trusted."""

    def __init__(self, first: torch.nn.Module, second: torch.nn.Module) -> None:
        super().__init__()
        self.q1, self.q2 = first, second

    def forward(self, state: Tensor, action: Tensor) -> tuple[Tensor, Tensor]:
        both = torch.cat([state, action], dim=-1)
        return self.q1(both).squeeze(-1), self.q2(both).squeeze(-1)


class LogAlpha(torch.nn.Module):
    """The entropy weight, learnt as a log (a module so checkpoints keep it)."""

    value: torch.nn.Parameter

    def __init__(self, alpha: float) -> None:
        super().__init__()
        self.value = torch.nn.Parameter(torch.tensor(math.log(alpha)))


def squashed_sample(centre: Tensor, log_std: Tensor, noise: Tensor) -> tuple[Tensor, Tensor]:
    """tanh(centre + σ·noise) and its log-probability, corrected for the squash: (N, A), (N,)."""
    raw = centre + log_std.exp() * noise
    log_prob = (-0.5 * noise.square() - log_std - _LOG_SQRT_2PI).sum(-1)
    # log(1 - tanh(u)²) = 2·(log 2 - u - softplus(-2u)), stable for any u
    correction = 2.0 * (math.log(2.0) - raw - torch.nn.functional.softplus(-2.0 * raw))
    return torch.tanh(raw), log_prob - correction.sum(-1)


class SACTrainer(ReplayTrainer):
    """SAC with twin critics, target copies, a replay buffer and a self-tuning entropy weight.

    One :meth:`step` plays ``horizon`` scene steps on every instance, stores them, then makes
    ``updates`` gradient updates on minibatches of ``batch_size`` drawn from the buffer.
    """

    tracked_loss = "loss/value"  # its total mixes signs; the critic's error does not

    def __init__(self, ctx: NodeContext, pipeline: Agent) -> None:
        super().__init__(ctx, pipeline)
        props = ctx.props
        if pipeline.analysis.facts.get("discrete_actions"):
            raise RunError(
                f"the SAC trainer '{ctx.id}' learns continuous actions, and the scene's action "
                "is one of n options: use the PPO trainer for it",
                node=ctx.id,
            )
        network = self.network
        if not (
            isinstance(network, torch.nn.Sequential) and isinstance(network[-1], torch.nn.Tanh)
        ):
            raise RunError(
                f"the SAC trainer '{ctx.id}' squashes its trials into [-1, 1] with tanh: set "
                f"the output of the network '{pipeline.network_id}' to tanh",
                node=ctx.id,
            )
        self._derive_from(network)
        self.lr = float(props["lr"])
        self.critic_lr = float(props["critic_lr"])
        self.horizon = int(props["horizon"])
        self.updates = int(props["updates"])
        self.batch_size = int(props["batch_size"])
        self.gamma = float(props["gamma"])
        self.tau = float(props["tau"])
        self.grad_clip = float(props["grad_clip"])
        arch = pipeline.architecture
        init = str(pipeline.analysis.props[pipeline.network_id].get("init", "orthogonal"))
        q_arch = critic_architecture(arch, action_inputs=arch.outputs)
        seeds = [derive_seed(ctx.seed, ctx.id, salt=salt) for salt in (1, 2)]
        self.critic = TwinQ(
            *(
                build_module(q_arch, init=init, generator=torch.Generator().manual_seed(seed))
                for seed in seeds
            )
        ).to(ctx.device)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.spread = LogStd(arch.outputs, float(props["init_std"])).to(ctx.device)
        self.auto_alpha = bool(props["auto_alpha"])
        self.log_alpha = LogAlpha(float(props["alpha"])).to(ctx.device)
        self.target_entropy = -float(arch.outputs)
        self.actor_parameters = [*network.parameters(), *self.spread.parameters()]
        self.optimizer = torch.optim.Adam(self.actor_parameters, lr=self.lr, foreach=True)
        self.critic_optimizer = torch.optim.Adam(
            self.critic.parameters(), lr=self.critic_lr, foreach=True
        )
        self.alpha_optimizer = torch.optim.Adam(self.log_alpha.parameters(), lr=self.critic_lr)
        self.buffer = ReplayBuffer(
            int(props["buffer_size"]), arch.inputs, arch.outputs, torch.device(ctx.device)
        )
        self.env_steps_per_update = self.horizon * pipeline.scene.instances

    def _derive_from(self, network: torch.nn.Sequential) -> None:
        #: The network up to its final tanh: the centre of the squashed Gaussian.
        self.centre = network[:-1]
        first = network[0]
        #: The network's own input normaliser, which the critics read their states through.
        self.normalize: torch.nn.Module = (
            first if isinstance(first, Normalize) else torch.nn.Identity()
        )

    def network_changed(self, change: NetworkChange) -> None:
        """The actor's optimiser follows; the centre and the normaliser are the new module's."""
        super().network_changed(change)
        self._derive_from(change.module)
        self.actor_parameters = [*self.network.parameters(), *self.spread.parameters()]

    # -- checkpoint state ------------------------------------------------------------------

    def modules(self) -> dict[str, torch.nn.Module]:
        return {
            "critic": self.critic,
            "critic_target": self.critic_target,
            "log_std": self.spread,
            "log_alpha": self.log_alpha,
        }

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {
            "opt": self.optimizer,
            "critic_opt": self.critic_optimizer,
            "alpha_opt": self.alpha_optimizer,
        }

    # -- training ----------------------------------------------------------------------------

    def _log_std(self) -> Tensor:
        return self.spread.log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)

    def _sample(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        centre = self.centre(obs)
        noise = torch.randn(centre.shape, generator=self.generator, device=centre.device)
        return squashed_sample(centre, self._log_std(), noise)

    def begin_rollout(self, step: int) -> None:
        self._rollout = OffPolicyRollout(lr=self.lr, share=self.explore.share(step))

    def play(self) -> None:
        pipeline, scene, rollout = self.pipeline, self.pipeline.scene, self._rollout
        share = rollout.share
        with torch.no_grad():
            obs = pipeline.observe(scene)
            action, _ = self._sample(obs)
            if share > 0:
                roll = torch.rand(obs.shape[0], generator=self.generator, device=obs.device)
                uniform = self.uniform_actions(action)
                action = torch.where((roll < share)[:, None], uniform, action)
            pipeline.act(scene, action)
        rollout.obs, rollout.action = obs, action

    def learn(self, step: int) -> Metrics:
        rollout = self._rollout
        played, raw_rewards, share = rollout.played, rollout.raw_rewards, rollout.share
        learn_input_statistics(torch.cat(played), self.network)

        # total, policy, Q, alpha, entropy, mean Q
        sums = torch.zeros(6, device=played[0].device)
        made = 0
        if self.buffer.size >= self.batch_size:
            for _ in range(self.updates):
                sums += self._update(self.buffer.sample(self.batch_size, self.generator))
                made += 1
        means = sums / max(1, made)
        metrics: Metrics = {
            "reward/total": torch.stack(raw_rewards).mean(),
            "explore/random_share": share,
            "policy/std": self._log_std().detach().exp().mean(),
            "lr": self.lr,
        }
        if made:
            metrics.update(
                {
                    "loss/total": means[0],
                    "loss/policy": means[1],
                    "loss/value": means[2],
                    "loss/alpha": means[3],
                    "policy/entropy": means[4],
                    "value/q": means[5],
                    "policy/alpha": self.log_alpha.value.detach().exp(),
                }
            )
        metrics.update(rollout.tally.metrics())
        return metrics

    def _update(self, batch: Batch) -> Tensor:
        """One gradient step of the critics, the policy and α; returns the step's numbers."""
        alpha = self.log_alpha.value.detach().exp()
        with torch.no_grad():
            state, after = self.normalize(batch.obs), self.normalize(batch.next_obs)
            next_action, next_log_prob = self._sample(batch.next_obs)
            target_q = torch.min(*self.critic_target(after, next_action))
            soft = target_q - alpha * next_log_prob
            target = batch.reward + self.gamma * (~batch.terminal).to(soft.dtype) * soft
        q1, q2 = self.critic(state, batch.action)
        q_loss = 0.5 * ((q1 - target).square().mean() + (q2 - target).square().mean())
        self.critic_optimizer.zero_grad(set_to_none=True)
        q_loss.backward()
        if self.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.critic.parameters(), self.grad_clip)
        self.critic_optimizer.step()

        action, log_prob = self._sample(batch.obs)
        self.critic.requires_grad_(False)  # the policy's loss moves the policy only
        policy_loss = (alpha * log_prob - torch.min(*self.critic(state, action))).mean()
        self.critic.requires_grad_(True)
        self.optimizer.zero_grad(set_to_none=True)
        policy_loss.backward()
        if self.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.actor_parameters, self.grad_clip)
        self.optimizer.step()

        alpha_loss = torch.zeros((), device=q_loss.device)
        if self.auto_alpha:
            entropy_gap = (log_prob.detach() + self.target_entropy).mean()
            alpha_loss = -self.log_alpha.value * entropy_gap
            self.alpha_optimizer.zero_grad(set_to_none=True)
            alpha_loss.backward()  # type: ignore[no-untyped-call]
            self.alpha_optimizer.step()

        with torch.no_grad():
            live: list[Tensor] = [*self.critic.parameters()]
            slow: list[Tensor] = [*self.critic_target.parameters()]
            torch._foreach_lerp_(slow, live, self.tau)
            parts = (q_loss + policy_loss, policy_loss, q_loss, alpha_loss, -log_prob.mean())
            return torch.stack([*(p.detach() for p in parts), torch.min(q1, q2).mean().detach()])
