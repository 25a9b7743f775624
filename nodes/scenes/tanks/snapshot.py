"""What the views draw of a tank arena: plain numpy copies of a few arenas."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np


@dataclass(frozen=True)
class TankSnapshot:
    """Some arenas, seen from above, with each tank's camera rays.

    Attributes:
        instances: which arenas these are.
        half: the arena spans [-half, half]² metres.
        tank_radius: metres.
        pillars: (K, P, 3) x, y, radius (radius 0: no pillar).
        position: (K, 2, 2) each tank's x, y (tank 0 is the agent); heading (K, 2) radians;
            health (K, 2) hits left.
        shells: (K, 2, 2) each tank's shell; shell_alive (K, 2).
        ray_depth, ray_what: (K, 2, R) each tank's camera (tank 0 the agent's), left to right:
            distance and what each ray meets (0 wall, 1 pillar, 2 the other tank, 3 its
            shell), over ``fov`` radians.
        steps: (K,) steps into each fight; opponent: its level.
        recent: the first arena's steps since the previous snapshot, oldest first, as a
            snapshot whose rows are steps (None: none recorded yet); the 3-D view plays them.
    """

    instances: np.ndarray
    half: float
    tank_radius: float
    pillars: np.ndarray
    position: np.ndarray
    heading: np.ndarray
    health: np.ndarray
    shells: np.ndarray
    shell_alive: np.ndarray
    ray_depth: np.ndarray
    ray_what: np.ndarray
    fov: float
    steps: np.ndarray
    opponent: str
    recent: TankSnapshot | None = None
    kind: ClassVar[str] = "tank_arena"

    def row(self, index: int) -> TankSnapshot:
        """Arena (or recorded step) ``index`` alone, as a snapshot of one row."""
        pick = slice(index, index + 1)
        return replace(
            self,
            instances=self.instances[pick],
            pillars=self.pillars[pick],
            position=self.position[pick],
            heading=self.heading[pick],
            health=self.health[pick],
            shells=self.shells[pick],
            shell_alive=self.shell_alive[pick],
            ray_depth=self.ray_depth[pick],
            ray_what=self.ray_what[pick],
            steps=self.steps[pick],
            recent=None,
        )
