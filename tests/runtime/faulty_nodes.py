"""Node implementations that misbehave on purpose, for the pipeline's guards."""

from __future__ import annotations

from typing import Any

import torch

from atrap_studio.runtime.context import NodeContext


class NaNAfter:
    """A sensor or reward that gives NaN for instance 1 after ``props['after']`` calls."""

    def __init__(self, ctx: NodeContext) -> None:
        self.after = int(ctx.props["after"])
        self.port = ctx.spec.outputs[0].name
        self.calls = 0

    def forward(self, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        self.calls += 1
        scene = inputs["scene"]
        value = (
            torch.zeros(scene.instances, 1)
            if self.port == "value"
            else torch.zeros(scene.instances)
        )
        if self.calls > self.after:
            value[1] = torch.nan
        return {self.port: value}
