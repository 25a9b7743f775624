"""Action nodes: turn values in [-1, 1] into scene commands."""

from __future__ import annotations

import math
from typing import Any

import torch

from atrap_studio.runtime.arm_scene import ArmScene
from atrap_studio.runtime.context import Command, NodeContext


class JointTargets:
    """Absolute joint targets, normalised to the limits: -1 lower, +1 upper (times ``range``).

    The scene knows its limits, so the command stays normalised until it arrives there.
    """

    def __init__(self, ctx: NodeContext) -> None:
        self.span = float(ctx.props["range"])

    def forward(self, inputs: dict[str, Any]) -> dict[str, Command]:
        return {"command": Command("joint_targets", inputs["values"] * self.span)}


class JointDeltas:
    """Joint turns in radians: -1 … +1 is up to ``max_step_deg`` either way.

    With ``fine_within_mm`` the step is scaled by min(1, d / fine) for the tip-to-target
    distance d, so the values mean a share of the way left rather than an angle: a policy that
    learns by trial then needs no finer answers, nor less trial noise, to settle within
    millimetres than to cross decimetres. On the step-by-step arm this took PPO from a plateau
    near 88% of targets within 2 cm to 95% and more (docs/benchmarks.md).
    """

    def __init__(self, ctx: NodeContext) -> None:
        self.max_step = math.radians(float(ctx.props["max_step_deg"]))
        self.fine_m = float(ctx.props["fine_within_mm"]) / 1000.0

    def forward(self, inputs: dict[str, Any]) -> dict[str, Command]:
        values: torch.Tensor = inputs["values"] * self.max_step
        if self.fine_m > 0:
            scene: ArmScene = inputs["scene"]
            share = (scene.distance().detach() / self.fine_m).clamp(max=1.0)
            values = values * share[:, None]
        return {"command": Command("joint_deltas", values)}
