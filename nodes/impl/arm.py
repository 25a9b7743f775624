"""The ``scene.robot_arm`` node: builds the batched arm scene from its properties."""

from __future__ import annotations

import torch

from atrap_studio.ik.chain import ArmGeometry
from atrap_studio.runtime.arm_scene import ArmScene, Region
from atrap_studio.runtime.context import NodeContext


class RobotArmScene:
    """Factory of :class:`ArmScene` objects configured by the node's properties."""

    def __init__(self, ctx: NodeContext) -> None:
        props = ctx.props
        self.ctx = ctx
        self.geometry = ArmGeometry.from_props(
            props["joints"], props["axes"], props["link_lengths"], props["limits_deg"]
        )

    def create(self, generator: torch.Generator) -> ArmScene:
        props = self.ctx.props
        return ArmScene(
            self.geometry,
            instances=props["instances"],
            episode_steps=props["episode_steps"],
            success_mm=props["success_mm"],
            success_deg=props["success_deg"],
            target_mode=props["target"],
            region=Region(props["region"], props["regions"]),
            time_limit=props["episode_end"] == "time_limit",
            generator=generator,
        )
