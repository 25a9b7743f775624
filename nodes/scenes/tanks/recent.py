"""The watched arena's last steps, kept so that the Scene dock can play the fight smoothly.

A run answers the views' snapshot requests only between two updates, and an update of the
tank examples steps every arena 32 times, so a snapshot of the state alone shows one moment a
second: a slide show. Once the views have asked for an arena, the arena keeps that one
arena's state after each step (a few small copies, nothing while nobody watches), and the
next snapshot carries the steps since the last one for the view to play in order.
"""

from __future__ import annotations

import torch
from torch import Tensor

#: Most steps one snapshot carries (6.4 s of a fight; an update of the examples takes 32).
RECENT = 64
#: The per-arena tensors a step is drawn from.
RECORDED = ("pillars", "position", "heading", "health", "shell", "shell_alive", "t")


class Recorder:
    """A ring of the watched arena's last :data:`RECENT` states."""

    def __init__(self) -> None:
        #: The arena recorded (the one the views last asked for), or None before any request.
        self.watched: int | None = None
        self._ring: dict[str, Tensor] = {}
        self._next = 0  # the ring's slot for the next step
        self._new = 0  # steps recorded since the last take

    def record(self, state: dict[str, Tensor]) -> None:
        """Keep the watched arena's row of each of ``state``'s tensors (after a step)."""
        if self.watched is None:
            return
        slot = self._next % RECENT
        for name, tensor in state.items():
            ring = self._ring.get(name)
            if ring is None:
                ring = torch.zeros((RECENT, *tensor.shape[1:]), dtype=tensor.dtype)
                self._ring[name] = ring
            ring[slot] = tensor[self.watched]
        self._next += 1
        self._new = min(self._new + 1, RECENT)

    def take(self, watched: int) -> dict[str, Tensor] | None:
        """The steps of arena ``watched`` since the last take, oldest first, (K, ...) each;
        None when there are none (the first request, or another arena than before). From now
        on ``watched`` is the arena recorded."""
        frames = None
        if watched == self.watched and self._new:
            order = torch.arange(self._next - self._new, self._next) % RECENT
            frames = {name: ring[order] for name, ring in self._ring.items()}
        if watched != self.watched:
            self.watched = watched
        self._new = 0
        return frames

    def forget(self) -> None:
        """Drop what was recorded (the arenas were replaced, e.g. from a checkpoint)."""
        self._new = 0
