"""Batched FABRIK for a chain of axis-aligned revolute joints, returning joint angles.

FABRIK (Aristidou & Lasenby 2011) moves points, but an arm has hinges, so each iteration is:

- Backward pass on "segments": a z (twist) joint never changes the direction of its link, so
  links joined by twists are collinear and merge into one segment that starts at a bend
  (x/y) joint. The effector is pinned to the target and each segment start is pulled back
  toward its current position, with the bend at the next joint limited to a cone of the
  joint's largest limit (without the cone, wrists fold past their limit and 7% stall).
  Where no twist precedes a bend, the segment is also projected onto the plane normal to
  the hinge's current axis.
- Forward pass in angle space, from the base out, on the real chain: a bend joint takes the
  atan2 angle, in its parent frame, that points its segment at the backward pass's next
  point (which projects that direction onto the hinge's plane); a twist joint turns the next
  bend's plane onto the next segment's desired direction (of the two turns half a turn apart,
  the one in limits and nearer its current angle). Every angle is clamped to its limits and
  the positions come from the same FK as ArmChain, so they are always consistent.

The error reported is the chain's own FK of the returned angles (the best seen per target),
never that of a free point chain.

Measured on 2,000 reachable targets of the default 6-DOF arm from a cold start
(torch.set_num_threads(1), 2-core CPU, defaults: 50 iterations, 5 target seeds): float64
median 6e-14 mm, p95 0.0008-0.0033 mm, 98.7-99.2% within 1 mm, about 9,000-11,500 solves/s;
float32 median 3e-5 mm, p95 0.0008-0.005 mm, 98.8-99.3% within 1 mm, about 12,000-14,500
solves/s (the start is about 1 m away). The misses are slow convergers and a few targets
stuck up to 5 cm away; 200 iterations reach 99.7-100%. Other twist/bend layouts (industrial
2..7 joints, planar y-y-y) reach 92-100%; chains of bends about different axes with no twist
between them (x-y-z-x, x-x-y-y) only partly (1-73% within 1 mm), because a point chain
cannot see how one hinge turns the next one's plane.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from atrap_studio.ik.chain import ArmChain, ArmGeometry, identity_columns, rotate_columns
from atrap_studio.ik.result import IKResult, prepare_inputs

__all__ = ["solve_fabrik"]

# Out-of-limit twist candidates lose to any in-limit one (angles differ by at most pi).
_OUT_OF_LIMIT_COST = 10.0


@dataclass(frozen=True)
class _Layout:
    """Segments of a geometry: which joints bend, where each segment ends, how long it is."""

    bends: tuple[int, ...]  # joints with an x/y axis; each starts a segment
    ends: tuple[int, ...]  # ends[j]: point index where segment j ends (J = the effector)
    lengths: tuple[float, ...]  # length of segment j
    cones: tuple[float, ...]  # largest bend (radians) at bends[j]
    next_bend: tuple[int | None, ...]  # per joint: the first bend joint after it
    rigid: tuple[bool, ...]  # project segment j onto the plane normal to its hinge

    @classmethod
    def of(cls, geometry: ArmGeometry) -> _Layout:
        joints = geometry.joints
        bends = tuple(i for i, a in enumerate(geometry.axes) if a != "z")
        ends = (*bends[1:], joints) if bends else ()
        lengths = tuple(
            float(sum(geometry.link_lengths[b:e])) for b, e in zip(bends, ends, strict=True)
        )
        cones = tuple(min(math.pi, max(abs(v) for v in geometry.limits[b])) for b in bends)
        next_bend = tuple(next((b for b in bends if b > i), None) for i in range(joints))
        axes = geometry.axes
        # Exact where every joint before shares the hinge axis; measured to help (and to hurt
        # the default arm otherwise) where the hinge follows a bend about another axis.
        rigid = tuple(
            b == 0 or all(a == axes[b] for a in axes[:b]) or axes[b - 1] not in ("z", axes[b])
            for b in bends
        )
        return cls(bends, ends, lengths, cones, next_bend, rigid)


def _unit(v: Tensor) -> Tensor:
    norm: Tensor = v.norm(dim=-1, keepdim=True)
    return v / norm.clamp(min=torch.finfo(v.dtype).tiny)


def _wrap(angle: Tensor) -> Tensor:
    return torch.remainder(angle + math.pi, 2 * math.pi) - math.pi


def _backward(
    layout: _Layout, chain: ArmChain, rotations: Tensor, origins: Tensor, targets: Tensor
) -> dict[int, Tensor]:
    """Desired segment points, effector first, each bend kept within its cone."""
    points = {chain.joints: targets}
    for j in range(len(layout.bends) - 1, -1, -1):
        start, end = layout.bends[j], layout.ends[j]
        v = _unit(points[end] - origins[:, start])  # direction of segment j
        if j + 1 < len(layout.bends):
            # Bend at `end` between segment j and segment j+1 at most cones[j+1].
            u = _unit(points[layout.ends[j + 1]] - points[end])
            cos_uv = (v * u).sum(-1, keepdim=True)
            side = v - cos_uv * u
            # v opposite u leaves no side; bend in the joint's hinge plane then.
            hinge = rotations[:, end, :, chain.axis_index[end]]
            fallback = torch.linalg.cross(u, hinge, dim=-1)
            side = torch.where(side.norm(dim=-1, keepdim=True) > 1e-6, side, fallback)
            cone = layout.cones[j + 1]
            limited = math.cos(cone) * u + math.sin(cone) * _unit(side)
            v = torch.where(cos_uv < math.cos(cone), limited, v)
        if layout.rigid[j]:
            # Project onto the plane normal to the hinge, where no twist can turn that plane.
            w = rotations[:, start, :, chain.axis_index[start]]
            v = _unit(v - (v * w).sum(-1, keepdim=True) * w)
        points[start] = points[end] - layout.lengths[j] * v
    return points


def _forward(
    layout: _Layout, chain: ArmChain, q: Tensor, points: dict[int, Tensor]
) -> tuple[Tensor, Tensor, Tensor]:
    """Joint angles that follow the desired points from the base out: (q, rotations, origins)."""
    geometry = chain.geometry
    n = q.shape[0]
    cols = identity_columns(n, q.dtype, q.device)
    p = torch.zeros(n, 3, dtype=q.dtype, device=q.device)
    angles: list[Tensor] = []
    rotations: list[Tensor] = []
    origins = [p]
    for i, axis in enumerate(geometry.axes):
        current = q[:, i]
        if axis != "z":
            d = points[layout.ends[layout.bends.index(i)]] - p
            along = (cols[2] * d).sum(-1)
            if axis == "y":  # rot_y(a) e_z = (sin a, 0, cos a)
                angle = torch.atan2((cols[0] * d).sum(-1), along)
            else:  # rot_x(a) e_z = (0, -sin a, cos a)
                angle = torch.atan2(-(cols[1] * d).sum(-1), along)
        elif (k := layout.next_bend[i]) is None:
            angle = current  # a twist after the last bend cannot move the effector
        else:
            angle = _twist(layout, chain, q, i, k, cols, p, points)
        angle = torch.clamp(angle, chain.lower[i], chain.upper[i])
        angles.append(angle)
        cols = rotate_columns(cols, axis, angle)
        rotations.append(torch.stack(cols, dim=-1))
        p = p + geometry.link_lengths[i] * cols[2]
        origins.append(p)
    return torch.stack(angles, dim=1), torch.stack(rotations, dim=1), torch.stack(origins, dim=1)


def _twist(
    layout: _Layout,
    chain: ArmChain,
    q: Tensor,
    i: int,
    k: int,
    cols: list[Tensor],
    p: Tensor,
    points: dict[int, Tensor],
) -> Tensor:
    """Angle of twist joint i that puts the desired segment of bend joint k in k's bend plane."""
    geometry = chain.geometry
    current = q[:, i]
    joint_k = p + float(sum(geometry.link_lengths[i:k])) * cols[2]  # twists keep the direction
    d = points[layout.ends[layout.bends.index(k)]] - joint_k
    dx, dy = (cols[0] * d).sum(-1), (cols[1] * d).sum(-1)
    # A y hinge bends in the twisted x-z plane, an x hinge in the twisted y-z plane.
    total = torch.atan2(dy, dx) + (0.0 if geometry.axes[k] == "y" else math.pi / 2)
    total = total - q[:, i + 1 : k].sum(dim=1)  # later twists before k keep their angles
    lo, hi = chain.lower[i], chain.upper[i]
    candidates = (_wrap(total), _wrap(total + math.pi))
    costs = [
        _wrap(c - current).abs() + _OUT_OF_LIMIT_COST * ((c < lo) | (c > hi)).to(c.dtype)
        for c in candidates
    ]
    angle = torch.where(costs[0] <= costs[1], candidates[0], candidates[1])
    # Pointing straight along the segment: any twist works, so keep the current one.
    flat = torch.hypot(dx, dy) <= 1e-9 * d.norm(dim=-1)
    return torch.where(flat, current, angle)


