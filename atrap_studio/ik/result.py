"""What both IK solvers share: the checks on their inputs and the answer they return."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from torch import Tensor

if TYPE_CHECKING:
    from atrap_studio.ik.chain import ArmChain


@dataclass
class IKResult:
    """Joint angles found for a batch of targets and how close they got.

    Attributes:
        q: Joint angles (N, J) within the chain's limits.
        error: Final effector-to-target distance (N,) in metres, measured by the chain's FK
            of `q`.
        iterations: Iterations actually run (solvers stop early once every error < tol).
        angle: For a solve of poses, the angle (N,) in radians between the tip's orientation
            and the target's; None for positions only.
    """

    q: Tensor
    error: Tensor
    iterations: int
    angle: Tensor | None = None


def prepare_rotations(chain: ArmChain, rotations: Tensor, n: int) -> Tensor:
    """Target orientations (N, 3, 3) in the chain's dtype and device, shape checked."""
    if rotations.shape != (n, 3, 3):
        raise ValueError(
            f"target orientations must have shape ({n}, 3, 3) to match the targets, "
            f"got {tuple(rotations.shape)}"
        )
    return rotations.detach().to(dtype=chain.dtype, device=chain.device)


def prepare_inputs(chain: ArmChain, targets: Tensor, q0: Tensor | None) -> tuple[Tensor, Tensor]:
    """Targets and a start configuration in the chain's dtype and device, shapes checked.

    A missing q0 is the middle of the limits for every target, so cold starts are
    reproducible and do not depend on the order of targets.
    """
    if targets.dim() != 2 or targets.shape[1] != 3:
        raise ValueError(f"targets must have shape (N, 3), got {tuple(targets.shape)}")
    # Solvers are baselines, not layers: no autograd graph over their iterations.
    targets = targets.detach().to(dtype=chain.dtype, device=chain.device)
    n, joints = targets.shape[0], chain.joints
    if q0 is None:
        q = ((chain.lower + chain.upper) / 2).expand(n, joints).clone()
    else:
        if q0.shape != (n, joints):
            raise ValueError(
                f"q0 must have shape ({n}, {joints}) to match the targets, got {tuple(q0.shape)}"
            )
        q = chain.clamp(q0.detach().to(dtype=chain.dtype, device=chain.device))
    return targets, q
