"""The neuron view: the network in 3D, one plane per layer, each neuron a point coloured like an
infrared camera by a chosen quantity, and the strongest links as lines.

It draws :class:`~atrap_studio.runtime.snapshots.NetworkSnapshot` s (plain numpy arrays; this
module never imports torch) and keeps the last few hundred, so the user can scrub back and see
the network as it was at an earlier update.

Speed is the design constraint (Mesa's software renderer draws it on ordinary machines): all
neurons are ONE scatter item and all links ONE line item, updated in place with colour arrays;
the top-k links are chosen once per snapshot (a sampled threshold, then ``argpartition``), not
per frame; lines are thin, opaque and not antialiased; a snapshot arriving while the view is
hidden is only recorded, and drawn when it shows. ``benchmarks/neuron_view.py`` measures it.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph.opengl as pgl
from OpenGL import GL
from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.ui.plain_words import Meanings
from atrap_studio.ui.views.colormaps import gradient_rgb, infrared, normalise, robust_range
from atrap_studio.ui.views.gl_window import GLViewWindow
from atrap_studio.ui.views.neuron_data import QUANTITIES, Record

if TYPE_CHECKING:
    from atrap_studio.runtime.snapshots import NetworkSnapshot

DESCRIPTIONS = {
    "weights": "mean |incoming weight|",
    "bias": "bias",
    "activation": "activation on the shown instance",
    "change": "|change| of mean |incoming weight| since the previous snapshot",
}
BACKGROUND = (26, 30, 38)  # dark slate, so that cold (black) neurons still show
_BACKGROUND_RGB = np.array(BACKGROUND, np.float32) / 255.0
WARM = np.array([1.0, 0.55, 0.12], np.float32)  # positive weights
COOL = np.array([0.2, 0.62, 1.0], np.float32)  # negative weights
PLANE = 10.0  # the widest a layer's grid gets, in scene units
LAYER_GAP = 8.0  # between layer planes
COLUMN_MAX = 16  # layers this small are a column, larger ones a square-ish grid
PICK_PX = 6.0  # how near the pointer must be to a neuron to name it
MAX_BYTES = 64 * 2**20  # history also stops at this much snapshot data (big networks)
FOV = 35.0  # degrees across: narrow, so the near end of the network does not balloon
AZIMUTH, ELEVATION = -58.0, 16.0  # the camera looks at the layer planes from the side, aslant
FRAME = 0.92  # the network fills this much of the view when framed
CAMERA_EVENTS = (  # what orbits, pans or zooms a GLViewWidget
    QtCore.QEvent.Type.MouseButtonPress,
    QtCore.QEvent.Type.Wheel,
    QtCore.QEvent.Type.KeyPress,
)
# links: no depth test and no blending (drawn in order, weakest first), the cheapest lines
LINE_OPTIONS = {GL.GL_DEPTH_TEST: False, GL.GL_BLEND: False, GL.GL_CULL_FACE: False}


@dataclass(frozen=True)
class Layout:
    """Where each neuron sits: layers are planes along x, neurons a grid in y (across) and z."""

    sizes: tuple[int, ...]
    positions: np.ndarray  # (N, 3) float32
    offsets: np.ndarray  # (layers + 1,) index of each layer's first neuron, then N
    centre: np.ndarray  # (3,) middle of the bounding box
    radius: float  # half its diagonal
    point_size: float  # pixels: smaller points for bigger networks


def layout(sizes: tuple[int, ...]) -> Layout:
    """Lay the layers out: small layers as a column, large ones as a square-ish grid."""
    blocks = []
    for layer, count in enumerate(sizes):
        if count <= COLUMN_MAX:
            cols, rows = 1, count
            spacing = min(1.0, PLANE / max(count - 1, 1))
            row, col = np.arange(count), np.zeros(count)
        else:
            cols = math.ceil(math.sqrt(count))
            rows = math.ceil(count / cols)
            spacing = min(1.0, PLANE / max(cols - 1, 1))
            row, col = np.divmod(np.arange(count), cols)
        block = np.empty((count, 3), np.float32)
        block[:, 0] = layer * LAYER_GAP
        block[:, 1] = (col - (cols - 1) / 2) * spacing
        block[:, 2] = ((rows - 1) / 2 - row) * spacing
        blocks.append(block)
    positions = np.concatenate(blocks) if blocks else np.zeros((0, 3), np.float32)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    if len(positions):
        low, high = positions.min(axis=0), positions.max(axis=0)
    else:
        low = high = np.zeros(3, np.float32)
    total = max(len(positions), 1)
    size = float(np.clip(16.0 - 3.0 * math.log10(total), 3.0, 10.0))
    radius = max(float(np.linalg.norm(high - low)) / 2, 1.0)
    return Layout(sizes, positions, offsets, (low + high) / 2, radius, size)


def layer_name(layer: int, layers: int) -> str:
    if layer == 0:
        return "input"
    return "output" if layer == layers - 1 else f"hidden {layer}"


def neuron_words(layer: int, index: int, layers: int, meanings: Meanings) -> str:
    """A neuron as a person names it, counting from 1: ``input 8: Target position · value,
    value 2 of 3``, ``hidden layer 1, neuron 17``, ``output 4: Joint targets · values…``."""
    if 0 < layer < layers - 1:
        return f"hidden layer {layer}, neuron {index + 1}"
    side, slices = ("input", meanings[0]) if layer == 0 else ("output", meanings[1])
    start = 0
    for label, size in slices:
        if index < start + size:
            return f"{side} {index + 1}: {label}, value {index - start + 1} of {size}"
        start += size
    return f"{side} {index + 1}"


def link_colours(weights: np.ndarray) -> np.ndarray:
    """Per-vertex RGBA (2k, 4) for k links: warm for positive weights, cool for negative, faded
    into the background as |w| falls. Opaque, mixed here rather than blended by OpenGL:
    blending costs the software renderer a read per pixel of every line."""
    magnitude = np.abs(weights)
    top = float(magnitude.max()) if magnitude.size else 1.0
    strength = (0.15 + 0.85 * magnitude / (top if top > 0 else 1.0))[:, None]
    base = np.where((weights >= 0)[:, None], WARM, COOL)
    colours = np.ones((len(weights), 4), np.float32)
    colours[:, :3] = _BACKGROUND_RGB + (base - _BACKGROUND_RGB) * strength
    return np.repeat(colours, 2, axis=0)


class GradientBar(QtWidgets.QWidget):
    """The infrared palette, cold on the left, stretched to the space it gets."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        rgb = np.ascontiguousarray(gradient_rgb(256)[None])
        self.image = QtGui.QImage(rgb.data, 256, 1, 768, QtGui.QImage.Format.Format_RGB888).copy()
        self.setMinimumSize(36, 10)
        self.setMaximumSize(240, 12)
        self.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Preferred, QtWidgets.QSizePolicy.Policy.Fixed
        )

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(120, 10)

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        painter.drawImage(self.rect(), self.image)
        painter.end()


