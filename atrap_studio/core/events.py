"""Run events and the observer seam between the runtime and whoever watches it.

The runtime emits; the CLI's progress bar, the metrics file and (later) the editor's docks
subscribe. Events are plain data so they can cross threads and processes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

EventKind = Literal[
    "started",  # data: steps, seed, outcome (how episodes are judged), resumed_from
    "step",  # data: metrics {slash/namespaced: float}, env_steps
    "episode",  # data: an evaluation summary (episodes, success_rate, median_<score> ...)
    "checkpoint",  # data: path
    "snapshot",  # data: scene (ArmSnapshot...), network (NetworkSnapshot): what views draw
    "architecture",  # data: action, reason, description, hidden, parameters, revision
    "paused",
    "resumed",
    "finished",  # data: reason, summary metrics, network path
    "error",  # data: message, checkpoint (last good one, if any)
]


@dataclass(frozen=True)
class Event:
    """Something that happened during a run, at training step ``step``."""

    kind: EventKind
    step: int
    data: dict[str, Any] = field(default_factory=dict)


Observer = Callable[[Event], None]


class EventBus:
    """Fan-out of events to observers; subscribing and emitting are thread-safe.

    Observers run on the emitting thread (the training thread): a GUI observer must hand the
    event over to its own thread (a queued signal) rather than touch widgets here.
    """

    def __init__(self) -> None:
        self._observers: list[Observer] = []
        self._lock = threading.Lock()

    def subscribe(self, observer: Observer) -> Callable[[], None]:
        """Add an observer; returns a function that removes it again."""
        with self._lock:
            self._observers.append(observer)

        def unsubscribe() -> None:
            with self._lock:
                if observer in self._observers:
                    self._observers.remove(observer)

        return unsubscribe

    def emit(self, event: Event) -> None:
        with self._lock:
            observers = list(self._observers)
        for observer in observers:
            observer(event)
