"""Commands from the editor to a running scene, applied on the training thread between updates.

The editor builds them from plain numbers (it never touches torch or the scene) and hands them
to :meth:`~atrap_studio.runtime.runner.Runner.submit`; a scene that cannot take one ignores it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from atrap_studio.runtime.contracts import Steerable
from atrap_studio.runtime.pipeline import Pipeline


def move_target(instance: int, point: Sequence[float]) -> Callable[[Pipeline], None]:
    """Move one instance's target to ``point`` (a scene without targets ignores it)."""
    position = tuple(float(v) for v in point)

    def apply(pipeline: Pipeline) -> None:
        scene = pipeline.scene
        if isinstance(scene, Steerable) and 0 <= instance < scene.instances:
            scene.set_target(instance, position)

    return apply
