"""Colour maps for the views: an infrared-camera palette and a robust scaling into it.

Views colour thousands of points per frame, so both functions are vectorised: the palette is a
256-entry lookup table built once, and scaling is a percentile range and one clip.
"""

from __future__ import annotations

import numpy as np

# Infrared-camera stops: cold is black, then purple, red, orange, yellow and white-hot.
_STOPS = np.array([0.0, 0.18, 0.42, 0.64, 0.84, 1.0])
_STOP_RGB = np.array(
    [
        [0.00, 0.00, 0.00],  # black
        [0.36, 0.04, 0.56],  # purple
        [0.86, 0.08, 0.22],  # red
        [1.00, 0.48, 0.02],  # orange
        [1.00, 0.86, 0.12],  # yellow
        [1.00, 1.00, 1.00],  # white
    ]
)
LUT_SIZE = 256
_LUT = np.ones((LUT_SIZE, 4), np.float32)
_LUT[:, :3] = np.stack(
    [np.interp(np.linspace(0.0, 1.0, LUT_SIZE), _STOPS, _STOP_RGB[:, c]) for c in range(3)],
    axis=1,
)
# Values that are not defined (an input neuron has no bias) are drawn in this neutral grey.
UNDEFINED = np.array([0.42, 0.44, 0.48, 1.0], np.float32)


def infrared(values: np.ndarray) -> np.ndarray:
    """Colours for values in [0, 1] as (n, 4) float32 RGBA; outside values clip, NaN is grey."""
    v = np.asarray(values, np.float32).reshape(-1)
    finite = np.isfinite(v)
    index = np.rint(np.clip(np.where(finite, v, 0.0), 0.0, 1.0) * (LUT_SIZE - 1)).astype(np.intp)
    colours: np.ndarray = _LUT[index]
    if not finite.all():
        colours[~finite] = UNDEFINED
    return colours


def robust_range(values: np.ndarray) -> tuple[float, float]:
    """The 1st to 99th percentile of the finite values (so one outlier does not wash out the
    rest); the full min-max where that range is empty (a lone outlier among equal values stays
    visible). (nan, nan) when there is no finite value."""
    v = np.asarray(values, np.float64).reshape(-1)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.percentile(v, [1.0, 99.0])
    if not _spread(lo, hi):
        lo, hi = v.min(), v.max()
    return float(lo), float(hi)


def normalise(values: np.ndarray) -> np.ndarray:
    """Scale values into [0, 1] over their :func:`robust_range`, clipping beyond it; constant
    input maps to 0.5 and NaN stays NaN (float32, the input's shape)."""
    v = np.asarray(values, np.float32)
    lo, hi = robust_range(v)
    if not np.isfinite(lo):
        return np.full(v.shape, np.nan, np.float32)
    if not _spread(lo, hi):
        return np.where(np.isfinite(v), np.float32(0.5), np.float32(np.nan)).astype(np.float32)
    scaled = (v.astype(np.float64) - lo) / (hi - lo)  # exact at the ends: hi maps to 1.0
    clipped: np.ndarray = np.clip(scaled, 0.0, 1.0).astype(np.float32)
    return clipped


def gradient_rgb(width: int) -> np.ndarray:
    """The palette as one (width, 3) uint8 row, cold to hot, for legends."""
    colours = infrared(np.linspace(0.0, 1.0, max(width, 1)))
    return np.ascontiguousarray((colours[:, :3] * 255.0 + 0.5).astype(np.uint8))


def _spread(lo: float, hi: float) -> bool:
    return bool(hi - lo > 1e-12 * max(1.0, abs(lo), abs(hi)))
