"""Node implementations of the gymnasium scene plug-in (loaded when a run starts)."""

from __future__ import annotations

from typing import Any

import torch

from atrap_studio.nodes.scenes.gymnasium.scene import GymScene
from atrap_studio.nodes.scenes.gymnasium.specs import success_return
from atrap_studio.runtime.context import Command, NodeContext


class GymnasiumScene:
    """Builds the vector of environments from the node's properties."""

    def __init__(self, ctx: NodeContext) -> None:
        self.props = ctx.props

    def create(self, generator: torch.Generator) -> GymScene:
        props = self.props
        return GymScene(
            props["env_id"],
            instances=props["instances"],
            vectorize=props["vectorize"],
            success_return=success_return(props),
            generator=generator,
        )


class Observation:
    def __init__(self, ctx: NodeContext) -> None:
        pass

    def forward(self, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        scene: GymScene = inputs["scene"]
        return {"value": scene.obs}


class EnvAction:
    """Passes the network's values on; the scene maps them onto its action space."""

    def __init__(self, ctx: NodeContext) -> None:
        pass

    def forward(self, inputs: dict[str, Any]) -> dict[str, Command]:
        return {"command": Command("env_action", inputs["values"])}


class EnvReward:
    def __init__(self, ctx: NodeContext) -> None:
        self.weight = float(ctx.props["weight"])

    def forward(self, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        scene: GymScene = inputs["scene"]
        return {"reward": self.weight * scene.reward}
