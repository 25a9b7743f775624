"""What the neuron view shows, computed from snapshots without Qt or OpenGL.

Per-neuron values of each quantity and the strongest links, shared by the live 3-D view and the
headless pictures (which must work where there is no OpenGL).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from atrap_studio.runtime.snapshots import NetworkSnapshot

QUANTITIES = ("weights", "bias", "activation", "change")


@dataclass(eq=False)
class Record:
    """One recorded snapshot and what was derived from it (each computed once, when needed)."""

    step: int
    snap: NetworkSnapshot
    nbytes: int
    previous_mean_in: np.ndarray | None = None  # the snapshot before's, for "change"
    _mean_in: np.ndarray | None = field(default=None, repr=False)
    _links: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self.snap.sizes)

    def mean_in(self) -> np.ndarray:
        """Mean |incoming weight| per neuron; NaN for inputs, which have none."""
        if self._mean_in is None:
            magnitudes = [np.abs(np.asarray(w, np.float32)) for w in self.snap.weights]
            self._mean_in = self._means(magnitudes)
        return self._mean_in

    def _means(self, magnitudes: list[np.ndarray]) -> np.ndarray:
        parts = [np.full(self.sizes[0] if self.sizes else 0, np.nan, np.float32)]
        parts += [m.mean(axis=1, dtype=np.float32) for m in magnitudes]
        return _fit(parts, self.sizes)

    def values(self, quantity: str) -> np.ndarray:
        """One value per neuron (N,) float32, NaN where the quantity does not apply."""
        sizes = self.sizes
        if quantity == "weights":
            return self.mean_in()
        if quantity == "bias":
            nan = np.full(sizes[0] if sizes else 0, np.nan, np.float32)
            return _fit([nan, *self.snap.biases], sizes)
        if quantity == "activation":
            return _fit(list(self.snap.activations), sizes)
        if quantity == "change":
            if self.previous_mean_in is None:
                return np.full(sum(sizes), np.nan, np.float32)
            change: np.ndarray = np.abs(self.mean_in() - self.previous_mean_in)
            return change
        raise ValueError(f"unknown quantity {quantity!r}; choose one of {', '.join(QUANTITIES)}")

    def links(self, k: int, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The k links of largest |weight| in the whole network, weakest first (so the strongest
        are drawn on top): source and destination neuron indices and the signed weights.
        Cached for the last k asked; computes :meth:`mean_in` on the way, from the same |w|."""
        if self._links is not None and self._links[0] == k:
            return self._links[1], self._links[2], self._links[3]
        weights = [np.asarray(w, np.float32) for w in self.snap.weights]
        starts = np.cumsum([0] + [w.size for w in weights]).astype(np.int64)
        total = int(starts[-1])
        magnitude = _scratch(total)
        for w, begin in zip(weights, starts[:-1], strict=False):
            np.abs(w.reshape(-1), out=magnitude[begin : begin + w.size])
        if self._mean_in is None:
            self._mean_in = self._means(
                [magnitude[a:b].reshape(w.shape) for w, a, b in _spans(weights, starts)]
            )
        chosen = top_indices(magnitude, k)
        chosen = chosen[np.argsort(magnitude[chosen], kind="stable")]
        layer = np.searchsorted(starts, chosen, side="right") - 1
        local = chosen - starts[layer]
        signed = np.empty(len(chosen), np.float32)
        src = np.empty(len(chosen), np.int64)
        dst = np.empty(len(chosen), np.int64)
        for i, w in enumerate(weights):
            mine = layer == i
            if not mine.any():
                continue
            out, inn = np.divmod(local[mine], w.shape[1])
            signed[mine] = w.reshape(-1)[local[mine]]
            src[mine] = offsets[i] + inn
            dst[mine] = offsets[i + 1] + out
        self._links = (k, src, dst, signed)
        return src, dst, signed


def neuron_values(
    snap: NetworkSnapshot, quantity: str, previous: NetworkSnapshot | None = None
) -> list[np.ndarray]:
    """One (size,) float32 array per layer, inputs first: the quantity the view colours by
    (NaN where it does not apply; "change" needs the ``previous`` snapshot, else it is NaN)."""
    record = Record(0, snap, 0)
    if previous is not None and tuple(previous.sizes) == record.sizes:
        record.previous_mean_in = Record(0, previous, 0).mean_in()
    values = record.values(quantity)
    return [values[a:b] for a, b in itertools.pairwise(np.cumsum((0, *record.sizes)))]


_SCRATCH: list[np.ndarray] = [np.zeros(0, np.float32)]


def _scratch(size: int) -> np.ndarray:
    """A reused float32 buffer (GUI thread only): |w| of a big network is megabytes a frame."""
    if _SCRATCH[0].size < size:
        _SCRATCH[0] = np.empty(size, np.float32)
    return _SCRATCH[0][:size]


def _spans(weights: list[np.ndarray], starts: np.ndarray) -> list[tuple[np.ndarray, int, int]]:
    return [(w, int(starts[i]), int(starts[i + 1])) for i, w in enumerate(weights)]


def top_indices(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest values, in no order. For large arrays, a threshold from a
    sample first keeps only the likely candidates, then ``argpartition`` ranks those: several
    times faster than ranking a million weights, and exact (it falls back if the sample was
    unlucky)."""
    n = values.size
    k = max(0, min(int(k), n))
    if k == 0:
        return np.zeros(0, np.int64)
    if k == n:
        return np.arange(n, dtype=np.int64)
    if n > 100_000 and k < n // 10:
        sample = values[:: n // 20_000]
        m = sample.size
        rank = min(m - 1, math.ceil(1.5 * k / n * m) + 16)  # aim at about 1.5 k candidates
        threshold = np.partition(sample, m - 1 - rank)[m - 1 - rank]
        above = np.flatnonzero(values >= threshold)
        if above.size >= k:  # then the k largest are all among them
            ranked = values[above]
            chosen: np.ndarray = above[np.argpartition(ranked, ranked.size - k)[ranked.size - k :]]
            return chosen
    return np.argpartition(values, n - k)[n - k :].astype(np.int64, copy=False)


def _fit(parts: list[np.ndarray], sizes: tuple[int, ...]) -> np.ndarray:
    """Concatenate per-layer values; a layer missing or of the wrong length is NaN."""
    fitted = []
    for layer, count in enumerate(sizes):
        part = parts[layer] if layer < len(parts) else None
        if part is not None and np.size(part) == count:
            fitted.append(np.asarray(part, np.float32).reshape(-1))
        else:
            fitted.append(np.full(count, np.nan, np.float32))
    return np.concatenate(fitted) if fitted else np.zeros(0, np.float32)
