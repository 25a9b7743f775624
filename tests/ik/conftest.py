"""Shared by the solver tests: the default arm in float64 and seeded reachable targets."""

from __future__ import annotations

import pytest
import torch

from atrap_studio.ik import ArmChain, ArmGeometry


def reachable_targets(chain: ArmChain, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` targets the arm can reach, and joint angles that reach them."""
    return chain.sample_targets(n, torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def chain64() -> ArmChain:
    return ArmChain(ArmGeometry.industrial(), dtype=torch.float64)
