"""Pictures of a run without OpenGL: the network drawn with QPainter (the scenes' pictures are
drawn by their kind's renderer in ``ui/views/scenes/``).

A run on a server (``atrap run --snapshots DIR``) has no X server and Qt's offscreen platform has
no OpenGL, so the 3-D docks cannot render there. These draw the same snapshots with 2-D
painting, which works on any Qt platform.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui

from atrap_studio.runtime.snapshots import NetworkSnapshot
from atrap_studio.ui.views.colormaps import infrared, normalise
from atrap_studio.ui.views.neuron_data import Record

BACKGROUND = QtGui.QColor(24, 26, 30)
TEXT = QtGui.QColor(220, 220, 220)


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
