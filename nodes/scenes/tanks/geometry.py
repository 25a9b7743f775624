"""Batched 2-D geometry of the arena: rays against walls and circles, segments through circles.

Everything the arena needs to see and to hit is a square wall or a circle (pillars and tanks),
so one ray-circle formula serves the camera, the shells and the line of sight, for every ray of
every arena in one tensor pass.
"""

from __future__ import annotations

import torch
from torch import Tensor

from atrap_studio.nodes.scenes.tanks.workspace import Workspace

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


def camera_box(origin: Tensor, direction: Tensor, half: float, work: Workspace) -> Tensor:
    """Distance along each of a camera's rays to the wall of the square [-half, half]².

    origin (N, 2) strictly inside the square, shared by the R rays of its row; direction
    (N, 2, R) -> (N, R), a ``work`` tensor. The same distances as :func:`ray_box` without
    its ``where``s (slow elementwise kernels on a CPU): a component that is exactly 0 gives
    +inf, never the nearer wall.
    """
    count, _, rays = direction.shape
    limit = work.get("box", (count, 2, rays), direction.dtype, direction.device)
    torch.copysign(direction.new_tensor(half), direction, out=limit)
    limit.sub_(origin[:, :, None]).div_(direction).clamp_(min=0.0)
    wall = work.get("wall", (count, rays), direction.dtype, direction.device)
    return torch.minimum(limit[:, 0], limit[:, 1], out=wall)


def camera_circles(
    origin: Tensor, direction: Tensor, centres: Tensor, radii: Tensor, work: Workspace
) -> Tensor:
    """Distance along each of a camera's rays to each circle, (N, C, R), in the fewest passes.

    origin (N, 2) shared by the R rays of its row, direction (N, 2, R), centres (N, C, 2),
    radii (N, C) with 0 for no circle; the result is a ``work`` tensor. Where a ray meets a
    circle ahead of it: the distance to where it enters it (0 for every ray when the origin
    is inside or on it); where it misses: FAR give or take the arena's size (compare, never
    test for equality).

    The formula of :func:`ray_circles` (t² + 2bt + k = 0), rearranged so that every pass over
    the N·C·R elements is plain arithmetic: with n = -b, a ray meets a circle ahead of an
    outside origin where n·|n| - k >= 0, at n - √(n·|n| - k); a miss adds FAR through a 0/1
    mask instead of a ``where``, and the square root never sees a negative number or the
    zeros of a clamp (NaN and 0 take a slow path in torch's vectorised square root). Layout
    (N, C, R) keeps each circle's rays contiguous for the reductions after.
    """
    count, circles, rays = centres.shape[0], centres.shape[1], direction.shape[2]
    dtype, device = direction.dtype, direction.device
    # per circle, shared by every ray: k = |o|² - 2 o·c + (|c|² - r²), radius 0 never met
    circle = centres.square().sum(-1) - radii.square()
    circle = torch.where(radii > 0, circle, FAR)
    reach = origin[:, None, 0] * centres[..., 0] + origin[:, None, 1] * centres[..., 1]
    k = (origin.square().sum(-1)[:, None] + circle - 2 * reach)[..., None]  # (N, C, 1)
    inside = k <= 0  # (N, C, 1); rare: a tank never stands in a pillar
    # n = c·d - o·d per ray and circle: products and sums written out, not a batched matrix
    # product, which rounds differently (fused or not) from one size of batch to the next
    od = work.get("od", (count, rays), dtype, device)
    torch.mul(origin[:, 0, None], direction[:, 0], out=od)
    od.add_(origin[:, 1, None] * direction[:, 1])
    shape = (count, circles, rays)
    n = work.get("n", shape, dtype, device)
    disc = work.get("disc", shape, dtype, device)
    torch.mul(centres[..., 0, None], direction[:, None, 0], out=n)
    torch.mul(centres[..., 1, None], direction[:, None, 1], out=disc)
    n.add_(disc).sub_(od[:, None, :])
    torch.abs(n, out=disc)
    torch.addcmul(-k, n, disc, out=disc)  # b² - k ahead, below 0 behind an outside origin
    miss = torch.lt(disc, 0.0, out=work.get("miss", shape, dtype, device))
    near = n.sub_(disc.abs_().sqrt_())  # |disc|: a miss's root is never used, and √0 is slow
    near.add_(miss, alpha=FAR)
    if bool(inside.any()):  # inside a circle: met at once
        near.mul_((~inside).to(dtype))
    return near


def unit(angle: Tensor) -> Tensor:
    """(..., ) angles -> (..., 2) unit vectors."""
    return torch.stack([torch.cos(angle), torch.sin(angle)], dim=-1)


def wrap(angle: Tensor) -> Tensor:
    """Angles brought into (-π, π]."""
    wrapped: Tensor = torch.remainder(angle + torch.pi, 2 * torch.pi) - torch.pi
    return wrapped
