"""Batched, differentiable forward kinematics of a serial arm of axis-aligned revolute joints."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

_AXES = ("x", "y", "z")
_MIN_JOINTS = 2
_MAX_JOINTS = 7
_DEFAULT_AXES = ("z", "y", "y", "z", "y", "z", "y")
_DEFAULT_LENGTHS = (0.30, 0.45, 0.40, 0.10, 0.10, 0.08, 0.06)
_TWIST_LIMIT_DEG = 170.0
_BEND_LIMIT_DEG = 120.0


def _default_limit_deg(axis: str) -> float:
    return _TWIST_LIMIT_DEG if axis == "z" else _BEND_LIMIT_DEG


def _check_joint_count(joints: int) -> None:
    if not _MIN_JOINTS <= joints <= _MAX_JOINTS:
        raise ValueError(f"an arm needs {_MIN_JOINTS} to {_MAX_JOINTS} joints, got {joints}")


@dataclass(frozen=True)
class ArmGeometry:
    """Layout of a serial arm: one revolute joint per link, each link along its frame's z.

    Attributes:
        axes: Rotation axis of each joint ('x', 'y' or 'z') in the joint's local frame.
        link_lengths: Metres; link i runs along the local z axis of frame i (after joint i).
        limits: (lo, hi) in radians per joint, lo < hi.
    """

    axes: tuple[str, ...]
    link_lengths: tuple[float, ...]
    limits: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        # Store tuples whatever sequences came in, so the geometry stays hashable and frozen.
        object.__setattr__(self, "axes", tuple(self.axes))
        object.__setattr__(self, "link_lengths", tuple(float(v) for v in self.link_lengths))
        object.__setattr__(
            self, "limits", tuple(tuple(float(v) for v in pair) for pair in self.limits)
        )
        joints = len(self.axes)
        _check_joint_count(joints)
        if len(self.link_lengths) != joints or len(self.limits) != joints:
            raise ValueError(
                "axes, link_lengths and limits must have one entry per joint; got "
                f"{joints} axes, {len(self.link_lengths)} link lengths, {len(self.limits)} limits"
            )
        for i, axis in enumerate(self.axes):
            if axis not in _AXES:
                raise ValueError(f"joint {i}: axis must be one of 'x', 'y', 'z', got {axis!r}")
        for i, length in enumerate(self.link_lengths):
            if not (math.isfinite(length) and length > 0.0):
                raise ValueError(f"joint {i}: link length must be finite and > 0, got {length}")
        for i, limit in enumerate(self.limits):
            if len(limit) != 2:
                raise ValueError(f"joint {i}: a limit is a (lo, hi) pair, got {limit!r}")
            lo, hi = limit
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(f"joint {i}: limits need finite lo < hi, got ({lo}, {hi})")

    @classmethod
    def industrial(cls, joints: int = 6) -> ArmGeometry:
        """The default industrial layout: base twist, shoulder, elbow, then a wrist.

        Uses the first `joints` entries of axes (z, y, y, z, y, z, y), lengths
        (0.30, 0.45, 0.40, 0.10, 0.10, 0.08, 0.06) m, limits ±170° for z joints and ±120°
        for x/y joints.
        """
        return cls.from_props(joints, (), (), ())

    @classmethod
    def from_props(
        cls,
        joints: int,
        axes: Sequence[str],
        link_lengths: Sequence[float],
        limits_deg: Sequence[float],
    ) -> ArmGeometry:
        """Build from node properties, where an empty sequence means the industrial default.

        Args:
            joints: Number of joints (2..7).
            axes: One axis per joint, or empty for the default axes.
            link_lengths: One length in metres per joint, or empty for the default lengths.
            limits_deg: One symmetric limit in degrees per joint (±value), or empty for the
                default (170° for z joints, 120° for x/y joints).
        """
        _check_joint_count(joints)
        axes_t = tuple(axes) if len(axes) else _DEFAULT_AXES[:joints]
        lengths_t = (
            tuple(float(v) for v in link_lengths)
            if len(link_lengths)
            else _DEFAULT_LENGTHS[:joints]
        )
        if len(limits_deg):
            limits_t = tuple(float(v) for v in limits_deg)
        else:
            limits_t = tuple(_default_limit_deg(a) for a in axes_t)
        for i, value in enumerate(limits_t):
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"joint {i}: a symmetric limit must be > 0 degrees, got {value}")
        limits = tuple((-math.radians(v), math.radians(v)) for v in limits_t)
        return cls(axes=axes_t, link_lengths=lengths_t, limits=limits)

    @property
    def joints(self) -> int:
        """Number of joints."""
        return len(self.axes)

    @property
    def reach(self) -> float:
        """Longest distance from the base the effector can be: the sum of link lengths."""
        return float(sum(self.link_lengths))


# For R @ rot(axis, q): which two columns of R mix, as (a, b) with
# new_a = c * col_a + s * col_b and new_b = c * col_b - s * col_a.
_MIXED_COLUMNS = {"x": (1, 2), "y": (2, 0), "z": (0, 1)}


def rotate_columns(cols: Sequence[Tensor], axis: str, angle: Tensor) -> list[Tensor]:
    """Columns of R @ rot(axis, angle) from the columns (N, 3) of R, for angles (N,).

    An axis-aligned rotation mixes only two columns, so this is four multiply-adds instead of
    a 3x3 product; FK and the FABRIK forward pass share it.
    """
    a, b = _MIXED_COLUMNS[axis]
    c, s = torch.cos(angle).unsqueeze(-1), torch.sin(angle).unsqueeze(-1)
    out = list(cols)
    out[a] = c * cols[a] + s * cols[b]
    out[b] = c * cols[b] - s * cols[a]
    return out


def identity_columns(n: int, dtype: torch.dtype, device: torch.device) -> list[Tensor]:
    """The columns of the base frame's identity rotation, broadcast to (N, 3) each."""
    eye = torch.eye(3, dtype=dtype, device=device)
    return [eye[:, k].expand(n, 3) for k in range(3)]