class ColourLegend(QtWidgets.QWidget):
    """The palette as a bar between the lowest and highest value of the shown quantity."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.minimum_label = QtWidgets.QLabel("–")
        self.maximum_label = QtWidgets.QLabel("–")
        self.bar = GradientBar()
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.minimum_label)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.maximum_label)
        self.low = self.high = float("nan")

    def set_range(self, quantity: str, low: float, high: float) -> None:
        self.low, self.high = low, high
        self.minimum_label.setText(_number(low))
        self.maximum_label.setText(_number(high))
        self.setToolTip(
            f"Neuron colour: {DESCRIPTIONS.get(quantity, quantity)}, from {_number(low)} "
            f"(black) to {_number(high)} (white); grey where it does not apply"
        )


def _number(value: float) -> str:
    return f"{value:.3g}" if math.isfinite(value) else "–"


class QtNeuronView(QtWidgets.QWidget):
    """Dock content: the 3D network, what colours the neurons, how many links, the legend, and
    a slider through the recorded snapshots ("update N"; the right end, or Live, follows)."""

    def __init__(
        self,
        parent: QtWidgets.QWidget | None = None,
        *,
        history: int = 300,
        top_k: int = 5000,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        super().__init__(parent)
        self._records: deque[Record] = deque()
        self._history = max(1, int(history))
        self._max_bytes = max_bytes
        self._bytes = 0
        self._quantity = "activation"
        #: What the input and output neurons mean (the editor sets it from the graph).
        self.meanings: Meanings = ([], [])
        self._top_k = max(0, int(top_k))
        self._pinned: Record | None = None  # the record scrubbed to; None follows the latest
        self._shown: Record | None = None
        self._stale = False  # a snapshot arrived while hidden
        self._camera_moved = False  # by the user: then resizing no longer reframes
        self._layout: Layout | None = None
        self._values = np.zeros(0, np.float32)
        self._colours = np.zeros((0, 4), np.float32)

        self.gl = GLViewWindow()
        self.gl.setBackgroundColor(BACKGROUND)
        self.gl.setMouseTracking(True)
        self.gl.installEventFilter(self)
        self.gl.setMinimumSize(120, 90)
        self._lines = pgl.GLLinePlotItem(mode="lines", width=1.0, antialias=False)
        self._lines.setGLOptions(LINE_OPTIONS)
        self._points = pgl.GLScatterPlotItem(glOptions="opaque", pxMode=True)
        for item in (self._lines, self._points):  # links first: points are drawn over them
            item.setVisible(False)
            self.gl.addItem(item)

        self.quantity_box = QtWidgets.QComboBox()
        self.quantity_box.addItems(list(QUANTITIES))
        self.quantity_box.setCurrentText(self._quantity)
        for i, name in enumerate(QUANTITIES):
            self.quantity_box.setItemData(i, DESCRIPTIONS[name], QtCore.Qt.ItemDataRole.ToolTipRole)
        self.quantity_box.setToolTip("What colours the neurons")
        self.top_k_box = QtWidgets.QSpinBox(minimum=0, maximum=2**31 - 1, singleStep=1000)
        self.top_k_box.setSuffix(" links")
        self.top_k_box.setValue(self._top_k)
        self.top_k_box.setKeyboardTracking(False)
        self.top_k_box.setToolTip("How many links to draw: those of largest |weight|")
        self.legend = ColourLegend()
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Scrub back through the recorded snapshots; the right end is live")
        self.step_label = QtWidgets.QLabel("update –")
        self.step_label.setMinimumWidth(90)
        self.live_button = QtWidgets.QToolButton(text="Live", checkable=True, checked=True)
        self.live_button.setToolTip("Follow the latest snapshot")
        fit = QtWidgets.QToolButton(text="Fit")
        fit.setToolTip("Frame the whole network again (drag to orbit, wheel to zoom)")

        bar = QtWidgets.QHBoxLayout()
        bar.addWidget(self.quantity_box)
        bar.addWidget(self.top_k_box)
        bar.addWidget(fit)
        bar.addWidget(self.legend, 1)
        scrub = QtWidgets.QHBoxLayout()
        scrub.addWidget(self.slider, 1)
        scrub.addWidget(self.step_label)
        scrub.addWidget(self.live_button)
        layout_ = QtWidgets.QVBoxLayout(self)
        layout_.setContentsMargins(2, 2, 2, 2)
        layout_.addLayout(bar)
        layout_.addWidget(self.gl.container, 1)
        layout_.addLayout(scrub)

        self.quantity_box.currentTextChanged.connect(self.set_quantity)
        self.top_k_box.valueChanged.connect(self.set_top_k)
        self.slider.valueChanged.connect(self._slider_moved)
        self.live_button.clicked.connect(self._live_clicked)
        fit.clicked.connect(lambda: self.reset_camera())

    # -- API --------------------------------------------------------------------------------

    def paint_now(self) -> None:
        """Paint at once (when on screen), so that the cost of a frame can be measured."""
        if not self.visibleRegion().isEmpty():
            self.gl.repaint()

    def show_snapshot(self, step: int, snap: NetworkSnapshot) -> None:
        """Record a snapshot and draw it, unless the user scrubbed back to an older one (GUI
        thread; the arrays are kept, not copied, so the caller must not change them later)."""
        arrays = (*snap.weights, *snap.biases, *snap.activations)
        record = Record(step, snap, sum(int(np.asarray(a).nbytes) for a in arrays))
        if self._records and self._records[-1].sizes == record.sizes:
            record.previous_mean_in = self._records[-1].mean_in()
        self._records.append(record)
        self._bytes += record.nbytes
        while len(self._records) > 2 and (
            len(self._records) > self._history or self._bytes > self._max_bytes
        ):
            self._thin_history()
        if self._pinned is None:
            self._show(record)
        else:
            self._sync_controls()

    def clear(self) -> None:
        """Forget every recorded snapshot (a new run starts from scratch)."""
        self._records.clear()
        self._bytes = 0
        self._pinned = None
        self._sync_controls()

    def _thin_history(self) -> None:
        """Drop one recorded snapshot where they lie closest together, so that the history
        keeps spanning the whole run (ever more sparsely) within its count and byte limits."""
        records = self._records
        gaps = [records[i + 1].step - records[i - 1].step for i in range(1, len(records) - 1)]
        index = 1 + int(np.argmin(gaps))
        dropped = records[index]
        del records[index]
        self._bytes -= dropped.nbytes
        if index < len(records) and records[index].sizes == records[index - 1].sizes:
            records[index].previous_mean_in = records[index - 1].mean_in()
        if dropped is self._pinned:  # it left the history: show the nearest older one
            self._pinned = records[index - 1]
            self._show(self._pinned)

    def set_quantity(self, name: str) -> None:
        if name not in QUANTITIES:
            raise ValueError(f"unknown quantity {name!r}; choose one of {', '.join(QUANTITIES)}")
        self._quantity = name
        if self.quantity_box.currentText() != name:
            with QtCore.QSignalBlocker(self.quantity_box):
                self.quantity_box.setCurrentText(name)
        self._redraw()

    def quantity(self) -> str:
        return self._quantity

    def set_top_k(self, k: int) -> None:
        self._top_k = max(0, int(k))
        if self.top_k_box.value() != self._top_k:
            with QtCore.QSignalBlocker(self.top_k_box):
                self.top_k_box.setValue(self._top_k)
        self._redraw()

    def top_k(self) -> int:
        return self._top_k

    def scrub_to(self, index: int) -> None:
        """Show recorded snapshot ``index`` (0 = oldest) and stay on it as new ones arrive."""
        if not self._records:
            return
        index = min(max(int(index), 0), len(self._records) - 1)
        self._pinned = self._records[index]
        self._show(self._pinned)

    def follow_latest(self) -> None:
        """Back to live: draw the latest snapshot and each new one."""
        self._pinned = None
        if self._records:
            self._show(self._records[-1])
        else:
            self._sync_controls()

    def following(self) -> bool:
        return self._pinned is None

    def recorded_steps(self) -> list[int]:
        return [r.step for r in self._records]

    def shown_step(self) -> int | None:
        return self._shown.step if self._shown is not None else None

    def neuron_colours(self) -> np.ndarray:
        """(total neurons, 4) RGBA of the neurons as drawn."""
        self._refresh()
        return self._colours.copy()

    def neuron_values(self) -> np.ndarray:
        """(total neurons,) values of the shown quantity behind those colours (NaN: none)."""
        self._refresh()
        return self._values.copy()

    def drawn_links(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The links drawn: source and destination neuron indices and their weights."""
        self._refresh()
        if self._shown is None or self._layout is None:
            empty = np.zeros(0, np.int64)
            return empty, empty, np.zeros(0, np.float32)
        return self._shown.links(self._top_k, self._layout.offsets)

    def neuron_layout(self) -> Layout | None:
        """Where the neurons are drawn (None before the first snapshot)."""
        return self._layout

    def neuron_at(self, pos: QtCore.QPoint | QtCore.QPointF) -> tuple[int, int] | None:
        """(layer, index) of the neuron drawn nearest a point of ``gl`` (within a few pixels)."""
        self._refresh()
        if self._layout is None or not len(self._layout.positions):
            return None
        screen, visible = self.project(self._layout.positions)
        d2 = ((screen - np.array([pos.x(), pos.y()])) ** 2).sum(axis=1)
        d2[~visible] = np.inf
        best = int(np.argmin(d2))
        reach = max(PICK_PX, self._layout.point_size / 2 + 2)
        if d2[best] > reach**2:
            return None
        layer = int(np.searchsorted(self._layout.offsets, best, side="right") - 1)
        return layer, best - int(self._layout.offsets[layer])

    def project(
        self, points: np.ndarray, size: tuple[int, int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pixels (n, 2) of scene points (n, 3) in ``gl`` (or a picture of ``size``), and which
        lie in front of the camera."""
        width, height = size if size is not None else (self.gl.width(), self.gl.height())
        region = (0, 0, max(width, 1), max(height, 1))
        homogeneous = np.hstack([points, np.ones((len(points), 1))])
        clip = homogeneous @ self.gl.mvp((width, height)).T
        w = clip[:, 3]
        visible = w > 1e-9
        ndc = clip[:, :2] / np.where(visible, w, 1.0)[:, None]
        screen = np.empty((len(points), 2))
        screen[:, 0] = (ndc[:, 0] + 1) / 2 * region[2]
        screen[:, 1] = (1 - ndc[:, 1]) / 2 * region[3]
        return screen, visible

    def describe(self, layer: int, index: int) -> str:
        """The hover text for a neuron: what it stands for and the shown quantity's value."""
        if self._layout is None:
            return ""
        value = float(self._values[int(self._layout.offsets[layer]) + index])
        shown = f"{value:.4g}" if math.isfinite(value) else "n/a"
        words = neuron_words(layer, index, len(self._layout.sizes), self.meanings)
        return f"{words}: {shown} ({self._quantity})"

    def render_image(self, width: int, height: int) -> QtGui.QImage:
        """A picture of the 3D view at the given size (for snapshot PNGs and tests): the user's
        camera if they moved it, else the whole network framed for that size."""
        self._refresh()
        saved = dict(self.gl.opts)
        if not self._camera_moved:
            self.reset_camera((width, height))
        try:
            return self._render(width, height)
        finally:
            self.gl.opts.update(saved)

    def _render(self, width: int, height: int) -> QtGui.QImage:
        if not self.gl.isValid():  # never on screen: no GL context to draw with yet
            return self.gl.grabFramebuffer().scaled(width, height)
        bgra = np.ascontiguousarray(self.gl.renderToArray((width, height)))
        image = QtGui.QImage(bgra.data, width, height, 4 * width, QtGui.QImage.Format.Format_RGB32)
        return image.copy()

    def reset_camera(self, size: tuple[int, int] | None = None) -> None:
        """Frame the whole network in ``gl`` (or a picture of ``size``), seen from the side at
        a slant (inputs on the left); resizing reframes it until the user moves the camera."""
        if size is None:
            self._camera_moved = False
        if self._layout is None or not len(self._layout.positions):
            return
        positions = self._layout.positions
        low, high = positions.min(axis=0), positions.max(axis=0)
        corners = np.array([[(low, high)[(i >> a) & 1][a] for a in range(3)] for i in range(8)])
        centre = QtGui.QVector3D(*(float(c) for c in self._layout.centre))
        self.gl.opts["fov"] = FOV
        near, far = self._layout.radius * 0.1, self._layout.radius * 100.0
        for _ in range(24):  # the closest distance at which every corner is in view
            distance = math.sqrt(near * far)
            self.gl.setCameraPosition(
                pos=centre, distance=distance, elevation=ELEVATION, azimuth=AZIMUTH
            )
            if self._fits(corners, size):
                far = distance
            else:
                near = distance
        self.gl.setCameraPosition(pos=centre, distance=far)

    def _fits(self, points: np.ndarray, size: tuple[int, int] | None) -> bool:
        screen, visible = self.project(points, size)
        width, height = size if size is not None else (self.gl.width(), self.gl.height())
        inside = np.abs(screen / np.array([max(width, 1), max(height, 1)]) * 2 - 1) <= FRAME
        return bool(visible.all() and inside.all())

    # -- Qt ---------------------------------------------------------------------------------

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if watched is self.gl:
            kind = event.type()
            if kind == QtCore.QEvent.Type.MouseMove and isinstance(event, QtGui.QMouseEvent):
                if event.buttons() == QtCore.Qt.MouseButton.NoButton:
                    self._hover(event.position().toPoint())
            elif kind == QtCore.QEvent.Type.Leave:
                QtWidgets.QToolTip.hideText()
            elif kind in CAMERA_EVENTS:
                self._camera_moved = True
            elif kind == QtCore.QEvent.Type.Resize and not self._camera_moved:
                self.reset_camera()
        return super().eventFilter(watched, event)

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self._refresh()

    # -- internals --------------------------------------------------------------------------

    def _hover(self, pos: QtCore.QPoint) -> None:
        hit = self.neuron_at(pos)
        if hit is None:
            QtWidgets.QToolTip.hideText()
            return
        QtWidgets.QToolTip.showText(
            self.gl.mapToGlobal(pos), self.describe(*hit), self.gl.container
        )

    def _show(self, record: Record) -> None:
        self._shown = record
        if self.isVisible():
            self._draw()
        else:
            self._stale = True
            self._sync_controls()

    def _redraw(self) -> None:
        if self._shown is not None:
            self._show(self._shown)

    def _refresh(self) -> None:
        if self._stale:
            self._draw()

    def _draw(self) -> None:
        """Push the shown record's colours (and, on a new architecture, positions) to the GL
        items in place, then schedule one repaint."""
        self._stale = False
        record = self._shown
        if record is None:
            return
        sizes = record.sizes
        if self._layout is None or self._layout.sizes != sizes:
            self._layout = layout(sizes)
            self._points.setData(pos=self._layout.positions, size=self._layout.point_size)
            self.reset_camera()
        positions = self._layout.positions
        self._values = record.values(self._quantity)
        self._colours = infrared(normalise(self._values))
        self._points.setData(color=self._colours)
        self._points.setVisible(len(positions) > 0)
        src, dst, weights = record.links(self._top_k, self._layout.offsets)
        if len(src):
            ends = np.empty((2 * len(src), 3), np.float32)
            ends[0::2] = positions[src]
            ends[1::2] = positions[dst]
            self._lines.setData(pos=ends, color=link_colours(weights))
        self._lines.setVisible(len(src) > 0)
        self.legend.set_range(self._quantity, *robust_range(self._values))
        self._sync_controls()
        self.gl.update()

    def _sync_controls(self) -> None:
        count = len(self._records)
        shown = self._shown
        index = count - 1
        if self._pinned is not None:
            index = next((i for i, r in enumerate(self._records) if r is self._pinned), 0)
        with QtCore.QSignalBlocker(self.slider):
            self.slider.setRange(0, max(count - 1, 0))
            self.slider.setValue(max(index, 0))
        self.step_label.setText(f"update {shown.step:,}" if shown is not None else "update –")
        self.step_label.setToolTip("")
        before = self._records[index - 1] if 0 < index < count else None
        if shown is not None and before is not None and before.sizes != shown.sizes:
            # the architect grew or shrank the network between these two snapshots
            self.step_label.setText(f"update {shown.step:,} · new shape")
            self.step_label.setToolTip(
                f"The network changed shape after update {before.step:,}: hidden layers "
                f"{list(before.sizes[1:-1])} → {list(shown.sizes[1:-1])}"
            )
        self.live_button.setChecked(self._pinned is None)

    def _slider_moved(self, index: int) -> None:
        if index >= len(self._records) - 1:
            self.follow_latest()
        else:
            self.scrub_to(index)

    def _live_clicked(self) -> None:
        if self.live_button.isChecked():
            self.follow_latest()
        elif self._records:  # unchecking Live pins the snapshot on screen
            self.scrub_to(len(self._records) - 1)
