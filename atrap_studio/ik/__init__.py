"""Inverse kinematics: a batched arm model, the numerical solvers, and learned IK built on them."""

from __future__ import annotations

from atrap_studio.ik.chain import ArmChain, ArmGeometry
from atrap_studio.ik.dls import solve_dls
from atrap_studio.ik.fabrik import solve_fabrik
from atrap_studio.ik.learned import LearnedIK, LearnedIKResult, NetworkUnfitError
from atrap_studio.ik.result import IKResult

__all__ = [
    "ArmChain",
    "ArmGeometry",
    "IKResult",
    "LearnedIK",
    "LearnedIKResult",
    "NetworkUnfitError",
    "solve_dls",
    "solve_fabrik",
]