class ArmChain:
    """Forward kinematics of an ArmGeometry for N configurations at once, differentiable.

    Rotations about frame axes only mix two columns of the parent rotation, so each joint
    costs a few (N, 3) multiply-adds instead of a general 3x3 product; the Python loop
    runs over the joints only, never over the batch.
    """

    def __init__(
        self,
        geometry: ArmGeometry,
        *,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
    ) -> None:
        self.geometry = geometry
        self.dtype = dtype
        self.device = torch.device(device)
        limits = torch.tensor(geometry.limits, dtype=dtype, device=self.device)
        self.lower: Tensor = limits[:, 0].contiguous()
        self.upper: Tensor = limits[:, 1].contiguous()
        self.axis_index: tuple[int, ...] = tuple(_AXES.index(a) for a in geometry.axes)

    @property
    def joints(self) -> int:
        """Number of joints J."""
        return self.geometry.joints

    def _check_q(self, q: Tensor) -> None:
        if q.dim() != 2 or q.shape[1] != self.joints:
            raise ValueError(f"q must have shape (N, {self.joints}), got {tuple(q.shape)}")

    def frames(self, q: Tensor) -> tuple[Tensor, Tensor]:
        """Rotation and origin of every joint frame.

        For joint i: R_i = R_{i-1} @ rot(axis_i, q_i) with R_{-1} = I; p_0 = 0 and
        p_{i+1} = p_i + R_i @ [0, 0, L_i].

        Args:
            q: Joint angles (N, J) in radians.

        Returns:
            rotations (N, J, 3, 3) with rotations[:, i] = R_i, and origins (N, J + 1, 3)
            with origins[:, i] = p_i (joint i's position) and origins[:, J] the effector.
        """
        self._check_q(q)
        cols = identity_columns(q.shape[0], q.dtype, q.device)
        p = torch.zeros(q.shape[0], 3, dtype=q.dtype, device=q.device)
        rotations: list[Tensor] = []
        origins = [p]
        for i, axis in enumerate(self.geometry.axes):
            cols = rotate_columns(cols, axis, q[:, i])
            rotations.append(torch.stack(cols, dim=-1))
            p = p + self.geometry.link_lengths[i] * cols[2]
            origins.append(p)
        return torch.stack(rotations, dim=1), torch.stack(origins, dim=1)

    def positions(self, q: Tensor) -> Tensor:
        """Joint positions and the effector, (N, J + 1, 3)."""
        return self.frames(q)[1]

    def effector(self, q: Tensor) -> Tensor:
        """Effector position (N, 3): the FK loop of :meth:`frames` without stacking frames.

        This is the hot path of every scene step, so it keeps only what the tip needs.
        """
        self._check_q(q)
        cols = identity_columns(q.shape[0], q.dtype, q.device)
        p = torch.zeros(q.shape[0], 3, dtype=q.dtype, device=q.device)
        for i, axis in enumerate(self.geometry.axes):
            cols = rotate_columns(cols, axis, q[:, i])
            p = p + self.geometry.link_lengths[i] * cols[2]
        return p

    def pose(self, q: Tensor) -> tuple[Tensor, Tensor]:
        """Effector position (N, 3) and the tip frame's orientation (N, 3, 3): the last
        joint's frame, whose z column is the direction of the last link."""
        self._check_q(q)
        cols = identity_columns(q.shape[0], q.dtype, q.device)
        p = torch.zeros(q.shape[0], 3, dtype=q.dtype, device=q.device)
        for i, axis in enumerate(self.geometry.axes):
            cols = rotate_columns(cols, axis, q[:, i])
            p = p + self.geometry.link_lengths[i] * cols[2]
        return p, torch.stack(cols, dim=-1)

    def pose_and_jacobian(self, q: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Effector position (N, 3), tip orientation (N, 3, 3) and the geometric Jacobian
        (N, 6, J): rows 0-2 move the tip (w_i x (p_e - p_i)), rows 3-5 turn it (w_i)."""
        rotations, origins = self.frames(q)
        world_axes = torch.stack(
            [rotations[:, i, :, k] for i, k in enumerate(self.axis_index)], dim=1
        )
        effector = origins[:, -1]
        lever = effector.unsqueeze(1) - origins[:, :-1]
        linear = torch.linalg.cross(world_axes, lever, dim=-1)
        jac = torch.cat([linear, world_axes], dim=2).transpose(1, 2)
        return effector, rotations[:, -1], jac

    def jacobian(self, q: Tensor) -> Tensor:
        """Analytic positional Jacobian (N, 3, J): column i = w_i x (p_e - p_i)."""
        return self.effector_and_jacobian(q)[1]

    def effector_and_jacobian(self, q: Tensor) -> tuple[Tensor, Tensor]:
        """Effector (N, 3) and Jacobian (N, 3, J) from one FK pass, for iterative solvers.

        A joint's world axis is the matching column of its own frame (a rotation about an
        axis leaves that axis unchanged), so no extra products are needed.
        """
        rotations, origins = self.frames(q)
        world_axes = torch.stack(
            [rotations[:, i, :, k] for i, k in enumerate(self.axis_index)], dim=1
        )
        effector = origins[:, -1]
        lever = effector.unsqueeze(1) - origins[:, :-1]
        return effector, torch.linalg.cross(world_axes, lever, dim=-1).transpose(1, 2)

    def clamp(self, q: Tensor) -> Tensor:
        """q clamped into the joint limits."""
        return torch.minimum(torch.maximum(q, self.lower), self.upper)

    def sample_q(self, n: int, generator: torch.Generator) -> Tensor:
        """n configurations drawn uniformly within the limits, (n, J)."""
        u = torch.rand(
            n, self.joints, generator=generator, dtype=self.dtype, device=generator.device
        )
        return self.lower + (self.upper - self.lower) * u.to(self.device)

    def sample_poses(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
        """Reachable poses by construction: tip positions (n, 3), orientations (n, 3, 3) and
        the joint angles (n, J) that reach them."""
        q = self.sample_q(n, generator)
        position, rotation = self.pose(q)
        return position, rotation, q

    def sample_targets(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Reachable targets by construction: (FK of sample_q (n, 3), that q (n, J))."""
        q = self.sample_q(n, generator)
        return self.effector(q), q
