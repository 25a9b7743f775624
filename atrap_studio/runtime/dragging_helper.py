"""A scripted person helping the network: targets put near the tip, then further as it succeeds.

It plays the part of someone dragging targets in the scene view ("help the network"): at the
start of each update it puts every instance's target a short way from where the tip is, then
moves them further away each time the network reaches most of them, and lets go (the scene's
own targets again) once its hand spans the arm's reach. Targets are placed through the editor's
own path (the scene's ``set_target``, which the editor's ``move_target`` command calls), so the
help is the same a person gives, only tireless.
"""

from __future__ import annotations

import math
from collections import deque

import torch

from atrap_studio.core.errors import AtrapError
from atrap_studio.runtime.contracts import Effector, Steerable
from atrap_studio.runtime.pipeline import Pipeline


class DraggingHelper:
    """Moves targets the way a person dragging them would, driven by the network's success.

    Args:
        pipeline: the compiled graph; its scene must have an effector and movable targets.
        let_go_m: the distance from the tip at which the person stops helping (the arm's reach).
        start_m: how far from the tip the first targets go.
        grow: how much further targets go after each success.
        goal: the share of helped targets reached, over ``window`` updates, that counts as a
            success.
        window: updates the person watches before judging.
        seed: where the random directions and distances come from.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        let_go_m: float,
        start_m: float = 0.02,
        grow: float = 1.5,
        goal: float = 0.9,
        window: int = 20,
        seed: int = 0,
    ) -> None:
        scene = pipeline.scene
        if not isinstance(scene, Steerable) or not isinstance(scene, Effector):
            raise AtrapError(
                f"the scene '{pipeline.scene_id}' has no targets a person could move: the "
                "scripted helper needs a scene with a tip and targets (the robot arm)"
            )
        if not 0 < start_m < let_go_m or grow <= 1.0 or not 0 < goal <= 1 or window < 1:
            raise ValueError(
                f"the helper needs 0 < start ({start_m}) < let-go distance ({let_go_m}), "
                f"grow > 1 ({grow}), 0 < goal <= 1 ({goal}) and a window >= 1 ({window})"
            )
        self.pipeline = pipeline
        self.let_go_m = let_go_m
        self.radius_m = start_m
        self.grow = grow
        self.goal = goal
        self._recent: deque[float] = deque(maxlen=window)
        self._generator = torch.Generator().manual_seed(seed)
        #: Updates at which the person moved targets further (what the helper did, for reports).
        self.widened_at: list[int] = []
        #: The update at which the person let go, or ``None`` while still helping.
        self.let_go_at: int | None = None

    @property
    def helping(self) -> bool:
        return self.let_go_at is None

    def before_update(self) -> None:
        """Begin the update's episodes, then put each target within reach of the tip."""
        if not self.helping:
            return
        scene = self.pipeline.scene
        scene.begin_step()  # episodes start here, so the targets follow their starting tips
        assert isinstance(scene, Effector)
        tips = scene.effector.detach().cpu()
        count = tips.shape[0]
        direction = torch.randn(count, 3, generator=self._generator)
        direction /= direction.norm(dim=1, keepdim=True).clamp(min=1e-9)
        distance = torch.rand(count, 1, generator=self._generator) * self.radius_m
        assert isinstance(scene, Steerable)
        for instance, point in enumerate((tips + direction * distance).tolist()):
            scene.set_target(instance, point)

    def after_update(self, step: int, success_rate: float) -> None:
        """Watch how many helped targets the network reached; move further when most were."""
        if not self.helping or not math.isfinite(success_rate):
            return
        self._recent.append(success_rate)
        if len(self._recent) < (self._recent.maxlen or 1):
            return
        if sum(self._recent) / len(self._recent) >= self.goal:
            self.radius_m *= self.grow
            self.widened_at.append(step)
            self._recent.clear()
            if self.radius_m >= self.let_go_m:
                self.let_go_at = step
