"""The Curves dock: a run's metrics as live plots that share one time axis (training updates).

Events only fill the :class:`MetricStore`; drawing happens on a single-shot timer at most
``max_fps`` times a second, so a fast run cannot flood the GUI thread with redraws. Plots are
2-D pyqtgraph widgets (no OpenGL), so the dock also renders headless for ``--snapshots``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.core.events import Event
from atrap_studio.ui.views.metric_names import NO_UNIT, describe, split_agent
from atrap_studio.ui.views.metric_store import MetricStore


@dataclass(frozen=True)
class Group:
    """One plot: the keys with one of the prefixes or suffixes, or containing one of the parts.

    A group with no rule at all takes every key (the last group, "Other").
    """

    title: str
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    contains: tuple[str, ...] = ()

    def matches(self, key: str) -> bool:
        if not (self.prefixes or self.suffixes or self.contains):
            return True
        return (
            key.startswith(self.prefixes)
            or key.endswith(self.suffixes)
            or any(part in key for part in self.contains)
        )


#: The plots, top to bottom; a key goes to the first group that matches it.
GROUPS: tuple[Group, ...] = (
    Group("Loss", prefixes=("loss/",)),
    Group("Reward", prefixes=("reward/",)),
    Group("Success", suffixes=("success_rate",)),
    Group("Reach error (mm)", contains=("error_mm",)),
    Group("Episode return", contains=("return",)),
    Group("Exploration", prefixes=("explore/",)),
    Group("Policy and value", prefixes=("policy/", "value/")),
    Group("Scene steps per second", contains=("env_steps_per_s",)),
    Group("Updates per second", prefixes=("perf/",)),
    Group("Learning rate", prefixes=("lr/",), suffixes=("lr",)),
    Group("Curriculum", prefixes=("curriculum/",)),
    Group("Other"),
)


def group_of(key: str) -> Group:
    """The group (plot) that shows ``key``; every key has exactly one. Each agent's figure of
    a graph with several (``red_teach:loss/value``) joins its kind's plot."""
    own = split_agent(key)[1]
    return next(group for group in GROUPS if group.matches(own))


#: Distinct on the dark plot background (Tableau 10, lightened where too dark).
PALETTE = (
    "#4e9ee8",
    "#ff9f40",
    "#59c85a",
    "#f05a5b",
    "#b68be0",
    "#c49c94",
    "#f29ad8",
    "#bcbcbc",
    "#dbdb4a",
    "#3fd4e4",
)
MARKER_COLOURS = {"checkpoint": "#8a8a8a", "architecture": "#ffb347"}
#: Markers are named once per plot, in its legend (a label on every line covered the data).
MARKER_NAMES = {"checkpoint": "checkpoint (dashed)", "architecture": "network changed (dashed)"}
#: Each column of plots needs this much width; a narrower dock stacks them in one column.
MIN_COLUMN_PX = 340
AXIS_WIDTH = 58  # a fixed left axis keeps every plot's time axis at the same place


def curve_pen(index: int) -> QtGui.QPen:
    """The pen of a group's ``index``-th curve: a palette colour, dashed after the first ten."""
    style = QtCore.Qt.PenStyle.SolidLine if index < len(PALETTE) else QtCore.Qt.PenStyle.DashLine
    pen: QtGui.QPen = pg.mkPen(PALETTE[index % len(PALETTE)], width=1.5, style=style)
    return pen


