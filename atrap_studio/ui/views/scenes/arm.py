"""Renderers of the ``arm`` snapshot kind: robot arms reaching for targets.

The live view is the 3-D :class:`~atrap_studio.ui.views.scene_view.QtSceneView` (OpenGL,
imported only when one is made); the picture is drawn with QPainter from the view's default
camera, so ``atrap run --snapshots`` needs no OpenGL.
"""

from __future__ import annotations

import itertools

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.runtime.snapshots import ArmSnapshot
from atrap_studio.ui.views.pictures import BACKGROUND, TEXT

KIND = "arm"
#: A frame's x, y and z axes, as the 3-D view draws them.
AXIS_COLOURS = (QtGui.QColor(242, 77, 64), QtGui.QColor(89, 217, 89), QtGui.QColor(77, 140, 255))


def live_view() -> QtWidgets.QWidget:
    """The 3-D scene view (shaded arms, ghosts, trail, Ctrl+drag the target)."""
    from atrap_studio.ui.views.scene_view import QtSceneView

    return QtSceneView()


def _camera(azimuth_deg: float = 40.0, elevation_deg: float = 20.0) -> np.ndarray:
    """A 3x3 rotation taking world coordinates (z up) to screen (x right, y up, z depth)."""
    az, el = np.radians(azimuth_deg), np.radians(elevation_deg)
    right = np.array([-np.sin(az), np.cos(az), 0.0])
    forward = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    up = np.cross(right, -forward)
    return np.stack([right, up, forward])


def picture(snap: ArmSnapshot, width: int, height: int, step: int) -> QtGui.QImage:
    """The arm(s), target and ground grid seen from the scene view's default camera."""
    image = QtGui.QImage(width, height, QtGui.QImage.Format.Format_RGB32)
    image.fill(BACKGROUND)
    rotation = _camera()
    scale = 0.42 * min(width, height) / max(snap.reach, 1e-6)
    centre = np.array([width / 2, height * 0.62])

    def to_screen(points: np.ndarray) -> np.ndarray:
        flat = (points - np.array([0.0, 0.0, 0.3 * snap.reach])) @ rotation.T
        return np.stack([centre[0] + flat[..., 0] * scale, centre[1] - flat[..., 1] * scale], -1)

    painter = QtGui.QPainter(image)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    painter.setPen(QtGui.QPen(QtGui.QColor(70, 74, 80), 1))
    ticks = np.linspace(-1.2 * snap.reach, 1.2 * snap.reach, 11)
    for t in ticks:
        for a, b in (((t, ticks[0], 0), (t, ticks[-1], 0)), ((ticks[0], t, 0), (ticks[-1], t, 0))):
            p, q = to_screen(np.array([a, b], dtype=float))
            painter.drawLine(QtCore.QPointF(*p), QtCore.QPointF(*q))
    painter.setPen(QtGui.QPen(QtGui.QColor(180, 190, 215, 70), 2))
    for arm in snap.joints[1:]:
        points = to_screen(arm)
        for p, q in itertools.pairwise(points):
            painter.drawLine(QtCore.QPointF(*p), QtCore.QPointF(*q))
    if len(snap.joints):
        points = to_screen(snap.joints[0])
        painter.setPen(QtGui.QPen(QtGui.QColor(140, 158, 184), 7))
        for p, q in itertools.pairwise(points):
            painter.drawLine(QtCore.QPointF(*p), QtCore.QPointF(*q))
        painter.setPen(QtCore.Qt.PenStyle.NoPen)
        painter.setBrush(QtGui.QColor(242, 190, 64))
        for p in points:
            painter.drawEllipse(QtCore.QPointF(*p), 5, 5)
        success = bool(snap.success[0])
        painter.setBrush(QtGui.QColor(64, 217, 89) if success else QtGui.QColor(242, 115, 38))
        painter.drawEllipse(QtCore.QPointF(*to_screen(snap.target[0])), 7, 7)
        if snap.target_rotation is not None and snap.tip_rotation is not None:
            for origin, turn, length, width in (
                (snap.target[0], snap.target_rotation[0], 0.16, 3),
                (snap.joints[0][-1], snap.tip_rotation[0], 0.1, 2),
            ):
                start = QtCore.QPointF(*to_screen(origin))
                for axis, colour in zip(turn.T, AXIS_COLOURS, strict=True):
                    end = QtCore.QPointF(*to_screen(origin + length * snap.reach * axis))
                    painter.setPen(QtGui.QPen(colour, width))
                    painter.drawLine(start, end)
        turned = "" if snap.error_deg is None else f" {snap.error_deg[0]:.1f}°"
        painter.setPen(TEXT)
        painter.drawText(
            QtCore.QPointF(10, 20),
            f"update {step:,} · arm {int(snap.instances[0])}: {snap.error_mm[0]:.1f} mm"
            f"{turned} {'(reached)' if success else ''}",
        )
    painter.end()
    return image
