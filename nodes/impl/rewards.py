"""Reward nodes: judge the scene after a step, one value per instance (N,)."""

from __future__ import annotations

import math
from typing import Any

import torch

from atrap_studio.runtime.context import NodeContext


class DistanceToTarget:
    """Shaped reward: differentiable, so the direct trainer can follow its gradient."""

    def __init__(self, ctx: NodeContext) -> None:
        self.shape = ctx.props["shape"]
        self.scale_m = ctx.props["scale_mm"] / 1000.0
        self.weight = float(ctx.props["weight"])

    def forward(self, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        distance = inputs["scene"].distance() / self.scale_m
        if self.shape == "negative_distance":
            reward = -distance
        elif self.shape == "log":
            reward = -torch.log1p(distance)
        elif self.shape == "huber":
            # quadratic within one unit, linear beyond: the two meet with the same slope
            reward = -torch.where(distance < 1.0, 0.5 * distance.square(), distance - 0.5)
        else:
            reward = torch.exp(-distance)
        return {"reward": self.weight * reward}


class OrientationToTarget:
    """Shaped reward of the angle to the target's orientation, differentiable like the
    distance's, so the direct trainer can follow its gradient."""

    def __init__(self, ctx: NodeContext) -> None:
        self.shape = ctx.props["shape"]
        self.scale_rad = math.radians(ctx.props["scale_deg"])
        self.weight = float(ctx.props["weight"])

    def forward(self, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        angle = inputs["scene"].angle() / self.scale_rad
        if self.shape == "negative_angle":
            reward = -angle
        elif self.shape == "log":
            reward = -torch.log1p(angle)
        else:
            reward = torch.exp(-angle)
        return {"reward": self.weight * reward}


class Reached:
    def __init__(self, ctx: NodeContext) -> None:
        self.tolerance_m = ctx.props["tolerance_mm"] / 1000.0
        self.weight = float(ctx.props["weight"])

    def forward(self, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        hit = (inputs["scene"].distance() < self.tolerance_m).to(torch.float32)
        return {"reward": self.weight * hit}


class WeightedSum:
    def __init__(self, ctx: NodeContext) -> None:
        self.id = ctx.id
        self.weights = [float(w) for w in ctx.props["weights"]]

    def forward(self, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        terms: list[torch.Tensor] = inputs["terms"]
        weights = self.weights or [1.0] * len(terms)
        if len(weights) != len(terms):
            raise ValueError(
                f"node '{self.id}': {len(weights)} weights for {len(terms)} linked rewards; "
                "give one weight per link, or none"
            )
        return {"reward": sum(w * t for w, t in zip(weights, terms, strict=True))}
