"""Sensor nodes: read the scene into vectors (N, size)."""

from __future__ import annotations

from typing import Any

import torch

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


def joint_quaternions(q: torch.Tensor, axis_index: tuple[int, ...]) -> torch.Tensor:
    """Each joint's rotation about its own axis as a quaternion (w, x, y, z), (N, 4 J)."""
    half = q / 2
    quat = torch.zeros(q.shape[0], q.shape[1], 4, dtype=q.dtype, device=q.device)
    quat[..., 0] = torch.cos(half)
    axes = torch.tensor(axis_index, device=q.device)
    quat.scatter_(
        2, (axes + 1).view(1, -1, 1).expand(q.shape[0], -1, 1), torch.sin(half)[..., None]
    )
    return quat.reshape(q.shape[0], -1)


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
        delta = scene.target - scene.effector
        if self.mode == "vector":
            return {"value": delta}
        length = torch.linalg.vector_norm(delta, dim=-1, keepdim=True)
        if self.mode == "direction":
            return {"value": delta / length.clamp(min=1e-9)}
        if self.mode == "log_length":
            return {"value": torch.log1p(length * 1000.0)}
        return {"value": length}
