"""Sensor nodes: read the scene into vectors (N, size)."""

from __future__ import annotations

from typing import Any

import torch

from atrap_studio.ik.features import (
    joint_pull,
    joint_quaternions,
    tip_to_target,
    turn_to_target,
)
from atrap_studio.ik.rotations import encode
from atrap_studio.runtime.arm_scene import ArmScene
from atrap_studio.runtime.context import NodeContext


class JointAngles:
    def __init__(self, ctx: NodeContext) -> None:
        self.encoding = ctx.props["encoding"]

    def forward(self, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        scene: ArmScene = inputs["scene"]
        q = scene.q
        if self.encoding == "radians":
            return {"value": q}
        return {"value": joint_quaternions(q, scene.chain.axis_index)}


class EffectorPosition:
    def __init__(self, ctx: NodeContext) -> None:
        pass

    def forward(self, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {"value": inputs["scene"].effector}


class TargetPosition:
    def __init__(self, ctx: NodeContext) -> None:
        pass

    def forward(self, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {"value": inputs["scene"].target}


class DistanceToTarget:
    def __init__(self, ctx: NodeContext) -> None:
        self.mode = ctx.props["mode"]

    def forward(self, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        scene: ArmScene = inputs["scene"]
        return {"value": tip_to_target(scene.target - scene.effector, self.mode)}


class JointPull:
    def __init__(self, ctx: NodeContext) -> None:
        pass

    def forward(self, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        scene: ArmScene = inputs["scene"]
        tip, jacobian = scene.chain.effector_and_jacobian(scene.q)
        return {"value": joint_pull(scene.target - tip, jacobian)}


class EffectorOrientation:
    def __init__(self, ctx: NodeContext) -> None:
        self.encoding = ctx.props["encoding"]

    def forward(self, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {"value": encode(inputs["scene"].tip_rotation, self.encoding)}


class TargetOrientation:
    def __init__(self, ctx: NodeContext) -> None:
        self.encoding = ctx.props["encoding"]

    def forward(self, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {"value": encode(inputs["scene"].target_rotation, self.encoding)}


class OrientationToTarget:
    def __init__(self, ctx: NodeContext) -> None:
        self.mode = ctx.props["mode"]

    def forward(self, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        scene: ArmScene = inputs["scene"]
        return {"value": turn_to_target(scene.tip_rotation, scene.target_rotation, self.mode)}
