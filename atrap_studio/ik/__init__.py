"""Inverse kinematics: a batched arm model and the numerical solvers learned IK is compared with."""

from __future__ import annotations

from atrap_studio.ik.chain import ArmChain, ArmGeometry
from atrap_studio.ik.dls import solve_dls
from atrap_studio.ik.fabrik import solve_fabrik
from atrap_studio.ik.result import IKResult

__all__ = ["ArmChain", "ArmGeometry", "IKResult", "solve_dls", "solve_fabrik"]
