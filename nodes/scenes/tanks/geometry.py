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

    origin (N, R, 2) or (N, 1, 2) when all rays of a row start together (a camera),
    direction (N, R, 2), centres (N, C, 2), radii (N, C) -> (N, R, C). A ray that starts inside
    a circle hits it at once (distance 0).

    With o the origin, d the direction and c a centre, the ray meets the circle where
    t² + 2bt + k = 0, b = d·(o - c), k = |o - c|² - r². The products with the centres are
    batched matrix products, and k depends on the origin only, so a camera's shared origin
    costs one (N, 1, C) row instead of one per ray.
    """
    centres_t = centres.transpose(1, 2)  # (N, 2, C)
    # b = o·d - c·d, and k = |o|² - 2 o·c + (|c|² - r²), each one fused matrix product
    b = torch.baddbmm((origin * direction).sum(-1, keepdim=True), direction, centres_t, alpha=-1)
    circle = centres.square().sum(-1) - radii.square()
    circle = torch.where(radii > 0, circle, FAR)  # radius 0: no circle there
    k = torch.baddbmm(
        origin.square().sum(-1, keepdim=True) + circle[:, None, :], origin, centres_t, alpha=-2
    )
    disc = torch.addcmul(-k, b, b)  # b² - k
    hit = disc >= 0
    root = disc.clamp_(min=0.0).sqrt_()
    # the far root ahead: the circle is in front of the origin, or the origin is inside it
    hit &= root >= b
    near = root.add_(b).neg_().clamp_(min=0.0)
    return torch.where(hit, near, FAR)


def unit(angle: Tensor) -> Tensor:
    """(..., ) angles -> (..., 2) unit vectors."""
    return torch.stack([torch.cos(angle), torch.sin(angle)], dim=-1)


def wrap(angle: Tensor) -> Tensor:
    """Angles brought into (-π, π]."""
    wrapped: Tensor = torch.remainder(angle + torch.pi, 2 * torch.pi) - torch.pi
    return wrapped
