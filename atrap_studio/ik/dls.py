"""Batched damped-least-squares Jacobian IK: the numerical baseline learned IK is compared with.

Plain DLS (fixed lambda, joints clamped) misses about 4% of reachable targets of the default
arm: far from the target its steps overshoot and fold the arm into a zig-zag with every bend
joint pinned at a limit. Three measured additions fix that:

- Error-scaled damping: lambda^2 = min(damping, e)^2 + (e / 2)^2 for an error of e metres,
  Levenberg-Marquardt style (Sugihara 2011). Far away the (e / 2)^2 term keeps steps short
  enough not to overshoot; near the target lambda vanishes and the step becomes Gauss-Newton,
  so float32 and float64 both reach `tol` and stop early. Alone: 98.8-99.2% -> 99.9-100%.
- Active set: after a first solve, the columns of joints at a limit that the step pushes
  outward are zeroed and the step solved again, so the free joints do the work. Together
  with the damping: 100% within 1 mm in about 25 iterations instead of 100.
- Restarts: a target whose step is stationary (every joint < 1e-6 rad) while it is still
  1e-4 of the reach away is re-seeded from a random in-limit configuration (fixed-seed
  generator, reproducible); the best configuration seen is returned. This never fires on the
  random targets below, but the cold start (straight up) is a stationary point for any
  target in its bend plane (x = 0 on the default arm), which plain DLS never leaves.

Measured on 2,000 reachable targets of the default 6-DOF arm from a cold start
(torch.set_num_threads(1), 2-core CPU, defaults, 5 target seeds): float64 median 6e-14 mm,
p95 2e-13 mm, worst 5e-5 mm, 100% within 1 mm, stops after 22-27 iterations, about
23,000-29,000 solves/s; float32 median 3e-5 mm, p95 1.2e-4 mm, worst 7e-4 mm, 100% within
1 mm, 20-24 iterations, about 33,000-38,000 solves/s. Unreachable targets end near the
closest reachable point (the stretched arm), within about 1 mm of it after 100 iterations.

Given target orientations too, the same steps solve for the whole pose: the error is six
values, the position's (metres) and the rotation vector from the tip's orientation to the
target's (radians) times ``metres_per_radian``, and the Jacobian gains the joints' world axes
as its three angular rows, weighted alike. The weight says how many metres of position error
one radian of orientation error is worth; the default 0.15 m/rad makes 2 degrees count as
5.2 mm, the issue's accuracy goal (5 mm and 2 degrees) being about equally hard in both.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from atrap_studio.ik.chain import ArmChain
from atrap_studio.ik.result import IKResult, prepare_inputs, prepare_rotations
from atrap_studio.ik.rotations import angle_between, rotation_vector

__all__ = ["METRES_PER_RADIAN", "IKResult", "solve_dls"]

#: How many metres of tip position error one radian of orientation error counts as.
METRES_PER_RADIAN = 0.15

_RESTART_SEED = 0
# A target is stuck when no joint moves more than this (radians) while it is still this
# fraction of the reach away: a stationary point that is not the answer.
_STUCK_STEP = 1e-6
_STUCK_REACH_FRACTION = 1e-4


def _dls_step(jac: Tensor, e: Tensor, lam2: Tensor) -> Tensor:
    """dq = J^T (J J^T + lambda^2 I)^-1 e for every row of the batch."""
    eye = torch.eye(jac.shape[1], dtype=jac.dtype, device=jac.device)
    a = jac @ jac.transpose(1, 2) + lam2[:, None, None] * eye
    solved: Tensor = torch.linalg.solve(a, e.unsqueeze(-1))
    return (jac.transpose(1, 2) @ solved).squeeze(-1)


def solve_dls(
    chain: ArmChain,
    targets: Tensor,
    q0: Tensor | None = None,
    *,
    iterations: int = 100,
    damping: float = 0.05,
    tol: float = 1e-6,
    max_step: float = 0.5,
    restarts: bool = True,
    rotations: Tensor | None = None,
    metres_per_radian: float = METRES_PER_RADIAN,
) -> IKResult:
    """Batched damped least squares, clamped to the joint limits.

    Args:
        chain: The arm.
        targets: Effector targets (N, 3) in metres.
        q0: Start configuration (N, J); None means the middle of the limits for all.
        iterations: Most iterations to run; stops early once every error < tol.
        damping: Largest damping lambda (metres); near a target lambda shrinks to the error.
        tol: Distance in metres that counts as reached.
        max_step: Largest change of any joint per iteration, radians (the step is scaled,
            keeping its direction).
        restarts: Re-seed targets that stall far from the target (see the module docstring);
            False gives plain active-set DLS.
        rotations: Target orientations (N, 3, 3) of the tip: solve for the whole pose. The
            damping, ``tol`` and the best pose kept then measure the weighted 6-D error.
        metres_per_radian: With ``rotations``: metres of position error one radian of
            orientation error is worth.

    Returns:
        The best configuration found per target, its FK error (and, for poses, its angle
        error) and the iterations run.
    """
    targets, q = prepare_inputs(chain, targets, q0)
    if rotations is not None:
        return _solve_pose(
            chain,
            targets,
            prepare_rotations(chain, rotations, targets.shape[0]),
            q,
            iterations=iterations,
            damping=damping,
            tol=tol,
            max_step=max_step,
            restarts=restarts,
            weight=metres_per_radian,
        )

    def residual(q: Tensor) -> tuple[Tensor, Tensor]:
        effector, jac = chain.effector_and_jacobian(q)
        return targets - effector, jac

    best_q, error, done = _iterate(
        chain,
        q,
        residual,
        iterations=iterations,
        damping=damping,
        tol=tol,
        max_step=max_step,
        restarts=restarts,
    )
    return IKResult(q=best_q, error=error, iterations=done)


def _solve_pose(
    chain: ArmChain,
    targets: Tensor,
    rotations: Tensor,
    q: Tensor,
    *,
    iterations: int,
    damping: float,
    tol: float,
    max_step: float,
    restarts: bool,
    weight: float,
) -> IKResult:
    def residual(q: Tensor) -> tuple[Tensor, Tensor]:
        effector, rotation, jac = chain.pose_and_jacobian(q)
        turn = rotation_vector(rotations @ rotation.transpose(1, 2))
        e = torch.cat([targets - effector, weight * turn], dim=1)
        return e, torch.cat([jac[:, :3], weight * jac[:, 3:]], dim=1)

    best_q, _, done = _iterate(
        chain,
        q,
        residual,
        iterations=iterations,
        damping=damping,
        tol=tol,
        max_step=max_step,
        restarts=restarts,
    )
    effector, rotation = chain.pose(best_q)
    return IKResult(
        q=best_q,
        error=torch.linalg.vector_norm(targets - effector, dim=1),
        iterations=done,
        angle=angle_between(rotation, rotations),
    )


def _iterate(
    chain: ArmChain,
    q: Tensor,
    residual: Callable[[Tensor], tuple[Tensor, Tensor]],
    *,
    iterations: int,
    damping: float,
    tol: float,
    max_step: float,
    restarts: bool,
) -> tuple[Tensor, Tensor, int]:
    """The DLS iterations on ``residual(q) -> (error vector (N, M), its Jacobian (N, M, J))``:
    the best configuration seen per row, its error norm and the iterations run."""
    generator = torch.Generator(device=chain.device).manual_seed(_RESTART_SEED)
    stuck_above = max(tol, _STUCK_REACH_FRACTION * chain.geometry.reach)
    # Keeps J J^T + lambda^2 I invertible at a singular pose that already hits its target.
    lam_floor = min(damping, math.sqrt(torch.finfo(q.dtype).eps) * chain.geometry.reach)
    best_q = q
    best_err = torch.full((q.shape[0],), math.inf, dtype=q.dtype, device=q.device)
    done = 0
    while True:
        e, jac = residual(q)
        err = e.norm(dim=1)
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best_q = torch.where(better.unsqueeze(1), q, best_q)
        if done >= iterations or bool((best_err < tol).all()):
            break
        lam2 = torch.clamp(err, min=lam_floor, max=damping) ** 2 + (err / 2) ** 2
        dq = _dls_step(jac, e, lam2)
        # Active set: joints at a limit that the step pushes outward sit this step out.
        blocked = ((q >= chain.upper) & (dq > 0)) | ((q <= chain.lower) & (dq < 0))
        if bool(blocked.any()):
            dq = _dls_step(jac * (~blocked).unsqueeze(1), e, lam2)
        largest = dq.abs().amax(dim=1)
        scale = torch.clamp(max_step / largest.clamp(min=torch.finfo(q.dtype).tiny), max=1.0)
        q = chain.clamp(q + dq * scale.unsqueeze(1))
        if restarts:
            stuck = (err > stuck_above) & (largest < _STUCK_STEP)
            if bool(stuck.any()):
                q = q.clone()
                q[stuck] = chain.sample_q(int(stuck.sum()), generator)
        done += 1
    return best_q, best_err, done
