"""The direct trainer: learn through the gradient of a differentiable reward.

In a kinematic scene the reward (e.g. minus the reach error) is a differentiable function of
the network's action, so plain gradient ascent on it is the fastest way to learn; no trial and
error is needed. Exploration still follows the schedule: the instances that act at random that
step are simply left out of the gradient.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from atrap_studio.runtime.context import NodeContext
from atrap_studio.runtime.trainers.base import (
    Metrics,
    Trainer,
    cosine_lr,
    learn_input_statistics,
)

if TYPE_CHECKING:
    from atrap_studio.runtime.pipeline import Agent


class DirectTrainer(Trainer):
    def __init__(self, ctx: NodeContext, pipeline: Agent) -> None:
        super().__init__(ctx, pipeline)
        props = ctx.props
        self.lr = float(props["lr"])
        self.cosine = props["lr_schedule"] == "cosine"
        self.grad_clip = float(props["grad_clip"])
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=self.lr)
        self.env_steps_per_update = pipeline.scene.instances

    def step(self, step: int) -> Metrics:
        pipeline, scene = self.pipeline, self.pipeline.scene
        lr = cosine_lr(self.lr, step, self.total_steps) if self.cosine else self.lr
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        scene.begin_step()
        observation = pipeline.observe(scene)
        action = self.network(observation)
        share = self.explore.share(step)
        learn = torch.ones(action.shape[0], dtype=torch.bool, device=action.device)
        if share > 0:
            learn = torch.rand(action.shape[0], generator=self.generator) >= share
            action = torch.where(learn[:, None], action, self.uniform_actions(action))
        pipeline.act(scene, action)
        terms = pipeline.rewards(scene)
        total = torch.stack(list(terms.values())).sum(0)
        weight = learn.to(total.dtype)
        loss = -(total * weight).sum() / weight.sum().clamp(min=1.0)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        if self.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.network.parameters(), self.grad_clip)
        self.optimizer.step()
        learn_input_statistics(observation, self.network)
        outcome = scene.outcome()
        key = pipeline.outcome.score.key
        mine = learn.to(torch.float32)
        count = mine.sum().clamp(min=1.0)
        metrics: Metrics = {
            "loss/total": loss.detach(),
            "reward/total": total.detach().mean(),
            "explore/random_share": share,
            f"scene/{key}": (outcome[key] * mine).sum() / count,
            "scene/success_rate": (outcome["success"].to(torch.float32) * mine).sum() / count,
            "lr": lr,
        }
        for node_id, term in terms.items():
            metrics[f"reward/{node_id}"] = term.detach().mean()
        return metrics
