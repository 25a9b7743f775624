"""A person's recorded drags, played again in another training run at the same updates.

The rows of a run's ``drags.csv`` (:mod:`~atrap_studio.runtime.drag_log`) say which arm's
target a person held where, from which update and for how long. Replayed, each target is held
there through the editor's own commands (``hold_target`` then ``release_target``, what the
scene view's drag sends), from the same update for the same number of updates, so the network
gets the same help at the same point of its training. Arm ``i`` of the recording is arm
``i mod instances`` here; when two rows land on one arm and overlap, the later one takes over.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from atrap_studio.core.errors import AtrapError
from atrap_studio.runtime.commands import HoldsTargets, hold_target, release_target
from atrap_studio.runtime.drag_log import Drag, Position
from atrap_studio.runtime.pipeline import Pipeline


class DragReplay:
    """Holds and lets go of targets as a recording says, one update at a time.

    Args:
        pipeline: the compiled graph; its scene must hold targets (the robot arm).
        drags: the recorded rows (their updates within the run's budget).
        updates: the run's budget: holds that last longer end with the run.
    """

    def __init__(self, pipeline: Pipeline, drags: Sequence[Drag], updates: int) -> None:
        scene = pipeline.scene
        if not isinstance(scene, HoldsTargets):
            raise AtrapError(
                f"the scene '{pipeline.scene_id}' holds no targets, so a person's drags cannot "
                "be replayed in it (the robot arm can)"
            )
        self.pipeline = pipeline
        #: At each update: the arms to let go of, then where to hold which arm's target.
        self._releases: dict[int, list[int]] = defaultdict(list)
        self._holds: dict[int, list[tuple[int, Position]]] = defaultdict(list)
        #: Arm-updates trained with a held target, and the arms that were held.
        self.held_arm_updates = 0
        self.arms: set[int] = set()
        mine: dict[int, list[Drag]] = defaultdict(list)
        for drag in drags:
            mine[drag.instance % scene.instances].append(drag)
        for arm, rows in mine.items():
            rows.sort(key=lambda d: (d.update, d.line))
            for index, drag in enumerate(rows):
                end = min(drag.update + drag.updates_held, updates)
                if index + 1 < len(rows):
                    end = min(end, rows[index + 1].update)
                if end <= drag.update:
                    continue  # taken over at once: it holds for no update
                self._holds[drag.update].append((arm, drag.position))
                if end < updates:
                    self._releases[end].append(arm)
                self.held_arm_updates += end - drag.update
                self.arms.add(arm)

    def before_update(self, step: int) -> None:
        """Apply what the recording did once ``step`` updates were done."""
        for arm in self._releases.get(step, ()):
            release_target(arm)(self.pipeline)
        for arm, position in self._holds.get(step, ()):
            hold_target(arm, position)(self.pipeline)
