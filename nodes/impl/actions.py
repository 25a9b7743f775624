"""Action nodes: turn values in [-1, 1] into scene commands."""

from __future__ import annotations

import math
from typing import Any

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
    """Joint turns in radians: -1 … +1 is up to ``max_step_deg`` either way."""

    def __init__(self, ctx: NodeContext) -> None:
        self.max_step = math.radians(float(ctx.props["max_step_deg"]))

    def forward(self, inputs: dict[str, Any]) -> dict[str, Command]:
        return {"command": Command("joint_deltas", inputs["values"] * self.max_step)}
