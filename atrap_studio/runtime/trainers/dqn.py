"""The DQN trainer: off-policy learning by trial and reward, for an action that is one of n options.

Deep Q-learning (Mnih et al. 2015) with double-DQN targets (van Hasselt et al. 2016), written
like CleanRL's ``dqn.py``: the NN Factory's network gives one value per option (Q: the
discounted reward to expect after choosing it), every step's transitions go into a replay
buffer, and each update regresses Q towards reward + γ·Q'(next state) on minibatches drawn from
all the experience so far.

Exploration is ε-greedy with ε the shared exploration schedule's random share: that share of
choices is uniform, the rest the option of highest value. The greedy choice is then the highest
of the network's raw outputs, which is what an action node taking the highest value does with
them: the network, evaluated or exported, acts as trained, and :meth:`Trainer.policy` (the
network itself) needs no change.

The target copy is a hard copy of the network every ``target_every`` gradient steps rather
than a Polyak average: one number with a plain meaning (how long the targets stay still), the
classic DQN choice, and the one CleanRL and stable-baselines3 tune for DQN by default. Double
DQN picks the next option with the network and scores it with the copy, which removes most of
Q-learning's overestimation. Huber loss and gradient clipping keep the rare large errors
(a new episode's first targets) from throwing the network around.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from atrap_studio.core.errors import RunError
from atrap_studio.runtime.context import NodeContext
from atrap_studio.runtime.trainers.base import (
    Metrics,
    OffPolicyRollout,
    ReplayTrainer,
    learn_input_statistics,
    scheduled_lr,
)
from atrap_studio.runtime.trainers.replay import Batch, ReplayBuffer

if TYPE_CHECKING:
    from atrap_studio.runtime.network_owner import NetworkChange
    from atrap_studio.runtime.pipeline import Agent


class DQNTrainer(ReplayTrainer):
    """DQN with a replay buffer, a target copy, double-DQN targets and ε-greedy exploration.

    One :meth:`step` plays ``horizon`` scene steps on every instance, stores them, then makes
    ``updates`` gradient steps on minibatches of ``batch_size`` drawn from the buffer.
    """

    tracked_loss = "loss/value"  # its total mixes signs; the critic's error does not

    def __init__(self, ctx: NodeContext, pipeline: Agent) -> None:
        super().__init__(ctx, pipeline)
        props = ctx.props
        if not pipeline.analysis.facts.get("discrete_actions"):
            raise RunError(
                f"the DQN trainer '{ctx.id}' learns one value per option, and the scene's "
                "action is continuous values: use the SAC or PPO trainer for it",
                node=ctx.id,
            )
        network = self.network
        if isinstance(network, torch.nn.Sequential) and not isinstance(
            network[-1], torch.nn.Linear
        ):
            raise RunError(
                f"the DQN trainer '{ctx.id}' learns values of any size, which a squashed output "
                f"cannot reach: set the output of the network '{pipeline.network_id}' to linear",
                node=ctx.id,
            )
        self.lr = float(props["lr"])
        self.lr_schedule = str(props["lr_schedule"])
        self.horizon = int(props["horizon"])
        self.updates = int(props["updates"])
        self.batch_size = int(props["batch_size"])
        self.gamma = float(props["gamma"])
        self.target_every = int(props["target_every"])
        self.double = bool(props["double"])
        self.grad_clip = float(props["grad_clip"])
        self.options = int(pipeline.architecture.outputs)
        #: The network as it was at the last copy: it scores the next states in the targets.
        self.target = copy.deepcopy(self.network).requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=self.lr, foreach=True)
        # the option's index is stored as the action (exact in float32 for any practical n)
        self.buffer = ReplayBuffer(
            int(props["buffer_size"]),
            pipeline.architecture.inputs,
            1,
            torch.device(ctx.device),
        )
        self.env_steps_per_update = self.horizon * pipeline.scene.instances

    def network_changed(self, change: NetworkChange) -> None:
        """The still copy is refreshed to the new network (it could not score in the old
        shape); a checkpoint being resumed loads the saved copy over it after."""
        super().network_changed(change)
        self.target = copy.deepcopy(change.module).requires_grad_(False)

    # -- checkpoint state ------------------------------------------------------------------

    def modules(self) -> dict[str, torch.nn.Module]:
        return {"target": self.target}

    # -- training ----------------------------------------------------------------------------

    def choose(self, obs: Tensor, share: float) -> Tensor:
        """ε-greedy: each instance's option index, uniform with probability ``share``, (N,)."""
        choice: Tensor = self.network(obs).argmax(-1)
        if share > 0:
            rows = obs.shape[0]
            roll = torch.rand(rows, generator=self.generator, device=obs.device)
            uniform = torch.randint(
                self.options, (rows,), generator=self.generator, device=obs.device
            )
            choice = torch.where(roll < share, uniform, choice)
        return choice

    def begin_rollout(self, step: int) -> None:
        lr = scheduled_lr(self.lr_schedule, self.lr, step, self.total_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self._rollout = OffPolicyRollout(lr=lr, share=self.explore.share(step))

    def play(self) -> None:
        pipeline, scene, rollout = self.pipeline, self.pipeline.scene, self._rollout
        with torch.no_grad():
            obs = pipeline.observe(scene)
            choice = self.choose(obs, rollout.share)
            # the chosen option as +1 among -1s: an action node taking the highest does it
            values = torch.nn.functional.one_hot(choice, self.options).to(obs.dtype) * 2 - 1
            pipeline.act(scene, values)
        rollout.obs, rollout.action = obs, choice[:, None].to(obs.dtype)

    def learn(self, step: int) -> Metrics:
        rollout = self._rollout
        played, raw_rewards = rollout.played, rollout.raw_rewards
        learn_input_statistics(torch.cat(played), self.network)

        sums = torch.zeros(2, device=played[0].device)  # Huber loss, mean Q of the taken options
        made = 0
        if self.buffer.size >= self.batch_size:
            for index in range(self.updates):
                sums += self._update(self.buffer.sample(self.batch_size, self.generator))
                made += 1
                # counted from the run's start, so a resumed run copies when the first would
                if (step * self.updates + index + 1) % self.target_every == 0:
                    self.target.load_state_dict(self.network.state_dict())
        means = sums / max(1, made)
        metrics: Metrics = {
            "reward/total": torch.stack(raw_rewards).mean(),
            "explore/random_share": rollout.share,
            "lr": rollout.lr,
        }
        if made:
            metrics.update({"loss/total": means[0], "loss/value": means[0], "value/q": means[1]})
        metrics.update(rollout.tally.metrics())
        return metrics

    def _update(self, batch: Batch) -> Tensor:
        """One gradient step of the network towards the targets; returns (loss, mean Q)."""
        taken = batch.action[:, 0].long()
        with torch.no_grad():
            next_values = self.target(batch.next_obs)
            if self.double:  # the network picks the next option, the still copy scores it
                best = self.network(batch.next_obs).argmax(-1, keepdim=True)
                next_q = next_values.gather(-1, best).squeeze(-1)
            else:
                next_q = next_values.max(-1).values
            going_on = (~batch.terminal).to(next_q.dtype)
            target = batch.reward + self.gamma * going_on * next_q
        q = self.network(batch.obs).gather(-1, taken[:, None]).squeeze(-1)
        loss = torch.nn.functional.smooth_l1_loss(q, target)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        if self.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.network.parameters(), self.grad_clip)
        self.optimizer.step()
        return torch.stack([loss.detach(), q.detach().mean()])
