"""Pictures of a run without OpenGL: the scene and the network drawn with QPainter.

A run on a server (``atrap run --snapshots DIR``) has no X server and Qt's offscreen platform has
no OpenGL, so the 3-D docks cannot render there. These draw the same snapshots with a fixed
camera and 2-D painting, which works on any Qt platform.
"""

from __future__ import annotations

import itertools

import numpy as np
from PySide6 import QtCore, QtGui

from atrap_studio.runtime.snapshots import ArmSnapshot, NetworkSnapshot
from atrap_studio.ui.views.colormaps import infrared, normalise
from atrap_studio.ui.views.neuron_data import Record

BACKGROUND = QtGui.QColor(24, 26, 30)
TEXT = QtGui.QColor(220, 220, 220)


def _camera(azimuth_deg: float = 40.0, elevation_deg: float = 20.0) -> np.ndarray:
    """A 3x3 rotation taking world coordinates (z up) to screen (x right, y up, z depth)."""
    az, el = np.radians(azimuth_deg), np.radians(elevation_deg)
    right = np.array([-np.sin(az), np.cos(az), 0.0])
    forward = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    up = np.cross(right, -forward)
    return np.stack([right, up, forward])


def scene_picture(snap: ArmSnapshot, width: int, height: int, step: int) -> QtGui.QImage:
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
        painter.setPen(TEXT)
        painter.drawText(
            QtCore.QPointF(10, 20),
            f"update {step:,} · arm {int(snap.instances[0])}: {snap.error_mm[0]:.1f} mm "
            f"{'(reached)' if success else ''}",
        )
    painter.end()
    return image


def network_picture(
    snap: NetworkSnapshot,
    width: int,
    height: int,
    step: int,
    quantity: str = "weights",
    top_k: int = 3000,
) -> QtGui.QImage:
    """Layers as columns, neurons as dots in the infrared palette, the strongest links."""
    image = QtGui.QImage(width, height, QtGui.QImage.Format.Format_RGB32)
    image.fill(BACKGROUND)
    painter = QtGui.QPainter(image)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    sizes = snap.sizes
    margin = 30.0
    columns = np.linspace(margin * 2, width - margin * 2, max(len(sizes), 2))
    positions = []
    for column, size in zip(columns, sizes, strict=False):
        ys = (
            np.linspace(margin * 1.5, height - margin, size) if size > 1 else np.array([height / 2])
        )
        positions.append(np.stack([np.full(size, column), ys], -1))
    record = Record(step, snap, nbytes=0)
    flat = np.concatenate(positions) if positions else np.zeros((0, 2))
    offsets = np.cumsum([0, *sizes]).astype(np.int64)
    if snap.weights:
        src, dst, signed = record.links(top_k, offsets)
        top = float(np.abs(signed).max()) if len(signed) else 1.0
        for a, b, w in zip(flat[src], flat[dst], signed, strict=True):
            colour = QtGui.QColor(255, 140, 60) if w > 0 else QtGui.QColor(80, 150, 255)
            colour.setAlphaF(min(1.0, 0.08 + 0.5 * abs(float(w)) / (top or 1.0)))
            painter.setPen(QtGui.QPen(colour, 1))
            painter.drawLine(QtCore.QPointF(*a), QtCore.QPointF(*b))
    values = record.values(quantity)
    colours = infrared(normalise(values)) if len(values) else np.zeros((0, 4))
    painter.setPen(QtCore.Qt.PenStyle.NoPen)
    index = 0
    for points in positions:
        radius = max(1.5, min(5.0, 0.4 * (height - 2 * margin) / max(len(points), 1)))
        for point in points:
            r, g, b, _ = (colours[index] * 255).astype(int)
            painter.setBrush(QtGui.QColor(int(r), int(g), int(b)))
            painter.drawEllipse(QtCore.QPointF(*point), radius, radius)
            index += 1
    painter.setPen(TEXT)
    painter.drawText(
        QtCore.QPointF(10, 18), f"update {step:,} · neurons coloured by {quantity} · {sizes}"
    )
    painter.end()
    return image
