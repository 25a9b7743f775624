"""The architect at work in a run: after each update it reads the training error, lets the
controller (or a fixed schedule, the baseline it is compared with) decide, and carries out a
grow or shrink on the pipeline's network through its owner.

Everything it decides on is in the run's metrics (``architect/*``), so the curves plot the
radar window, and its whole state (the filter, the decisions so far, its random stream) goes
into checkpoints: a resumed run grows and shrinks exactly as one that never stopped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch

from atrap_studio.runtime.architect.controller import ArchitectConfig, Controller, Decision
from atrap_studio.runtime.architect.steer import SizeBounds, resize
from atrap_studio.runtime.architect.surgery import hidden_widths
from atrap_studio.runtime.network_owner import NetworkChange, NetworkOwner

Mode = Literal["kalman", "schedule"]
Metrics = dict[str, torch.Tensor | float]


@dataclass(frozen=True)
class GrowthSettings:
    """How a network may grow and shrink: the NN Factory's ``grow_*`` properties.

    Attributes:
        mode: ``kalman``: the controller decides; ``schedule``: grow every ``every`` updates.
        config: the controller's settings (its cooldown is ``every``).
        bounds: how small and large the network may become.
        every: updates between two changes (the schedule's period, the controller's cooldown).
    """

    mode: Mode
    config: ArchitectConfig
    bounds: SizeBounds
    every: int


class Schedule:
    """The baseline the controller must beat: grow every ``every`` updates, whatever the loss."""

    def __init__(self, every: int) -> None:
        self.every = every
        self.steps = 0

    def update(self, loss: float) -> Decision:
        self.steps += 1
        grow = self.steps % self.every == 0
        action: Literal["grow", "hold"] = "grow" if grow else "hold"
        reason = f"every {self.every} updates" if grow else "waiting for the schedule"
        return Decision(self.steps, action, reason, loss, loss, 0.0, 0.0, 0.0, 0.0)

    def state(self) -> dict[str, Any]:
        return {"every": self.every, "steps": self.steps}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Schedule:
        schedule = cls(int(state["every"]))
        schedule.steps = int(state["steps"])
        return schedule


class Architect:
    """Grows and shrinks the owner's network between updates.

    Args:
        settings: what the graph asked for.
        owner: the network's owner; changes go through it so every holder follows.
        sample: recent network inputs, one row per scene instance (narrowing measures each
            neuron's spread on them; removing a layer refits the next one on them).
        tracks: the metric the decision follows, positive, lower is better (the scene's error
            when it has one, else the trainer's value loss or loss).
        seed: seeds the random stream new neurons are drawn from.
    """

    def __init__(
        self,
        settings: GrowthSettings,
        owner: NetworkOwner,
        sample: Callable[[], torch.Tensor],
        *,
        tracks: str,
        seed: int,
    ) -> None:
        self.settings = settings
        self.owner = owner
        self.sample = sample
        self.tracks = tracks
        self.generator = torch.Generator().manual_seed(seed)
        self.controller: Controller | Schedule = (
            Controller(settings.config) if settings.mode == "kalman" else Schedule(settings.every)
        )
        #: Each change: update, action, reason and what was done (a network file keeps them).
        self.changes: list[dict[str, Any]] = []
        self._updates = 0

    def after_update(self, metrics: Metrics) -> NetworkChange | None:
        """Decide on this update's error; change the network when the decision says so.

        Adds ``architect/*`` (the track, the decision, the parameter count) to ``metrics``.
        An update without a usable error (no episode ended, a zero error) is left out of the
        track rather than guessed.
        """
        self._updates += 1
        metrics["architect/parameters"] = float(self.owner.parameters)
        value = metrics.get(self.tracks)
        loss = float(value) if value is not None else math.nan
        if not (math.isfinite(loss) and loss > 0.0):
            return None
        decision = self.controller.update(loss)
        metrics.update(decision.metrics())
        if decision.action == "hold":
            return None
        try:
            with torch.no_grad():
                surgery = resize(
                    self.owner.architecture,
                    self.owner.module,
                    decision.action,
                    bounds=self.settings.bounds,
                    inputs=self.sample().detach(),
                    generator=self.generator,
                )
        except ValueError as exc:  # e.g. too few sample rows to refit a layer on
            self._note(decision, f"could not {decision.action}: {exc}")
            return None
        if surgery is None:
            self._note(decision, f"at its size bound: no {decision.action}")
            return None
        change = self.owner.replace(
            surgery.architecture, surgery.module, surgery.state_map, surgery.description
        )
        self._note(decision, surgery.description)
        return change

    def _note(self, decision: Decision, done: str) -> None:
        self.changes.append(
            {
                "update": self._updates,
                "action": decision.action,
                "reason": decision.reason,
                "done": done,
                "hidden": hidden_widths(self.owner.architecture),
                "parameters": self.owner.parameters,
            }
        )

    # -- checkpoints ------------------------------------------------------------------------

    def state(self) -> tuple[dict[str, Any], torch.Tensor]:
        """JSON-ready state and the random stream's state (a tensor, for the checkpoint)."""
        data = {
            "controller": self.controller.state(),
            "changes": self.changes,
            "updates": self._updates,
        }
        return data, self.generator.get_state()

    def load_state(self, data: dict[str, Any], rng: torch.Tensor) -> None:
        """Continue from :meth:`state` (the owner already holds the checkpoint's network)."""
        saved = data["controller"]
        self.controller = (
            Controller.from_state(saved)
            if self.settings.mode == "kalman"
            else Schedule.from_state(saved)
        )
        self.changes = [dict(change) for change in data["changes"]]
        self._updates = int(data["updates"])
        self.generator.set_state(rng)
