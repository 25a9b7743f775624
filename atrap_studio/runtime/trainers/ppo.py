"""The PPO trainer: learn by trial and reward alone, with no gradient from the scene.

Proximal Policy Optimisation (Schulman et al. 2017), written to be read top to bottom like
CleanRL's ``ppo_continuous_action.py``: play a rollout, estimate advantages (GAE), then a few
epochs of clipped-surrogate updates on shuffled minibatches.

For continuous actions the policy is a Gaussian around the NN Factory's output (its mean) with
a learnable spread per action (``log_std``), so the network is evaluated greedily as its mean;
where the scene's action is one of n options (``discrete_actions``), a categorical choice with
the network's outputs as logits, evaluated greedily as the highest (``policies.py``). The
product's exploration schedule mixes in uniform random actions: a share ε of the actions are
drawn uniformly. The behaviour policy is then the mixture (1 - ε)·π + ε·U, and both the
old and the new log-probabilities of the PPO ratio are taken under that mixture, so random
trials still give an unbiased on-policy gradient (a random action far from the mean barely
moves it).

Measured on ``robot_arm_reach_ppo.yaml`` (2-core CPU): a cosine-decayed learning rate beat a
constant one (which diverged at the rates that learn fastest), and clipping the actor's and
the critic's gradients separately beat one joint norm (the critic's large early value errors
otherwise shrink every actor step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from atrap_studio.runtime.context import NodeContext, derive_seed
from atrap_studio.runtime.networks import build_module
from atrap_studio.runtime.trainers.base import (
    Metrics,
    RolloutTally,
    SteppedTrainer,
    learn_input_statistics,
    scheduled_lr,
)
from atrap_studio.runtime.trainers.critics import critic_architecture
from atrap_studio.runtime.trainers.policies import (
    CategoricalPolicy,
    GaussianPolicy,
    LogStd,
    ReturnScale,
    Trial,
    gaussian_log_prob,
    mixture_log_prob,
)

__all__ = ["PPOTrainer", "critic_architecture", "gaussian_log_prob", "mixture_log_prob"]

if TYPE_CHECKING:
    from atrap_studio.runtime.network_owner import NetworkChange
    from atrap_studio.runtime.pipeline import Agent


@dataclass
class _Rollout:
    """What one update's rollout has played so far (between :meth:`PPOTrainer.play`,
    :meth:`~PPOTrainer.record` and :meth:`~PPOTrainer.learn`)."""

    lr: float
    share: float
    observations: list[torch.Tensor] = field(default_factory=list)
    actions: list[torch.Tensor] = field(default_factory=list)
    log_probs: list[torch.Tensor] = field(default_factory=list)
    values: list[torch.Tensor] = field(default_factory=list)
    rewards: list[torch.Tensor] = field(default_factory=list)
    dones: list[torch.Tensor] = field(default_factory=list)
    #: As the reward nodes gave them (for the curves).
    raw_rewards: list[torch.Tensor] = field(default_factory=list)
    tally: RolloutTally = field(default_factory=RolloutTally)
    #: This step's observation and trial, from play() to record().
    obs: torch.Tensor | None = None
    trial: Trial | None = None


class PPOTrainer(SteppedTrainer):
    """PPO with a Gaussian policy around the network, a critic of its own and GAE.

    One :meth:`step` plays ``horizon`` scene steps on every instance, then learns from them for
    ``epochs`` passes of ``minibatches`` minibatches. All randomness (trials, exploration,
    shuffling) comes from the trainer's own generator, so a seeded run and a resumed one repeat
    exactly.
    """

    tracked_loss = "loss/value"  # its total mixes signs; the critic's error does not
    _rollout: _Rollout

    def __init__(self, ctx: NodeContext, pipeline: Agent) -> None:
        super().__init__(ctx, pipeline)
        props = ctx.props
        self.lr = float(props["lr"])
        self.critic_lr = float(props["critic_lr"]) or self.lr
        self.lr_schedule = str(props["lr_schedule"])
        self.horizon = int(props["horizon"])
        self.epochs = int(props["epochs"])
        self.minibatches = int(props["minibatches"])
        self.gamma = float(props["gamma"])
        self.gae_lambda = float(props["gae_lambda"])
        self.clip = float(props["clip"])
        self.value_coef = float(props["value_coef"])
        self.entropy_coef = float(props["entropy_coef"])
        self.grad_clip = float(props["grad_clip"])
        self.value_clip = bool(props["value_clip"])
        self.target_kl = float(props["target_kl"])
        self.return_scale = (
            ReturnScale(pipeline.scene.instances, self.gamma).to(ctx.device)
            if props["scale_rewards"]
            else None
        )
        arch = pipeline.architecture
        init = str(pipeline.analysis.props[pipeline.network_id].get("init", "orthogonal"))
        # Its own seeded stream (build_module draws on the CPU), apart from the trainer's.
        seed = derive_seed(ctx.seed, ctx.id, salt=1)
        self.critic = build_module(
            critic_architecture(arch), init=init, generator=torch.Generator().manual_seed(seed)
        ).to(ctx.device)
        self.spread = LogStd(arch.outputs, float(props["init_std"])).to(ctx.device)
        #: One of n options (its logits from the network), or values around the network's.
        self.policy_kind: GaussianPolicy | CategoricalPolicy = (
            CategoricalPolicy()
            if pipeline.analysis.facts.get("discrete_actions")
            else GaussianPolicy(self.spread)
        )
        self.actor_parameters = [*self.network.parameters(), *self.spread.parameters()]
        self.critic_parameters = list(self.critic.parameters())
        self.optimizer = torch.optim.Adam(  # group 0: the policy; group 1: the critic
            [{"params": self.actor_parameters}, {"params": self.critic_parameters}],
            lr=self.lr,
            eps=1e-5,
            foreach=True,
        )
        self.env_steps_per_update = self.horizon * pipeline.scene.instances

    def network_changed(self, change: NetworkChange) -> None:
        """The policy group gets the new network (the log-std and the critic keep theirs)."""
        super().network_changed(change)
        self.actor_parameters = [*self.network.parameters(), *self.spread.parameters()]

    def modules(self) -> dict[str, torch.nn.Module]:
        extra = {"return_scale": self.return_scale} if self.return_scale is not None else {}
        return {"critic": self.critic, "log_std": self.spread, **extra}

    def begin_rollout(self, step: int) -> None:
        lr = scheduled_lr(self.lr_schedule, self.lr, step, self.total_steps)
        actor_group, critic_group = self.optimizer.param_groups
        actor_group["lr"] = lr
        critic_group["lr"] = scheduled_lr(self.lr_schedule, self.critic_lr, step, self.total_steps)
        self._rollout = _Rollout(lr=lr, share=self.explore.share(step))

    # -- rollout: `horizon` steps of the behaviour policy on every instance --------------------

    def play(self) -> None:
        pipeline, scene, rollout = self.pipeline, self.pipeline.scene, self._rollout
        with torch.no_grad():
            obs = pipeline.observe(scene)
            trial = self.policy_kind.sample(self.network(obs), rollout.share, self.generator)
            pipeline.act(scene, trial.values)
        rollout.obs, rollout.trial = obs, trial

    def record(self) -> None:
        pipeline, scene, rollout = self.pipeline, self.pipeline.scene, self._rollout
        obs, trial = rollout.obs, rollout.trial
        assert obs is not None and trial is not None
        with torch.no_grad():
            terms = pipeline.rewards(scene)
            done = scene.done.clone()
            rollout.observations.append(obs)
            rollout.actions.append(trial.taken)
            rollout.log_probs.append(trial.log_prob)
            rollout.values.append(self.critic(obs).squeeze(-1))
            raw = torch.stack(list(terms.values())).sum(0)
            rollout.raw_rewards.append(raw)
            reward = raw if self.return_scale is None else self.return_scale.scale(raw, done)
            cut = scene.truncated & done
            if bool(cut.any()):  # a time limit is no end of the task: bootstrap its value
                final = self.critic(pipeline.observe(scene)).squeeze(-1)
                reward = reward + self.gamma * torch.where(cut, final, 0.0)
            rollout.rewards.append(reward)
            rollout.dones.append(done)
            rollout.tally.add(scene, terms, done)

    def learn(self, step: int) -> Metrics:
        pipeline, scene, rollout = self.pipeline, self.pipeline.scene, self._rollout
        lr, share = rollout.lr, rollout.share
        _, critic_group = self.optimizer.param_groups
        observations, actions, log_probs = rollout.observations, rollout.actions, rollout.log_probs
        values, rewards, dones = rollout.values, rollout.rewards, rollout.dones
        raw_rewards, tally = rollout.raw_rewards, rollout.tally
        with torch.no_grad():
            # -- advantages: GAE, bootstrapped by the critic where an episode goes on ---------
            # Ended episodes restart only at the next begin_step(), so observing now sees the
            # next state of the others; the ended ones' bootstrap is multiplied away.
            next_value = torch.zeros_like(values[-1])
            if not bool(dones[-1].all()):
                next_value = self.critic(pipeline.observe(scene)).squeeze(-1)
            advantages = torch.zeros(self.horizon, *values[0].shape, device=values[0].device)
            running = torch.zeros_like(next_value)
            for t in reversed(range(self.horizon)):
                going_on = (~dones[t]).to(running.dtype)
                delta = rewards[t] + self.gamma * next_value * going_on - values[t]
                running = delta + self.gamma * self.gae_lambda * going_on * running
                advantages[t] = running
                next_value = values[t]
            returns = advantages + torch.stack(values)

        # -- learn: `epochs` passes over shuffled minibatches of the rollout ---------------------
        b_obs = torch.cat(observations)
        b_actions = torch.cat(actions)
        b_returns = returns.reshape(-1)
        b_values = torch.stack(values).reshape(-1)
        b_advantages = advantages.reshape(-1)
        b_advantages = (b_advantages - b_advantages.mean()) / (b_advantages.std() + 1e-8)
        # the per-sample numbers side by side, so that a minibatch gathers them in one call
        b_numbers = torch.stack([torch.cat(log_probs), b_advantages, b_returns, b_values], dim=1)
        size = b_obs.shape[0]
        count = min(self.minibatches, size)
        chunk = size // count
        # total, policy, value, entropy, clip share, approximate KL
        sums = torch.zeros(6, device=b_obs.device)
        batches = 0
        for _ in range(self.epochs):
            epoch_kl = torch.zeros((), device=b_obs.device)
            order = torch.randperm(size, generator=self.generator, device=self.generator.device)
            for start in range(0, chunk * count, chunk):
                # each tensor gathered once (index_select: a fraction of indexing's cost)
                index = order[start : start + chunk]
                obs = b_obs.index_select(0, index)
                old_log_prob, advantage, returns_now, old = b_numbers.index_select(0, index).T
                out = self.network(obs)
                log_prob = self.policy_kind.log_prob(out, b_actions.index_select(0, index), share)
                log_ratio = log_prob - old_log_prob
                ratio = torch.exp(log_ratio)
                gain = -advantage
                policy_loss = torch.max(
                    gain * ratio, gain * ratio.clamp(1.0 - self.clip, 1.0 + self.clip)
                ).mean()
                value = self.critic(obs).squeeze(-1)
                value_loss = (value - returns_now).square()
                if self.value_clip:  # the value moves at most `clip` from the rollout's
                    moved = old + (value - old).clamp(-self.clip, self.clip)
                    value_loss = torch.max(value_loss, (moved - returns_now).square())
                value_loss = 0.5 * value_loss.mean()
                entropy_loss = -self.policy_kind.entropy(out)
                loss = policy_loss + self.value_coef * value_loss + self.entropy_coef * entropy_loss
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if self.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(self.actor_parameters, self.grad_clip)
                    torch.nn.utils.clip_grad_norm_(self.critic_parameters, self.grad_clip)
                self.optimizer.step()
                with torch.no_grad():
                    moved_by = ratio - 1.0
                    clipped = (moved_by.abs() > self.clip).float().mean()
                    kl = (moved_by - log_ratio).mean()  # Schulman's low-variance estimate
                    parts = (loss, policy_loss, value_loss, entropy_loss, clipped, kl)
                    sums += torch.stack([part.detach() for part in parts])
                    if self.target_kl > 0:
                        epoch_kl += kl / count
                batches += 1
            if self.target_kl > 0 and float(epoch_kl) > self.target_kl:
                break  # the policy moved far enough from the one that played the rollout

        means = sums / max(1, batches)
        with torch.no_grad():
            residual = torch.var(b_returns - b_values)
            explained = 1.0 - residual / torch.var(b_returns).clamp(min=1e-12)
        metrics: Metrics = {
            "loss/total": means[0],
            "loss/policy": means[1],
            "loss/value": means[2],
            "loss/entropy": means[3],
            "reward/total": torch.stack(raw_rewards).mean(),
            "explore/random_share": share,
            "policy/entropy": -means[3],
            "policy/clip_fraction": means[4],
            "policy/approx_kl": means[5],
            "policy/passes": batches / count,  # fewer than `epochs` when target_kl stopped it
            "value/explained_variance": explained,
            "lr": lr,
            "lr/critic": critic_group["lr"],
        }
        if isinstance(self.policy_kind, GaussianPolicy):
            metrics["policy/std"] = self.spread.log_std.detach().exp().mean()
        metrics.update(tally.metrics())
        # after the update, which used the statistics the rollout was played with
        learn_input_statistics(b_obs, self.network, self.critic)
        return metrics
