"""Rotations of the arm's tip as sensors, rewards and solvers read them, batched in torch.

Orientations reach networks as the 6-D representation (the first two columns of the rotation
matrix, Zhou et al. 2019, "On the Continuity of Rotation Representations in Neural
Networks"): it is continuous over all rotations, where a quaternion has two values for each
rotation (q and -q) and must jump between them somewhere, and Euler angles jump at their
singularities, so a network fitting a smooth map to it does not have to learn a discontinuity.
Quaternions are offered too, for people and files (``w, x, y, z``, ``w >= 0``).
"""

from __future__ import annotations

import torch
from torch import Tensor

#: Encodings of an orientation that the arm's sensors offer, and the values each takes.
ORIENTATION_ENCODINGS = {"rotation_6d": 6, "quaternion": 4}


def six_d(rotation: Tensor) -> Tensor:
    """The first two columns of rotation matrices (N, 3, 3), as (N, 6)."""
    return torch.cat([rotation[:, :, 0], rotation[:, :, 1]], dim=-1)


def from_six_d(values: Tensor) -> Tensor:
    """Rotation matrices (N, 3, 3) from 6-D values (N, 6) by Gram-Schmidt: any two
    independent vectors give a rotation, so a network's raw answer can be read as one."""
    tiny = torch.finfo(values.dtype).tiny
    x = values[:, :3] / torch.linalg.vector_norm(values[:, :3], dim=-1, keepdim=True).clamp(
        min=tiny
    )
    b = values[:, 3:] - (x * values[:, 3:]).sum(-1, keepdim=True) * x
    y = b / torch.linalg.vector_norm(b, dim=-1, keepdim=True).clamp(min=tiny)
    z = torch.linalg.cross(x, y, dim=-1)
    return torch.stack([x, y, z], dim=-1)


def quaternion(rotation: Tensor) -> Tensor:
    """Unit quaternions (N, 4) as (w, x, y, z) with w >= 0 of rotation matrices (N, 3, 3).

    Each row is computed from the largest of the four diagonal combinations (Shepperd's
    method), which keeps it accurate at every angle, 180 degrees included.
    """
    r = rotation
    trace = r[:, 0, 0] + r[:, 1, 1] + r[:, 2, 2]
    # 4 w q, 4 x q, 4 y q and 4 z q: row k is accurate where the k-th component is largest.
    wx, wy, wz = r[:, 2, 1] - r[:, 1, 2], r[:, 0, 2] - r[:, 2, 0], r[:, 1, 0] - r[:, 0, 1]
    xy, xz, yz = r[:, 0, 1] + r[:, 1, 0], r[:, 0, 2] + r[:, 2, 0], r[:, 1, 2] + r[:, 2, 1]
    xx = 1 + 2 * r[:, 0, 0] - trace
    yy = 1 + 2 * r[:, 1, 1] - trace
    zz = 1 + 2 * r[:, 2, 2] - trace
    candidates = torch.stack(
        [
            torch.stack([1 + trace, wx, wy, wz], dim=-1),
            torch.stack([wx, xx, xy, xz], dim=-1),
            torch.stack([wy, xy, yy, yz], dim=-1),
            torch.stack([wz, xz, yz, zz], dim=-1),
        ],
        dim=1,
    )
    pick = torch.stack([1 + trace, xx, yy, zz], dim=-1).argmax(dim=-1)
    chosen = candidates[torch.arange(r.shape[0], device=r.device), pick]
    q = chosen / torch.linalg.vector_norm(chosen, dim=-1, keepdim=True)
    return torch.where(q[:, :1] < 0, -q, q)


def from_quaternion(q: Tensor) -> Tensor:
    """Rotation matrices (N, 3, 3) from quaternions (N, 4) as (w, x, y, z), normalised first."""
    q = q / torch.linalg.vector_norm(q, dim=-1, keepdim=True)
    w, x, y, z = q.unbind(-1)
    return torch.stack(
        [
            torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            torch.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            torch.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        dim=-2,
    )


def encode(rotation: Tensor, encoding: str) -> Tensor:
    """Rotations (N, 3, 3) as a sensor gives them: ``rotation_6d`` (N, 6) or ``quaternion``."""
    return six_d(rotation) if encoding == "rotation_6d" else quaternion(rotation)


def rotation_vector(rotation: Tensor) -> Tensor:
    """The rotation vectors (N, 3) of rotation matrices: axis times angle in radians, the
    angle in [0, pi]. Not differentiable at pi (the axis's sign is a choice there)."""
    q = quaternion(rotation)
    w, v = q[:, :1], q[:, 1:]
    s = torch.linalg.vector_norm(v, dim=-1, keepdim=True)
    angle = 2 * torch.atan2(s, w)
    # angle / s tends to 2 / w as s -> 0: no division by a vanishing sine.
    factor = torch.where(s > 1e-12, angle / s.clamp(min=1e-12), 2 / w)
    return v * factor


def angle_between(a: Tensor, b: Tensor) -> Tensor:
    """The angle (N,) in radians of the rotation from orientations ``a`` to ``b`` (N, 3, 3).

    atan2 of its sine and cosine: accurate near 0 and near pi (acos of the trace is not), and
    differentiable wherever the angle is not exactly 0, as the distance is.
    """
    relative = b @ a.transpose(1, 2)
    cos = (relative.diagonal(dim1=1, dim2=2).sum(-1) - 1) / 2
    skew = relative - relative.transpose(1, 2)
    sin = (
        torch.linalg.vector_norm(
            torch.stack([skew[:, 2, 1], skew[:, 0, 2], skew[:, 1, 0]], dim=-1), dim=-1
        )
        / 2
    )
    return torch.atan2(sin, cos)


def small_rotation(a: Tensor, b: Tensor) -> Tensor:
    """The vee of the skew part of ``b @ a.T`` (N, 3): the rotation vector from ``a`` to ``b``
    to first order (it is sin(angle) times the axis), smooth everywhere: for gradients."""
    relative = b @ a.transpose(1, 2)
    return (
        torch.stack(
            [
                relative[:, 2, 1] - relative[:, 1, 2],
                relative[:, 0, 2] - relative[:, 2, 0],
                relative[:, 1, 0] - relative[:, 0, 1],
            ],
            dim=-1,
        )
        / 2
    )
