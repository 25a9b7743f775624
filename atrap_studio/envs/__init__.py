"""Gymnasium environments of our graphs, registered on import.

``atrap/Graph-v0`` is any valid graph (``gymnasium.make("atrap/Graph-v0", graph="g.yaml")``);
``atrap/RobotArm-v0`` is the robot-arm reaching task; ``atrap/TankArena-v0`` the tank duel.

Only gymnasium is imported here; the entry-point modules (and torch) load on ``make()``.
"""

from __future__ import annotations

from typing import Any

import gymnasium

ROBOT_ARM_ID = "atrap/RobotArm-v0"
GRAPH_ID = "atrap/Graph-v0"
TANK_ARENA_ID = "atrap/TankArena-v0"

__all__ = [
    "GRAPH_ID",
    "ROBOT_ARM_ID",
    "TANK_ARENA_ID",
    "GraphEnv",
    "GraphVectorEnv",
    "RobotArmEnv",
    "RobotArmVectorEnv",
    "TankArenaEnv",
    "TankArenaVectorEnv",
    "register_envs",
]

_LAZY = {
    "RobotArmEnv": "atrap_studio.envs.robot_arm",
    "RobotArmVectorEnv": "atrap_studio.envs.robot_arm",
    "GraphEnv": "atrap_studio.envs.graph_env",
    "GraphVectorEnv": "atrap_studio.envs.graph_env",
    "TankArenaEnv": "atrap_studio.envs.tank_arena",
    "TankArenaVectorEnv": "atrap_studio.envs.tank_arena",
}


def register_envs() -> None:
    """Register our environments with gymnasium; a no-op for those already registered."""
    if ROBOT_ARM_ID not in gymnasium.registry:
        gymnasium.register(
            id=ROBOT_ARM_ID,
            entry_point="atrap_studio.envs.robot_arm:RobotArmEnv",
            vector_entry_point="atrap_studio.envs.robot_arm:RobotArmVectorEnv",
        )
    if TANK_ARENA_ID not in gymnasium.registry:
        gymnasium.register(
            id=TANK_ARENA_ID,
            entry_point="atrap_studio.envs.tank_arena:TankArenaEnv",
            vector_entry_point="atrap_studio.envs.tank_arena:TankArenaVectorEnv",
        )
    if GRAPH_ID not in gymnasium.registry:
        gymnasium.register(
            id=GRAPH_ID,
            entry_point="atrap_studio.envs.graph_env:GraphEnv",
            vector_entry_point="atrap_studio.envs.graph_env:GraphVectorEnv",
        )


def __getattr__(name: str) -> Any:
    # The env classes import torch; load them only when asked for.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


register_envs()
