"""FABRIK on revolute chains: it converges, stays in limits and reports honest FK errors."""

from __future__ import annotations

import pytest
import torch

from atrap_studio.ik import ArmChain, ArmGeometry, IKResult, solve_fabrik
from tests.ik.conftest import reachable_targets


def _start_error(chain: ArmChain, targets: torch.Tensor) -> torch.Tensor:
    middle = ((chain.lower + chain.upper) / 2).expand(targets.shape[0], chain.joints)
    return (chain.effector(middle) - targets).norm(dim=1)


@pytest.fixture(scope="module")
def cold_result(chain64: ArmChain) -> tuple[torch.Tensor, IKResult]:
    targets, _ = reachable_targets(chain64, 300, seed=21)
    return targets, solve_fabrik(chain64, targets)


def test_reduces_the_error_a_lot(
    chain64: ArmChain, cold_result: tuple[torch.Tensor, IKResult]
) -> None:
    targets, result = cold_result
    assert _start_error(chain64, targets).median() > 0.5
    # Measured: median ~1e-16 m, ~99% within 1 mm; thresholds leave a wide margin.
    assert result.error.median() < 1e-5
    assert (result.error < 1e-3).double().mean() >= 0.95
    assert (result.error < 0.1).all()
    assert 0 < result.iterations <= 50


def test_respects_limits_and_reports_the_chain_fk_error(
    chain64: ArmChain, cold_result: tuple[torch.Tensor, IKResult]
) -> None:
    targets, result = cold_result
    assert result.q.shape == (300, 6)
    assert ((result.q >= chain64.lower) & (result.q <= chain64.upper)).all()
    torch.testing.assert_close(
        result.error, (chain64.effector(result.q) - targets).norm(dim=1), rtol=0, atol=1e-12
    )


def test_float32() -> None:
    chain = ArmChain(ArmGeometry.industrial(), dtype=torch.float32)
    targets, _ = reachable_targets(chain, 200, seed=22)
    result = solve_fabrik(chain, targets)
    assert result.q.dtype == torch.float32
    assert ((result.q >= chain.lower) & (result.q <= chain.upper)).all()
    assert result.error.median() < 1e-5
    assert (result.error < 1e-3).float().mean() >= 0.95


@pytest.mark.parametrize("joints", [2, 3, 5, 7])
def test_other_industrial_arms(joints: int) -> None:
    chain = ArmChain(ArmGeometry.industrial(joints), dtype=torch.float64)
    targets, _ = reachable_targets(chain, 100, seed=23)
    result = solve_fabrik(chain, targets)
    assert ((result.q >= chain.lower) & (result.q <= chain.upper)).all()
    assert result.error.median() < 1e-4
    assert result.error.median() < 1e-3 * _start_error(chain, targets).median()


def test_layouts_without_twists_still_improve() -> None:
    # A weak case for a point chain (see the module docstring); it must still help.
    geometry = ArmGeometry.from_props(4, ["x", "y", "z", "x"], [], [])
    chain = ArmChain(geometry, dtype=torch.float64)
    targets, _ = reachable_targets(chain, 100, seed=24)
    result = solve_fabrik(chain, targets)
    assert ((result.q >= chain.lower) & (result.q <= chain.upper)).all()
    assert result.error.median() < 0.1 * _start_error(chain, targets).median()


def test_twists_only_cannot_move_and_stop_at_once() -> None:
    chain = ArmChain(ArmGeometry.from_props(2, ["z", "z"], [], []), dtype=torch.float64)
    targets = torch.tensor([[0.1, 0.0, 0.5]], dtype=torch.float64)
    result = solve_fabrik(chain, targets)
    assert result.iterations == 0
    assert result.error.item() == pytest.approx(((0.75 - 0.5) ** 2 + 0.1**2) ** 0.5)


def test_warm_start_from_true_q_stops_at_once(chain64: ArmChain) -> None:
    targets, q_true = reachable_targets(chain64, 20, seed=25)
    result = solve_fabrik(chain64, targets, q_true)
    assert result.iterations == 0
    torch.testing.assert_close(result.q, q_true)


def test_never_worse_than_the_start(chain64: ArmChain) -> None:
    # From a warm start a few iterations can move some targets away; the best is kept.
    targets, q_true = reachable_targets(chain64, 200, seed=26)
    noise = torch.randn(q_true.shape, generator=torch.Generator().manual_seed(1))
    q0 = chain64.clamp(q_true + 0.2 * noise.double())
    start = (chain64.effector(q0) - targets).norm(dim=1)
    result = solve_fabrik(chain64, targets, q0, iterations=2)
    assert (result.error <= start).all()
    assert result.iterations == 2


def test_rejects_wrong_q0_shape(chain64: ArmChain) -> None:
    targets, _ = reachable_targets(chain64, 4, seed=27)
    with pytest.raises(ValueError, match=r"q0 must have shape \(4, 6\)"):
        solve_fabrik(chain64, targets, torch.zeros(4, 5, dtype=torch.float64))
