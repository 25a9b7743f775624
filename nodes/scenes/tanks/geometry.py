"""Batched 2-D geometry of the arena: rays against walls and circles, segments through circles.

Everything the arena needs to see and to hit is a square wall or a circle (pillars and tanks),
so one ray-circle formula serves the camera, the shells and the line of sight, for every ray of
every arena in one tensor pass.
"""

from __future__ import annotations

import torch
from torch import Tensor

#: A distance that stands for "no hit".
FAR = 1e6


def ray_box(origin: Tensor, direction: Tensor, half: float) -> Tensor:
    """Distance along each ray from inside the square [-half, half]² to its wall.

    origin (..., 2), direction (..., 2) unit vectors -> (...,).
    """
    safe = torch.where(direction.abs() < 1e-9, torch.full_like(direction, 1e-9), direction)
    limit = torch.where(safe > 0, half - origin, -half - origin)
    return (limit / safe).clamp(min=0.0).amin(-1)


def ray_circles(origin: Tensor, direction: Tensor, centres: Tensor, radii: Tensor) -> Tensor:
    """Distance along each ray to each circle it enters ahead of it, FAR where it misses.

    origin (N, R, 2), direction (N, R, 2), centres (N, C, 2), radii (N, C) -> (N, R, C).
    A ray that starts inside a circle hits it at once (distance 0).
    """
    offset = origin[:, :, None, :] - centres[:, None, :, :]  # (N, R, C, 2)
    b = (offset * direction[:, :, None, :]).sum(-1)
    c = offset.square().sum(-1) - radii[:, None, :].square()
    disc = b.square() - c
    root = torch.sqrt(disc.clamp(min=0.0))
    near = -b - root
    inside = c <= 0
    ahead = (disc >= 0) & ((near >= 0) | inside) & (radii[:, None, :] > 0)
    return torch.where(ahead, torch.where(inside, torch.zeros_like(near), near), FAR)


def unit(angle: Tensor) -> Tensor:
    """(..., ) angles -> (..., 2) unit vectors."""
    return torch.stack([torch.cos(angle), torch.sin(angle)], dim=-1)


def wrap(angle: Tensor) -> Tensor:
    """Angles brought into (-π, π]."""
    wrapped: Tensor = torch.remainder(angle + torch.pi, 2 * torch.pi) - torch.pi
    return wrapped
