"""How fast the neuron view redraws as snapshots stream in, against its goals.

A redraw is what training causes: a new snapshot of the same architecture is pushed into the
view (quantity values, colours, the top-k link selection), the 3D view is painted
(``gl.repaint()``) and the loop waits until the window has shown it (``frameSwapped``), then lets
the labels and slider repaint. The view is 800x600, a generous dock. Synthetic networks with
random weights:

* 1,000 neurons / ~100,000 weights, the strongest 5,000 links drawn: goal 30 redraws/s;
* 10,000 neurons / ~1,000,000 weights, the strongest 10,000 links drawn: goal 15 redraws/s;
* for comparison, the naive way (one line item per link) on 271 neurons / ~18,000 links.

Run it under Xvfb (Mesa's software OpenGL, as in CI):

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \
        .venv/bin/python benchmarks/neuron_view.py [--seconds 2.5] [--no-naive]
        [--naive-layers 15 128 128]
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_PREFERRED_BINDING", "PySide6")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PySide6 import QtCore, QtWidgets

from atrap_studio.runtime.snapshots import NetworkSnapshot
from atrap_studio.ui.views.neuron_view import QtNeuronView, layout

SMALL = (104, 112, 112, 112, 112, 112, 112, 112, 112)  # 1,000 neurons, 99,456 weights
LARGE = (5000, 100, 4900)  # 10,000 neurons, 990,000 weights (an autoencoder's shape)
NAIVE = (15, 128, 128)  # 271 neurons, 18,304 weights
VIEW_SIZE = (800, 600)


def synthetic(sizes: tuple[int, ...], seed: int) -> NetworkSnapshot:
    """A snapshot of a random network of these layer sizes."""
    rng = np.random.default_rng(seed)
    weights = tuple(
        (rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).astype(np.float32)
        for n_in, n_out in itertools.pairwise(sizes)
    )
    biases = tuple((0.1 * rng.standard_normal(n)).astype(np.float32) for n in sizes[1:])
    activations = tuple(np.tanh(rng.standard_normal(n)).astype(np.float32) for n in sizes)
    return NetworkSnapshot(tuple(sizes), weights, biases, activations, 0)


def _app() -> QtWidgets.QApplication:
    # as the editor does: pyqtgraph's shader programs are shared by every view's context
    QtCore.QCoreApplication.setAttribute(QtCore.Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    assert isinstance(app, QtWidgets.QApplication)
    return app


def _shown(view: QtWidgets.QWidget) -> None:
    """Show a view and wait until it is on screen: an unexposed widget paints nothing."""
    from PySide6 import QtTest

    view.resize(*VIEW_SIZE)
    view.show()
    if not QtTest.QTest.qWaitForWindowExposed(view, 5000):
        raise RuntimeError("the view never appeared on screen (is an X server running?)")
    QtTest.QTest.qWait(50)


def _dispose(app: QtWidgets.QApplication, view: QtWidgets.QWidget) -> None:
    """Close a view and delete it now. ``deleteLater`` alone waits for an event loop that this
    script never runs, so the view would live until QApplication's destructor, which crashes
    (SIGSEGV in QWindowContainer::toplevelAboutToBeDestroyed) on the neuron view's GL window."""
    view.close()
    view.deleteLater()
    app.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    app.processEvents()


def measure(sizes: tuple[int, ...], top_k: int, seconds: float = 2.5) -> float:
    """Redraws per second of a :class:`QtNeuronView` fed snapshots of a random network: each
    redraw pushes a new snapshot (same architecture) and waits until the window has shown it
    (its frame swapped), as the editor's event loop would paint it."""
    app = _app()
    snaps = [synthetic(sizes, seed) for seed in range(4)]  # cycled: each push is new work
    view = QtNeuronView(top_k=top_k)
    _shown(view)
    swapped = [0]
    view.gl.frameSwapped.connect(lambda: swapped.__setitem__(0, swapped[0] + 1))

    def redraw(step: int) -> None:
        before = swapped[0]
        view.show_snapshot(step, snaps[step % len(snaps)])
        view.gl.repaint()
        while swapped[0] == before:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)
        app.processEvents()  # the labels' and slider's repaint

    try:
        for step in range(3):  # warm up: layout, buffers, shader compilation
            redraw(step)
        frames, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            redraw(3 + frames)
            frames += 1
        return frames / (time.perf_counter() - start)
    finally:
        _dispose(app, view)


def measure_naive(sizes: tuple[int, ...], seconds: float = 5.0, frames: int = 3) -> float:
    """The same network drawn the naive way, one line item per link, each recoloured per frame
    (capped to a few frames: it is that slow)."""
    import pyqtgraph.opengl as pgl

    app = _app()
    snap = synthetic(sizes, 0)
    positions = layout(tuple(sizes)).positions
    offsets = np.cumsum((0, *sizes))
    view = pgl.GLViewWidget()
    _shown(view)
    items = []
    for i, w in enumerate(snap.weights):
        for out, inn in np.ndindex(*w.shape):
            ends = positions[[offsets[i] + inn, offsets[i + 1] + out]]
            items.append(pgl.GLLinePlotItem(pos=ends, color=(1.0, 0.55, 0.12, 1.0)))
            view.addItem(items[-1])
    magnitudes = np.abs(np.concatenate([w.ravel() for w in snap.weights]))
    try:
        view.repaint()  # warm up: every item uploads its buffers
        drawn, start = 0, time.perf_counter()
        while drawn < frames and time.perf_counter() - start < seconds:
            strength = magnitudes / magnitudes.max() * (0.9 + 0.1 * (drawn % 2))
            for item, value in zip(items, strength.tolist(), strict=True):
                item.setData(color=(1.0, 0.55, 0.12, value))
            view.repaint()
            app.processEvents()
            drawn += 1
        return drawn / (time.perf_counter() - start)
    finally:
        _dispose(app, view)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.5, help="measuring time per case")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive baseline")
    parser.add_argument(
        "--naive-layers",
        type=int,
        nargs="+",
        default=list(NAIVE),
        help="layer sizes of the naive baseline's network",
    )
    args = parser.parse_args()
    _app()
    cases = [("1k neurons", SMALL, 5000, 30.0), ("10k neurons", LARGE, 10000, 15.0)]
    print(
        f"{'network':<14}{'neurons':>9}{'weights':>11}{'links':>8}{'redraws/s':>11}"
        f"{'goal':>7}{'ratio':>8}"
    )
    for name, sizes, k, goal in cases:
        fps = measure(sizes, k, args.seconds)
        weights = sum(a * b for a, b in itertools.pairwise(sizes))
        print(
            f"{name:<14}{sum(sizes):>9,}{weights:>11,}{k:>8,}{fps:>11.1f}{goal:>7.0f}"
            f"{fps / goal:>7.2f}x",
            flush=True,
        )
    if not args.no_naive:
        naive = tuple(args.naive_layers)
        weights = sum(a * b for a, b in itertools.pairwise(naive))
        fps = measure_naive(naive)
        print(
            f"{'naive':<14}{sum(naive):>9,}{weights:>11,}{weights:>8,}{fps:>11.2f}"
            f"{'':>7}{'':>8}  (one item per link, for comparison)"
        )


if __name__ == "__main__":
    main()
