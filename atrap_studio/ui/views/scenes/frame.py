"""Renderers of the ``frame`` snapshot kind: scenes that draw themselves as pictures.

A gymnasium environment renders its own frames (``render_mode="rgb_array"``); the live view
shows the chosen copy's frame scaled to fit, with its episode's return and length, and the
picture for ``--snapshots`` is the same frame with a caption. Plain widgets, no OpenGL.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.runtime.snapshots import FrameSnapshot
from atrap_studio.ui.views.pictures import BACKGROUND, TEXT

KIND = "frame"


def to_image(frame: np.ndarray) -> QtGui.QImage:
    """An (H, W, 3) uint8 RGB array as a QImage that owns its pixels."""
    data = np.ascontiguousarray(frame[..., :3], dtype=np.uint8)
    height, width = data.shape[:2]
    image = QtGui.QImage(data.data, width, height, 3 * width, QtGui.QImage.Format.Format_RGB888)
    return image.copy()  # detached from the numpy buffer


def caption(snap: FrameSnapshot, step: int) -> str:
    """``update 120 · CartPole-v1, copy 0: return 87.0 after 87 steps``."""
    text = f"update {step:,} · {snap.title}"
    if len(snap.instances):
        text += (
            f", copy {int(snap.instances[0])}: return {float(snap.returns[0]):,.1f} "
            f"after {int(snap.lengths[0]):,} steps"
        )
    return text


def picture(snap: FrameSnapshot, width: int, height: int, step: int) -> QtGui.QImage:
    """The first shown copy's frame, fitted into ``width`` x ``height`` under a caption."""
    image = QtGui.QImage(width, height, QtGui.QImage.Format.Format_RGB32)
    image.fill(BACKGROUND)
    painter = QtGui.QPainter(image)
    painter.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform)
    area = QtCore.QRectF(10, 30, width - 20, height - 40)
    if snap.frames:
        frame = to_image(snap.frames[0])
        fitted = QtCore.QSizeF(frame.size()).scaled(
            area.size(), QtCore.Qt.AspectRatioMode.KeepAspectRatio
        )
        target = QtCore.QRectF(QtCore.QPointF(), fitted)
        target.moveCenter(area.center())
        painter.drawImage(target, frame)
    painter.setPen(TEXT)
    painter.drawText(QtCore.QPointF(10, 20), caption(snap, step))
    if not snap.frames:
        painter.drawText(
            area, QtCore.Qt.AlignmentFlag.AlignCenter | QtCore.Qt.TextFlag.TextWordWrap, snap.note
        )
    painter.end()
    return image


class QtFrameView(QtWidgets.QWidget):
    """Shows the latest frame of one copy of a self-drawing scene, scaled to the dock."""

    instances_changed = QtCore.Signal(list)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.copy = QtWidgets.QSpinBox()
        self.copy.setPrefix("copy ")
        self.copy.setToolTip("Which copy of the environment to watch")
        self.copy.valueChanged.connect(lambda value: self.instances_changed.emit([value]))
        self.label = QtWidgets.QLabel("Run the graph to see the environment.")
        self.label.setObjectName("caption")
        self.picture = QtWidgets.QLabel()
        self.picture.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(160, 120)
        self.picture.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Ignored
        )
        self.picture.setStyleSheet("background: rgb(24, 26, 30); color: rgb(220, 220, 220)")
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.copy)
        top.addWidget(self.label, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.picture, 1)
        self._frame: QtGui.QImage | None = None

    def set_instance_count(self, count: int) -> None:
        self.copy.setMaximum(max(0, count - 1))

    def show_snapshot(self, step: int, snap: FrameSnapshot) -> None:
        self.label.setText(caption(snap, step))
        if snap.frames:
            self._frame = to_image(snap.frames[0])
            self._fit()
        else:
            self._frame = None
            self.picture.setPixmap(QtGui.QPixmap())
            self.picture.setText(snap.note)

    def paint_now(self) -> None:
        self.repaint()

    def render_image(self, width: int, height: int) -> QtGui.QImage:
        """The view as it is now, as a picture."""
        return self.grab().toImage().scaled(width, height)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self._frame is not None:
            pixmap = QtGui.QPixmap.fromImage(self._frame).scaled(
                self.picture.size(),
                QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                QtCore.Qt.TransformationMode.SmoothTransformation,
            )
            self.picture.setPixmap(pixmap)


def live_view() -> QtWidgets.QWidget:
    return QtFrameView()
