"""Renderers of the ``tank_arena`` snapshot kind: an arena seen from above.

Walls, pillars, both tanks with their guns and health, shells in flight, and the agent's camera
rays fanned out ahead of it, coloured by what each meets (grey a wall or pillar, red the enemy
or its shell). The same painting serves the Scene dock's live view and the ``--snapshots``
pictures; plain QPainter, no OpenGL. The live view can switch to a 3-D view
(``views/tank_gl.py``, OpenGL) and hide the rays.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.nodes.scenes.tanks.snapshot import TankSnapshot
from atrap_studio.ui.views.pictures import BACKGROUND, TEXT

if TYPE_CHECKING:
    from atrap_studio.ui.views.tank_gl import TankGLView

KIND = "tank_arena"
AGENT = QtGui.QColor(90, 170, 255)
ENEMY = QtGui.QColor(235, 90, 70)
PILLAR = QtGui.QColor(120, 124, 132)
WALL = QtGui.QColor(170, 174, 182)
RAY = QtGui.QColor(200, 200, 200, 70)
RAY_ENEMY = QtGui.QColor(255, 110, 90, 160)
#: Whose camera rays are drawn, by choice: how many tanks, from the agent on.
RAY_TANKS = {"none": 0, "agent": 1, "both": 2}


def caption(snap: TankSnapshot, step: int) -> str:
    """``update 40 · arena 0 against the wanderer, 12.3 s: health 3 vs 1``."""
    text = f"update {step:,} · arena {int(snap.instances[0])} against the {snap.opponent}"
    health = snap.health[0]
    seconds = int(snap.steps[0]) * 0.1
    return text + f", {seconds:.1f} s: health {int(health[0])} vs {int(health[1])}"


def ray_segments(
    snap: TankSnapshot, tank: int
) -> list[tuple[tuple[float, float], tuple[float, float], bool]]:
    """``tank``'s camera rays in the first arena: from the tank to what each meets, and whether
    that is the other tank or its shell."""
    position, heading = snap.position[0][tank], float(snap.heading[0][tank])
    depths, whats = snap.ray_depth[0][tank], snap.ray_what[0][tank]
    count = len(depths)
    start = (float(position[0]), float(position[1]))
    segments = []
    for index in range(count):
        angle = heading + snap.fov / 2 - snap.fov * index / max(1, count - 1)
        depth = float(depths[index])
        end = (start[0] + math.cos(angle) * depth, start[1] + math.sin(angle) * depth)
        segments.append((start, end, bool(whats[index] >= 2)))
    return segments


def paint(
    painter: QtGui.QPainter, area: QtCore.QRectF, snap: TankSnapshot, *, rays: str = "agent"
) -> None:
    """The first arena of ``snap`` fitted into ``area``, with the camera rays ``rays`` asks
    for (one of :data:`RAY_TANKS`)."""
    side = min(area.width(), area.height())
    scale = side / (2 * snap.half)
    centre = area.center()

    def at(x: float, y: float) -> QtCore.QPointF:  # metres (y up) -> pixels
        return QtCore.QPointF(centre.x() + x * scale, centre.y() - y * scale)

    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    painter.setPen(QtGui.QPen(WALL, 2))
    painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
    painter.drawRect(QtCore.QRectF(at(-snap.half, snap.half), at(snap.half, -snap.half)))
    position, heading = snap.position[0], snap.heading[0]
    # the cameras: each ray to what it meets (the enemy's rays only when asked for)
    for tank in range(RAY_TANKS[rays]):
        for start, end, sees in ray_segments(snap, tank):
            painter.setPen(QtGui.QPen(RAY_ENEMY if sees else RAY, 1))
            painter.drawLine(at(*start), at(*end))
    painter.setPen(QtCore.Qt.PenStyle.NoPen)
    painter.setBrush(PILLAR)
    for x, y, radius in snap.pillars[0]:
        if radius > 0:
            painter.drawEllipse(at(float(x), float(y)), radius * scale, radius * scale)
    radius = snap.tank_radius * scale
    for tank, colour in ((0, AGENT), (1, ENEMY)):
        x, y = float(position[tank][0]), float(position[tank][1])
        alive = snap.health[0][tank] > 0
        painter.setPen(QtGui.QPen(colour.darker(150), 2))
        painter.setBrush(colour if alive else colour.darker(250))
        painter.drawEllipse(at(x, y), radius, radius)
        gun = (
            x + math.cos(heading[tank]) * snap.tank_radius * 1.6,
            y + math.sin(heading[tank]) * snap.tank_radius * 1.6,
        )
        painter.setPen(QtGui.QPen(colour.lighter(130), max(2.0, radius / 3)))
        painter.drawLine(at(x, y), at(*gun))
    painter.setPen(QtCore.Qt.PenStyle.NoPen)
    for tank, colour in ((0, AGENT), (1, ENEMY)):
        if snap.shell_alive[0][tank]:
            painter.setBrush(colour.lighter(160))
            painter.drawEllipse(at(*snap.shells[0][tank]), 3.0, 3.0)


def picture(snap: TankSnapshot, width: int, height: int, step: int) -> QtGui.QImage:
    """The first arena drawn into ``width`` x ``height`` under a caption."""
    image = QtGui.QImage(width, height, QtGui.QImage.Format.Format_RGB32)
    image.fill(BACKGROUND)
    painter = QtGui.QPainter(image)
    paint(painter, QtCore.QRectF(10, 30, width - 20, height - 40), snap)
    painter.setPen(TEXT)
    painter.drawText(QtCore.QPointF(10, 20), caption(snap, step))
    painter.end()
    return image


class TopDown(QtWidgets.QWidget):
    """The arena seen from above, painted with QPainter (any Qt platform)."""

    def __init__(self) -> None:
        super().__init__()
        self.snap: TankSnapshot | None = None
        self.rays = "agent"
        self.setMinimumSize(160, 120)

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        area = QtCore.QRectF(self.rect()).adjusted(2, 2, -2, -2)
        painter.fillRect(area, BACKGROUND)
        if self.snap is not None:
            paint(painter, area, self.snap, rays=self.rays)
        painter.end()


class TankArenaView(QtWidgets.QWidget):
    """The Scene dock's view of one arena, repainted with each snapshot: from above, or in
    3-D (an OpenGL view, made the first time the switch is turned on), with no camera rays,
    the agent's or both tanks'."""

    instances_changed = QtCore.Signal(list)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.arena = QtWidgets.QSpinBox()
        self.arena.setPrefix("arena ")
        self.arena.setToolTip("Which arena to watch")
        self.arena.valueChanged.connect(lambda value: self.instances_changed.emit([value]))
        self.three_d = QtWidgets.QCheckBox("3-D")
        self.three_d.setToolTip("Watch the fight in 3-D (drag to orbit, wheel to zoom)")
        self.rays = QtWidgets.QComboBox()
        for label, mode in (
            ("No rays", "none"),
            ("Agent's rays", "agent"),
            ("Both tanks' rays", "both"),
        ):
            self.rays.addItem(label, mode)
        self.rays.setCurrentIndex(1)
        self.rays.setToolTip(
            "Draw what the cameras see: one line per ray, red where it meets the enemy"
        )
        self.label = QtWidgets.QLabel("Run the graph to watch a fight.")
        self.label.setObjectName("caption")
        self.label.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
        )
        top = QtWidgets.QHBoxLayout()
        for widget in (self.arena, self.three_d, self.rays):
            top.addWidget(widget)
        top.addWidget(self.label, 1)
        self.top_down = TopDown()
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.top_down)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)
        self.setMinimumSize(160, 160)
        self.gl: TankGLView | None = None
        self._snap: TankSnapshot | None = None
        self.three_d.toggled.connect(self._switch)
        self.rays.currentIndexChanged.connect(self._rays)

    def set_instance_count(self, count: int) -> None:
        self.arena.setMaximum(max(0, count - 1))

    def show_snapshot(self, step: int, snap: TankSnapshot) -> None:
        self._snap = snap
        self.label.setText(caption(snap, step))
        self.top_down.snap = snap
        if self.gl is not None and self.three_d.isChecked():
            self.gl.show_snapshot(snap)
        self.top_down.update()

    def paint_now(self) -> None:
        if self.gl is not None and self.three_d.isChecked():
            self.gl.repaint()
        else:
            self.top_down.repaint()

    def render_image(self, width: int, height: int) -> QtGui.QImage:
        """The view as it is now, as a picture."""
        if self.gl is not None and self.three_d.isChecked():
            return self.gl.render_image(width, height)
        return self.top_down.grab().toImage().scaled(width, height)

    def _switch(self, on: bool) -> None:
        if on and self.gl is None:
            from atrap_studio.ui.views.tank_gl import TankGLView  # OpenGL only when asked for

            self.gl = TankGLView()
            self.gl.rays = str(self.rays.currentData())
            self.stack.addWidget(self.gl.container)
        if on and self.gl is not None:
            self.stack.setCurrentWidget(self.gl.container)
            if self._snap is not None:
                self.gl.show_snapshot(self._snap)
        else:
            self.stack.setCurrentWidget(self.top_down)

    def _rays(self) -> None:
        mode = str(self.rays.currentData())
        self.top_down.rays = mode
        self.top_down.update()
        if self.gl is not None:
            self.gl.rays = mode
            if self._snap is not None:
                self.gl.show_snapshot(self._snap)


def live_view() -> QtWidgets.QWidget:
    return TankArenaView()
