"""Commands from the editor to a running scene, applied on the training thread between updates.

The editor builds them from plain numbers (it never touches torch or the scene) and hands them
to :meth:`~atrap_studio.runtime.runner.Runner.submit`; a scene that cannot take one ignores it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from atrap_studio.runtime.contracts import Steerable
from atrap_studio.runtime.pipeline import Pipeline


@runtime_checkable
class HoldsTargets(Protocol):
    """A steerable scene that can also keep a target where a person holds it, across episodes
    and whatever its target mode, until it is let go (the arm)."""

    instances: int

    def hold_target(self, instance: int, position: Sequence[float]) -> None: ...

    def release_target(self, instance: int) -> None: ...

    def held_target(self, instance: int) -> tuple[float, float, float] | None: ...


def move_target(instance: int, point: Sequence[float]) -> Callable[[Pipeline], None]:
    """Move one instance's target to ``point`` (a scene without targets ignores it)."""
    position = tuple(float(v) for v in point)

    def apply(pipeline: Pipeline) -> None:
        scene = pipeline.scene
        if isinstance(scene, Steerable) and 0 <= instance < scene.instances:
            scene.set_target(instance, position)

    return apply


def hold_target(instance: int, point: Sequence[float]) -> Callable[[Pipeline], None]:
    """Put one instance's target at ``point`` and keep it there, episode after episode, until
    :func:`release_target` (a scene that cannot hold moves it once, or ignores it)."""
    position = tuple(float(v) for v in point)

    def apply(pipeline: Pipeline) -> None:
        scene = pipeline.scene
        if isinstance(scene, HoldsTargets) and 0 <= instance < scene.instances:
            scene.hold_target(instance, position)
        else:
            move_target(instance, position)(pipeline)

    return apply


def release_target(instance: int) -> Callable[[Pipeline], None]:
    """Let a held target go: the instance's next episodes draw targets as the scene's mode says."""

    def apply(pipeline: Pipeline) -> None:
        scene = pipeline.scene
        if isinstance(scene, HoldsTargets):
            scene.release_target(instance)

    return apply
