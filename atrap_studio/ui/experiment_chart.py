"""The help-the-network chart: share of test targets reached against updates, per contender.

Drawn with QPainter into a PNG (no window, no OpenGL), so ``atrap experiment help-the-network``
can write it headless; the CLI imports this module only to draw.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.runtime.help_experiment import Result

COLOURS = ("#3a78c2", "#2e9e44", "#ff8c1a", "#b0359a")
WIDTH, HEIGHT = 960, 620
LEFT, RIGHT, TOP, BOTTOM = 70, 250, 44, 130


def save_chart(result: Result, path: Path) -> None:
    """Each seed's test curve (thin) and their mean (thick), the goal as a dashed line, and the
    verdict under the plot."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    del app  # a QImage needs the application to exist, nothing more
    image = QtGui.QImage(WIDTH, HEIGHT, QtGui.QImage.Format.Format_RGB32)
    image.fill(QtGui.QColor("white"))
    painter = QtGui.QPainter(image)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    plot = QtCore.QRectF(LEFT, TOP, WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM)
    last = max(point[0] for trial in result.trials for point in trial.curve)

    def at(updates: float, share: float) -> QtCore.QPointF:
        return QtCore.QPointF(
            plot.left() + plot.width() * updates / last, plot.bottom() - plot.height() * share
        )

    setup = result.setup
    radius = f"within {setup.success_mm:g} mm" if setup.success_mm else "(the scene's success)"
    painter.setPen(QtGui.QColor("black"))
    painter.drawText(
        QtCore.QRectF(0, 8, WIDTH, 24),
        QtCore.Qt.AlignmentFlag.AlignCenter,
        f"Share of fresh targets reached {radius}: {setup.seeds} seeds, "
        f"{setup.instances:,} arms, equal updates; dashed: the goal",
    )
    _axes(painter, plot, last)
    dashed = QtGui.QPen(QtGui.QColor("#888888"), 1, QtCore.Qt.PenStyle.DashLine)
    painter.setPen(dashed)
    painter.drawLine(at(0, setup.goal), at(last, setup.goal))
    summaries = {s.contender: s for s in result.summaries()}
    for index, name in enumerate(summaries):
        trials = [t for t in result.trials if t.contender == name]
        colour = QtGui.QColor(COLOURS[index % len(COLOURS)])
        faded = QtGui.QColor(colour)
        faded.setAlpha(90)
        painter.setPen(QtGui.QPen(faded, 1))
        for trial in trials:
            painter.drawPolyline([at(u, share) for u, _, share, _ in trial.curve])
        length = min(len(t.curve) for t in trials)
        mean = [
            at(trials[0].curve[i][0], statistics.mean(t.curve[i][2] for t in trials))
            for i in range(length)
        ]
        painter.setPen(QtGui.QPen(colour, 3))
        painter.drawPolyline(mean)
        summary = summaries[name]
        top = TOP + 10 + index * 70
        painter.fillRect(QtCore.QRectF(WIDTH - RIGHT + 16, top + 6, 14, 14), colour)
        some = (
            ""
            if summary.reached == summary.seeds
            else f" ({summary.reached}/{summary.seeds} seeds)"
        )
        to_goal = (
            f"{setup.goal:.0%} at {summary.mean_updates_to_goal:,.0f} updates{some}"
            if summary.mean_updates_to_goal
            else f"{setup.goal:.0%}: 0 of {summary.seeds} seeds"
        )
        painter.setPen(QtGui.QColor("black"))
        painter.drawText(
            QtCore.QRectF(WIDTH - RIGHT + 36, top, RIGHT - 40, 64),
            QtCore.Qt.TextFlag.TextWordWrap,
            f"{name}\n{to_goal}\nfinal {summary.final_median_mm:.1f} mm median",
        )
    if len(summaries) > 1:
        painter.drawText(
            QtCore.QRectF(LEFT, HEIGHT - BOTTOM + 44, WIDTH - LEFT - 20, BOTTOM - 48),
            QtCore.Qt.TextFlag.TextWordWrap,
            result.verdict(),
        )
    painter.end()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(path)):
        raise OSError(f"could not write the chart {path}")


def _axes(painter: QtGui.QPainter, plot: QtCore.QRectF, last: int) -> None:
    """Frame, grid and labels: share reached 0-100% up, updates along."""
    grid = QtGui.QPen(QtGui.QColor("#dddddd"), 1)
    for tenth in range(0, 11, 2):
        y = plot.bottom() - plot.height() * tenth / 10
        painter.setPen(grid)
        painter.drawLine(QtCore.QPointF(plot.left(), y), QtCore.QPointF(plot.right(), y))
        painter.setPen(QtGui.QColor("black"))
        painter.drawText(
            QtCore.QRectF(0, y - 10, LEFT - 8, 20),
            QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter,
            f"{tenth * 10}%",
        )
    for fifth in range(6):
        x = plot.left() + plot.width() * fifth / 5
        painter.drawText(
            QtCore.QRectF(x - 40, plot.bottom() + 4, 80, 20),
            QtCore.Qt.AlignmentFlag.AlignCenter,
            f"{round(last * fifth / 5):,}",
        )
    painter.drawText(
        QtCore.QRectF(plot.left(), plot.bottom() + 22, plot.width(), 20),
        QtCore.Qt.AlignmentFlag.AlignCenter,
        "updates (the same for every contender)",
    )
    painter.setPen(QtGui.QPen(QtGui.QColor("black"), 1))
    painter.drawRect(plot)
