"""The metrics of one run as growing columns: what the curves dock plots and exports.

Plain Python and numpy, no Qt, so it can be tested and filled anywhere. A run logs a few
values every ``log_every`` updates for hours, so appends must stay cheap: each key's series
lives in arrays that double when full, and reading a series hands out views, not copies.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from atrap_studio.core.yaml_io import write_text_atomic

INITIAL_CAPACITY = 256

_revisions = itertools.count(1)


class _Series:
    """One key's (step, value) pairs; steps strictly increase."""

    def __init__(self) -> None:
        self.steps = np.empty(INITIAL_CAPACITY, dtype=np.float64)
        self.values = np.empty(INITIAL_CAPACITY, dtype=np.float64)
        self.size = 0
        self.revision = next(_revisions)

    def append(self, step: int, value: float) -> None:
        if self.size and self.steps[self.size - 1] == step:
            self.values[self.size - 1] = value  # a second report for the same step wins
        else:
            if self.size == len(self.steps):
                self.steps = _grown(self.steps)
                self.values = _grown(self.values)
            self.steps[self.size] = step
            self.values[self.size] = value
            self.size += 1
        self.revision = next(_revisions)

    def truncate(self, step: int) -> None:
        """Drop the points at ``step`` and later."""
        size = int(np.searchsorted(self.steps[: self.size], step, side="left"))
        if size != self.size:
            self.size = size
            self.revision = next(_revisions)


def _grown(array: np.ndarray) -> np.ndarray:
    bigger = np.empty(len(array) * 2, dtype=array.dtype)
    bigger[: len(array)] = array
    return bigger


def _read_only(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


class MetricStore:
    """Every logged metric of a run, by training step, plus markers (checkpoints, ...).

    A step lower than the last one means a resumed run went back to an earlier checkpoint:
    the points (and markers) from that step on belong to the abandoned branch and are dropped.
    """

    def __init__(self) -> None:
        self._series: dict[str, _Series] = {}
        self._steps = _Series()  # the distinct steps; its values are unused
        self.markers: list[tuple[int, str]] = []
        #: Bumped by every change, so a view can skip redrawing when nothing changed.
        self.revision = 0

    def add(self, step: int, metrics: Mapping[str, float]) -> None:
        """Append the metrics logged at ``step``; non-finite values are kept as NaN."""
        if self._steps.size and step < self._steps.steps[self._steps.size - 1]:
            self.truncate(step)
        self._steps.append(step, 0.0)
        for key, raw in metrics.items():
            value = float(raw)
            if not math.isfinite(value):
                value = math.nan
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = _Series()
            series.append(step, value)
        self.revision += 1

    def truncate(self, step: int) -> None:
        """Forget the points and markers from ``step`` on."""
        for series in (self._steps, *self._series.values()):
            series.truncate(step)
        self.markers = [m for m in self.markers if m[0] < step]
        self.revision += 1

    def keys(self) -> list[str]:
        """The metric keys in the order they first appeared."""
        return list(self._series)

    def series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, values)`` of ``key`` as float64 read-only views (empty when unknown).

        The views are valid until the next change of the store: copy them to keep them.
        """
        series = self._series.get(key)
        if series is None:
            return np.empty(0, dtype=np.float64), np.empty(0, dtype=np.float64)
        return _read_only(series.steps[: series.size]), _read_only(series.values[: series.size])

    def series_revision(self, key: str) -> int:
        """Changes whenever ``key``'s series changes (0 for an unknown key)."""
        series = self._series.get(key)
        return series.revision if series is not None else 0

    def steps(self) -> np.ndarray:
        """Every distinct step that has metrics, ascending (a read-only view)."""
        return _read_only(self._steps.steps[: self._steps.size])

    def add_marker(self, step: int, label: str) -> None:
        """Mark a moment of the run (a checkpoint, an architecture change) on every plot."""
        self.markers.append((step, label))
        self.revision += 1

    def clear(self) -> None:
        self._series.clear()
        self._steps = _Series()
        self.markers = []
        self.revision += 1

    def __len__(self) -> int:
        return self._steps.size

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """One row per step, one column per key (empty where a key has no value at that step).

        Written to a temporary file first and moved into place, so a crash never leaves half a
        file where a good one was.
        """
        steps = self.steps()
        keys = self.keys()
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["step", *keys])
        columns: list[list[str]] = []
        for key in keys:
            key_steps, values = self.series(key)
            column = [""] * len(steps)
            for row, value in zip(np.searchsorted(steps, key_steps), values, strict=True):
                column[int(row)] = repr(float(value))
            columns.append(column)
        for row, step in enumerate(steps):
            writer.writerow([int(step), *(column[row] for column in columns)])
        write_text_atomic(buffer.getvalue(), Path(path))
