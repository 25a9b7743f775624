"""What the arm's sensors read, as functions of a pose and a target: one definition shared by the
sensor nodes (training) and learned IK (solving), so a network is fed what it learned from."""

from __future__ import annotations

import torch
from torch import Tensor

from atrap_studio.ik.rotations import angle_between, rotation_vector

#: Modes of ``sensor.distance_to_target``: what it reads of the tip-to-target vector.
DISTANCE_MODES = ("length", "vector", "direction", "log_length")
#: Modes of ``sensor.orientation_to_target``.
TURN_MODES = ("rotation_vector", "angle")


def joint_quaternions(q: Tensor, axis_index: tuple[int, ...]) -> Tensor:
    """Each joint's rotation about its own axis as a quaternion (w, x, y, z), (N, 4 J)."""
    half = q / 2
    quat = torch.zeros(q.shape[0], q.shape[1], 4, dtype=q.dtype, device=q.device)
    quat[..., 0] = torch.cos(half)
    axes = torch.tensor(axis_index, device=q.device)
    quat.scatter_(
        2, (axes + 1).view(1, -1, 1).expand(q.shape[0], -1, 1), torch.sin(half)[..., None]
    )
    return quat.reshape(q.shape[0], -1)


def tip_to_target(delta: Tensor, mode: str) -> Tensor:
    """The target minus the tip (N, 3) read as ``sensor.distance_to_target`` does in ``mode``."""
    if mode == "vector":
        return delta
    length: Tensor = torch.linalg.vector_norm(delta, dim=-1, keepdim=True)
    if mode == "direction":
        return delta / length.clamp(min=1e-9)
    if mode == "log_length":
        return torch.log1p(length * 1000.0)
    return length


def joint_pull(delta: Tensor, jacobian: Tensor) -> Tensor:
    """How fast each joint's turn brings the tip towards the target (m/rad), (N, J): the
    positional Jacobian's columns (N, 3, J) read along the direction of ``delta``, the target
    minus the tip (N, 3). Minus the gradient of the distance with respect to the angles."""
    return torch.einsum("nk,nkj->nj", tip_to_target(delta, "direction"), jacobian)


def turn_to_target(tip: Tensor, target: Tensor, mode: str) -> Tensor:
    """The turn from the tip's orientation to the target's (N, 3, 3 each), read as
    ``sensor.orientation_to_target`` does: a rotation vector in the base frame (N, 3), or its
    angle (N, 1), radians."""
    if mode == "angle":
        return angle_between(tip, target).unsqueeze(1)
    return rotation_vector(target @ tip.transpose(1, 2))
