"""Damped-least-squares IK: accuracy on reachable targets, limits, warm starts, input checks."""

from __future__ import annotations

import pytest
import torch

from atrap_studio.ik import ArmChain, ArmGeometry, IKResult, solve_dls
from tests.ik.conftest import reachable_targets


@pytest.fixture(scope="module")
def cold_result(chain64: ArmChain) -> tuple[torch.Tensor, IKResult]:
    targets, _ = reachable_targets(chain64, 300, seed=11)
    return targets, solve_dls(chain64, targets)


def test_reaches_reachable_targets_from_cold_start(
    cold_result: tuple[torch.Tensor, IKResult],
) -> None:
    _, result = cold_result
    assert result.error.shape == (300,)
    assert (result.error < 1e-3).double().mean() >= 0.99
    assert result.error.median() < 5e-5
    # Measured: every target within tol after about 25 iterations (the active set matters).
    assert 0 < result.iterations < 60


def test_respects_limits_and_reports_fk_error(
    chain64: ArmChain, cold_result: tuple[torch.Tensor, IKResult]
) -> None:
    targets, result = cold_result
    assert result.q.shape == (300, 6)
    assert ((result.q >= chain64.lower) & (result.q <= chain64.upper)).all()
    torch.testing.assert_close(result.error, (chain64.effector(result.q) - targets).norm(dim=1))


def test_plain_dls_without_restarts_still_mostly_converges(chain64: ArmChain) -> None:
    targets, _ = reachable_targets(chain64, 200, seed=12)
    result = solve_dls(chain64, targets, restarts=False)
    assert (result.error < 1e-3).double().mean() >= 0.95
    assert ((result.q >= chain64.lower) & (result.q <= chain64.upper)).all()


def test_float32_reachesreachable_targets() -> None:
    chain = ArmChain(ArmGeometry.industrial(), dtype=torch.float32)
    targets, _ = reachable_targets(chain, 200, seed=13)
    result = solve_dls(chain, targets)
    assert result.q.dtype == torch.float32
    assert (result.error < 1e-3).float().mean() >= 0.99
    assert result.error.median() < 5e-5


def test_warm_start_from_true_q_stops_at_once(chain64: ArmChain) -> None:
    targets, q_true = reachable_targets(chain64, 50, seed=14)
    result = solve_dls(chain64, targets, q_true)
    assert result.iterations <= 1
    torch.testing.assert_close(result.q, q_true)
    assert (result.error < 1e-6).all()


def test_warm_start_near_the_answer_converges_fast(chain64: ArmChain) -> None:
    targets, q_true = reachable_targets(chain64, 50, seed=15)
    result = solve_dls(chain64, targets, chain64.clamp(q_true + 0.01))
    assert result.iterations < 20
    assert (result.error < 1e-6).all()


def test_iteration_budget_is_respected(chain64: ArmChain) -> None:
    targets, _ = reachable_targets(chain64, 20, seed=16)
    result = solve_dls(chain64, targets, iterations=3)
    assert result.iterations == 3


def test_unreachable_target_ends_at_full_stretch(chain64: ArmChain) -> None:
    far = torch.tensor([[3.0, 0.0, 0.3]], dtype=torch.float64)
    result = solve_dls(chain64, far, iterations=200)
    # The closest reachable point is the arm stretched towards it from the shoulder; DLS
    # creeps towards that singular pose, so allow it a centimetre.
    assert 3.0 - 1.13 - 1e-9 < result.error.item() < 3.0 - 1.13 + 0.01
    assert ((result.q >= chain64.lower) & (result.q <= chain64.upper)).all()


def test_casts_inputs_to_the_chain_dtype(chain64: ArmChain) -> None:
    targets, q_true = reachable_targets(chain64, 5, seed=17)
    result = solve_dls(chain64, targets.float(), q_true.float())
    assert result.q.dtype == torch.float64
    assert result.error.dtype == torch.float64


@pytest.mark.parametrize("shape", [(5,), (5, 5), (4, 6), (5, 6, 1)])
def test_rejects_wrong_q0_shape(chain64: ArmChain, shape: tuple[int, ...]) -> None:
    targets, _ = reachable_targets(chain64, 5, seed=18)
    with pytest.raises(ValueError, match=r"q0 must have shape \(5, 6\)"):
        solve_dls(chain64, targets, torch.zeros(shape, dtype=torch.float64))


@pytest.mark.parametrize("shape", [(3,), (5, 2), (5, 3, 1)])
def test_rejects_wrong_target_shape(chain64: ArmChain, shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"targets must have shape \(N, 3\)"):
        solve_dls(chain64, torch.zeros(shape, dtype=torch.float64))


def test_target_on_a_singular_pose_does_not_break_the_solve(chain64: ArmChain) -> None:
    # Straight up is singular (J J^T has rank 2); being exactly on target there must not
    # make the 3x3 system singular for the rest of the batch.
    straight = chain64.effector(torch.zeros(1, 6, dtype=torch.float64))
    other, _ = reachable_targets(chain64, 3, seed=19)
    result = solve_dls(chain64, torch.cat([straight, other]))
    assert torch.isfinite(result.q).all()
    assert result.error[0] < 1e-9


def test_restarts_leave_the_stationary_cold_start(chain64: ArmChain) -> None:
    # Straight up, every joint moves the effector along x or not at all, so a target with
    # x = 0 gives a zero step: plain DLS never moves, the restart does.
    in_plane = torch.tensor([[0.0, 0.5, 0.5], [0.0, -0.4, 0.9]], dtype=torch.float64)
    plain = solve_dls(chain64, in_plane, restarts=False)
    assert (plain.error > 0.1).all()
    result = solve_dls(chain64, in_plane)
    assert (result.error < 1e-6).all()
