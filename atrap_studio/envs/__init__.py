"""Gymnasium environments of our scenes, registered on import (``atrap/RobotArm-v0``).

Only gymnasium is imported here; the entry-point modules (and torch) load on ``make()``.
"""

from __future__ import annotations

from typing import Any

import gymnasium

ROBOT_ARM_ID = "atrap/RobotArm-v0"

__all__ = ["ROBOT_ARM_ID", "RobotArmEnv", "RobotArmVectorEnv", "register_envs"]

_LAZY = {
    "RobotArmEnv": "atrap_studio.envs.robot_arm",
    "RobotArmVectorEnv": "atrap_studio.envs.robot_arm",
}


def register_envs() -> None:
    """Register our environments with gymnasium; a no-op for those already registered."""
    if ROBOT_ARM_ID not in gymnasium.registry:
        gymnasium.register(
            id=ROBOT_ARM_ID,
            entry_point="atrap_studio.envs.robot_arm:RobotArmEnv",
            vector_entry_point="atrap_studio.envs.robot_arm:RobotArmVectorEnv",
        )


def __getattr__(name: str) -> Any:
    # The env classes import torch; load them only when asked for.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


register_envs()