def solve_fabrik(
    chain: ArmChain,
    targets: Tensor,
    q0: Tensor | None = None,
    *,
    iterations: int = 50,
    tol: float = 1e-5,
) -> IKResult:
    """FABRIK adapted to revolute joints, batched over N targets.

    Args:
        chain: The arm.
        targets: Effector targets (N, 3) in metres.
        q0: Start configuration (N, J); None means the middle of the limits for all.
        iterations: Most backward/forward iterations; stops early once every error < tol.
        tol: Distance in metres that counts as reached.

    Returns:
        The best in-limit configuration seen per target, the chain's FK error for it, and
        the iterations run.
    """
    targets, q = prepare_inputs(chain, targets, q0)
    layout = _Layout.of(chain.geometry)
    rotations, origins = chain.frames(q)
    best_q = q
    best_err = (origins[:, -1] - targets).norm(dim=1)
    done = 0
    # With no bend joint the effector cannot move: nothing to iterate.
    while layout.bends and done < iterations and not bool((best_err < tol).all()):
        points = _backward(layout, chain, rotations, origins, targets)
        q, rotations, origins = _forward(layout, chain, q, points)
        err = (origins[:, -1] - targets).norm(dim=1)
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best_q = torch.where(better.unsqueeze(1), q, best_q)
        done += 1
    error = (chain.effector(best_q) - targets).norm(dim=1)
    return IKResult(q=best_q, error=error, iterations=done)