class QtCurves(QtWidgets.QWidget):
    """Live plots of a run's metrics, one per :data:`GROUPS` entry that has keys.

    Feed it the run's events on the GUI thread (:meth:`on_event`); it may share its store with
    whoever else needs the metrics.
    """

    def __init__(
        self,
        store: MetricStore | None = None,
        parent: QtWidgets.QWidget | None = None,
        *,
        max_fps: float = 10.0,
        auto_redraw: bool = True,
    ) -> None:
        super().__init__(parent)
        self.store = store if store is not None else MetricStore()
        #: False when the owner calls :meth:`redraw` itself (the editor batches all of its
        #: updates into one repaint a second: with OpenGL views in the window, every repaint
        #: composes the whole window in software).
        self.auto_redraw = auto_redraw
        #: How many redraws actually drew something (tests check that they are coalesced).
        self.redraw_count = 0
        #: Where the export dialogs start (the editor points it at the run's folder).
        self.export_dir = Path.home()
        self._interval_ms = max(1, math.ceil(1000.0 / max_fps))
        self._last_redraw = -math.inf
        self._drawn_revision = -1 if self.store.keys() else self.store.revision
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)  # never early: max_fps holds
        self._timer.timeout.connect(self._timer_fired)
        self._plots: dict[str, pg.PlotWidget] = {}  # by group title
        self._curves: dict[str, pg.PlotDataItem] = {}  # by key
        self._curve_revision: dict[str, int] = {}
        self._marker_lines: dict[str, list[pg.InfiniteLine]] = {}  # by group title
        self._drawn_markers: list[tuple[int, str]] = []
        self._log = False
        self._follow = True
        self._linking = False
        self._plot_min_height = 170  # the data, and the legend under it
        self._columns = 1
        #: Node names by id, so that ``reward/<id>`` reads as the node's name (set per run).
        self.node_names: dict[str, str] = {}

        self.follow_box = QtWidgets.QCheckBox("Follow", checked=True)
        self.follow_box.setToolTip(
            "Keep the newest data in view. Off: the view stays where you put it while the "
            "run goes on recording (dragging or zooming a plot turns it off)."
        )
        self.log_box = QtWidgets.QCheckBox("Log scale")
        self.log_box.setToolTip("Logarithmic y axes (values ≤ 0 are not drawn)")
        self.png_button = QtWidgets.QPushButton("Export PNG…")
        self.csv_button = QtWidgets.QPushButton("Export CSV…")
        self.follow_box.toggled.connect(self.set_follow)
        self.log_box.toggled.connect(self.set_log_scale)
        self.png_button.clicked.connect(self._export_png_dialog)
        self.csv_button.clicked.connect(self._export_csv_dialog)
        self.toolbar = QtWidgets.QWidget()
        tools = QtWidgets.QHBoxLayout(self.toolbar)
        tools.setContentsMargins(4, 2, 4, 0)
        tools.addWidget(self.follow_box)
        tools.addWidget(self.log_box)
        tools.addStretch(1)
        tools.addWidget(self.png_button)
        tools.addWidget(self.csv_button)

        self.plot_area = QtWidgets.QWidget()
        self._grid = QtWidgets.QGridLayout(self.plot_area)
        self._grid.setContentsMargins(2, 2, 2, 2)
        self._grid.setSpacing(2)
        self._empty = QtWidgets.QLabel("Run the pipeline to see its metrics here.")
        self._empty.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.plot_area.setAutoFillBackground(True)
        palette = self.plot_area.palette()
        palette.setColor(QtGui.QPalette.ColorRole.Window, QtGui.QColor("black"))
        palette.setColor(QtGui.QPalette.ColorRole.WindowText, QtGui.QColor("#aaaaaa"))
        self.plot_area.setPalette(palette)
        self._grid.addWidget(self._empty, 0, 0)

        # the plots scroll when their dock is made smaller than they need (their least height
        # would otherwise hold the whole dock area open: ~430 px once a run had shown them)
        self.scroller = QtWidgets.QScrollArea()
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        self.scroller.setWidget(self.plot_area)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.scroller, 1)

    # -- feeding --------------------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """Record what a run event says about the metrics, then schedule a redraw."""
        kind: str = event.kind
        if kind == "step":
            self.store.add(event.step, event.data.get("metrics") or {})
        elif kind in ("checkpoint", "architecture"):
            self.store.add_marker(event.step, kind)
        elif kind == "started":
            if event.data.get("resumed_from") is None:
                self.store.clear()
            else:  # what was logged after the checkpoint belongs to the abandoned branch
                self.store.truncate(event.step + 1)
        else:
            return
        if self.auto_redraw:
            self.schedule_redraw()

    def schedule_redraw(self) -> None:
        """Redraw soon, but no sooner than ``1 / max_fps`` after the last redraw."""
        if self._timer.isActive():
            return
        since_ms = (time.monotonic() - self._last_redraw) * 1000.0
        wait_ms = min(max(self._interval_ms - since_ms, 0.0), self._interval_ms)
        self._timer.start(math.ceil(wait_ms))

    def _timer_fired(self) -> None:
        if self.isVisible():  # a hidden dock catches up when it is shown again
            self.redraw()

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        if self.store.revision != self._drawn_revision:
            self.schedule_redraw()

    # -- queries and settings --------------------------------------------------------------

    def plotted_keys(self) -> set[str]:
        return set(self._curves)

    def key_of(self, curve: pg.PlotDataItem) -> str:
        """The metric key a curve draws (its legend shows the key's name)."""
        return next(key for key, item in self._curves.items() if item is curve)

    def plots(self) -> dict[str, pg.PlotWidget]:
        """The plot widgets shown now, by group title, top to bottom."""
        return {g.title: self._plots[g.title] for g in GROUPS if g.title in self._plots}

    def set_log_scale(self, on: bool) -> None:
        self._log = on
        with QtCore.QSignalBlocker(self.log_box):
            self.log_box.setChecked(on)
        for plot in self._plots.values():
            plot.setLogMode(x=False, y=on)

    def set_follow(self, on: bool) -> None:
        """Follow the newest data, or freeze every view where it is (data is still recorded)."""
        self._follow = on
        with QtCore.QSignalBlocker(self.follow_box):
            self.follow_box.setChecked(on)
        for plot in self._plots.values():
            view = plot.getViewBox()
            if on:
                view.enableAutoRange(axis=pg.ViewBox.YAxis)
            else:
                view.disableAutoRange()
        if on:
            self._follow_newest()

    # -- exports -----------------------------------------------------------------------------

    def export_png(self, path: str | os.PathLike[str]) -> None:
        """Save the plots as they are shown now (without the toolbar)."""
        self.redraw()
        for _ in range(2):  # the plots just made get their sizes, then lay out their axes
            QtWidgets.QApplication.sendPostedEvents()
        if not self.plot_area.grab().save(os.fspath(path), "PNG"):
            raise OSError(f"could not write {path}")

    def export_csv(self, path: str | os.PathLike[str]) -> None:
        self.store.to_csv(path)

    def render_image(self, width: int, height: int) -> QtGui.QImage:
        """The plots drawn at ``width`` × ``height`` pixels, shown or not (headless snapshots).

        Drawn by a hidden twin on the same store, so the shown view keeps its size and zoom.
        """
        twin = QtCurves(self.store)
        try:
            twin.toolbar.hide()
            twin._plot_min_height = 0  # the size asked for wins
            twin.set_log_scale(self._log)
            twin.redraw()
            twin.resize(width, height)
            return twin.grab().toImage()
        finally:
            twin.deleteLater()

    def _export_png_dialog(self) -> None:
        name, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export curves as PNG", str(self.export_dir / "curves.png"), "PNG (*.png)"
        )
        if name:
            self._export(self.export_png, Path(name))

    def _export_csv_dialog(self) -> None:
        name, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export metrics as CSV", str(self.export_dir / "metrics.csv"), "CSV (*.csv)"
        )
        if name:
            self._export(self.export_csv, Path(name))

    def _export(self, write: Callable[[Path], None], path: Path) -> None:
        try:
            write(path)
        except OSError as exc:
            QtWidgets.QMessageBox.warning(self, "Export failed", f"Could not write {path}: {exc}")
        else:
            self.export_dir = path.parent

    # -- drawing ------------------------------------------------------------------------------

    def redraw(self) -> None:
        """Bring the plots up to date with the store (the timer calls this; so may tests)."""
        self._timer.stop()
        self._last_redraw = time.monotonic()
        store = self.store
        if store.revision == self._drawn_revision:
            return
        self._drawn_revision = store.revision
        self.redraw_count += 1
        layout_changed = False
        keys = store.keys()
        known = set(keys)
        for key in [k for k in self._curves if k not in known]:
            self._plots[group_of(key).title].removeItem(self._curves.pop(key))
            del self._curve_revision[key]
        for title in [t for t, p in self._plots.items() if not p.getPlotItem().listDataItems()]:
            self._remove_plot(title)
            layout_changed = True
        for key in keys:
            curve = self._curves.get(key)
            if curve is None:
                curve, created = self._new_curve(key)
                layout_changed |= created
            revision = store.series_revision(key)
            if self._curve_revision.get(key) != revision:
                self._curve_revision[key] = revision
                curve.setData(*store.series(key))
        self._draw_markers()
        if layout_changed:
            self._relayout()
        if self._follow:
            self._follow_newest()

    def _new_curve(self, key: str) -> tuple[pg.PlotDataItem, bool]:
        """A curve for ``key`` in its group's plot; also says whether the plot is new."""
        title = group_of(key).title
        plot = self._plots.get(title)
        created = plot is None
        if plot is None:
            plot = self._new_plot(title)
        index = len(plot.getPlotItem().listDataItems())
        named = describe(key, self.node_names)
        curve = plot.plot(
            name=named.label() if named else key, pen=curve_pen(index), connect="finite"
        )
        self._curves[key] = curve
        if created and named is not None and named.unit != NO_UNIT:
            axis = plot.getAxis("left")
            axis.enableAutoSIPrefix(False)  # "share" over 0.1 to 0.3, not "share (x0.001)"
            axis.setLabel(named.unit)
        return curve, created

    def _new_plot(self, title: str) -> pg.PlotWidget:
        plot = pg.PlotWidget()
        plot.setTitle(title, size="9pt")
        plot.setMinimumHeight(self._plot_min_height)
        item = plot.getPlotItem()
        legend = pg.LegendItem(labelTextSize="8pt", verSpacing=-6)
        item.layout.addItem(legend, 4, 1)  # under the time axis: never over the data
        item.legend = legend  # curves made with a name join it
        plot.setDownsampling(auto=True, mode="peak")
        plot.setClipToView(True)
        plot.setLogMode(x=False, y=self._log)
        plot.getAxis("left").setWidth(AXIS_WIDTH)
        view = plot.getViewBox()
        view.setAutoVisible(y=True)
        view.enableAutoRange(axis=pg.ViewBox.XAxis, enable=False)
        if not self._follow:
            view.disableAutoRange()
            if self._plots:  # join the others where they are
                shown = next(iter(self._plots.values())).getViewBox().viewRange()[0]
                view.setXRange(*shown, padding=0)
        view.sigXRangeChanged.connect(self._x_range_changed)
        view.sigRangeChangedManually.connect(self._moved_by_user)
        self._plots[title] = plot
        self._marker_lines[title] = []
        for step, label in self._drawn_markers:
            self._add_marker_line(title, step, label)
        return plot

    def _remove_plot(self, title: str) -> None:
        plot = self._plots.pop(title)
        del self._marker_lines[title]
        self._grid.removeWidget(plot)
        plot.setParent(None)
        plot.deleteLater()

    def _relayout(self) -> None:
        """One column for a few plots, two for more; empty groups take no room."""
        plots = list(self.plots().values())
        for plot in plots:
            self._grid.removeWidget(plot)
        self._grid.removeWidget(self._empty)
        self._empty.setVisible(not plots)
        if not plots:
            self._grid.addWidget(self._empty, 0, 0)
            return
        columns = self._columns_for(len(plots))
        self._columns = columns
        for index, plot in enumerate(plots):
            self._grid.addWidget(plot, index // columns, index % columns)
        self._grid.activate()

    def _columns_for(self, plots: int) -> int:
        """One column for a few plots or a narrow dock; two for more plots if they fit."""
        wide = self.scroller.viewport().width() >= 2 * MIN_COLUMN_PX
        return 2 if plots > 3 and wide else 1

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._plots and self._columns_for(len(self._plots)) != self._columns:
            self._relayout()

    def _draw_markers(self) -> None:
        markers = self.store.markers
        drawn = self._drawn_markers
        if markers[: len(drawn)] != drawn:  # truncated or cleared: start over
            for title, lines in self._marker_lines.items():
                for line in lines:
                    self._plots[title].removeItem(line)
                lines.clear()
                for name in MARKER_NAMES.values():
                    self._plots[title].getPlotItem().legend.removeItem(name)
            drawn.clear()
        for step, label in markers[len(drawn) :]:
            for title in self._plots:
                self._add_marker_line(title, step, label)
            drawn.append((step, label))

    def _add_marker_line(self, title: str, step: int, label: str) -> None:
        colour = MARKER_COLOURS.get(label, "#cccccc")
        pen = pg.mkPen(colour, width=1, style=QtCore.Qt.PenStyle.DashLine)
        line = pg.InfiniteLine(pos=step, angle=90, movable=False, pen=pen)
        line.setToolTip(f"{label} at update {step:,}")
        plot = self._plots[title]
        plot.addItem(line, ignoreBounds=True)
        self._marker_lines[title].append(line)
        legend, name = plot.getPlotItem().legend, MARKER_NAMES.get(label, label)
        if all(text.text != name for _, text in legend.items):  # named once, in the legend
            legend.addItem(pg.PlotDataItem(pen=pen), name)

    def _follow_newest(self) -> None:
        steps = self.store.steps()
        if not len(steps) or not self._plots:
            return
        low, high = float(steps[0]), float(steps[-1])
        if high <= low:
            low, high = low - 0.5, high + 0.5
        next(iter(self._plots.values())).getViewBox().setXRange(low, high, padding=0.02)

    def _x_range_changed(self, view: pg.ViewBox, x_range: tuple[float, float]) -> None:
        """Give every plot the same x range: they share the time axis."""
        if self._linking:
            return
        self._linking = True
        try:
            for plot in self._plots.values():
                other = plot.getViewBox()
                if other is not view:
                    other.setXRange(*x_range, padding=0)
        finally:
            self._linking = False

    def _moved_by_user(self, mask: list[bool]) -> None:
        if self._follow and mask and mask[0]:
            self.set_follow(False)
