"""pyqtgraph's 3-D view as a native OpenGL window embedded in the editor.

A ``QOpenGLWidget`` (pyqtgraph's ``GLViewWidget``) makes Qt compose the whole top-level window
through OpenGL on every repaint, so with Mesa's software renderer each status-bar update of the
editor cost 35-60 ms of the GUI thread and training lost a quarter of its speed. A
``QOpenGLWindow`` in a window container draws only itself; the rest of the window repaints in a
millisecond (measured in docs/benchmarks.md).
"""

from __future__ import annotations

import functools
import time
from typing import Any

import numpy as np
from pyqtgraph.opengl.GLViewWidget import GLViewMixin
from PySide6 import QtCore, QtGui, QtOpenGL, QtWidgets


class GLViewWindow(GLViewMixin, QtOpenGL.QOpenGLWindow):
    """The same API as ``GLViewWidget`` (items, camera, projection, grabbing), as a window.

    Attributes:
        container: the widget that holds it in a layout (tooltips and focus live there).
        last_paint_s: how long the last paint took (the views' frame budget uses it).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if gl_available():
            self.container = QtWidgets.QWidget.createWindowContainer(self)
        else:  # Qt's offscreen platform: a GL window would crash Qt when shown
            self.container = QtWidgets.QLabel(
                "The 3-D view needs OpenGL, which this display does not offer."
            )
            self.container.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            self.container.setWordWrap(True)
        self.container.setFocusPolicy(QtCore.Qt.FocusPolicy.ClickFocus)
        self.last_paint_s = 0.0

    def devicePixelRatioF(self) -> float:
        return float(self.devicePixelRatio())

    def initializeGL(self) -> None:
        if gl_available():
            super().initializeGL()

    def resizeGL(self, width: int, height: int) -> None:
        if gl_available():
            super().resizeGL(width, height)

    def paintGL(self) -> None:
        if not gl_available():  # Qt's offscreen platform (tests, servers): nothing to draw on
            return
        start = time.perf_counter()
        super().paintGL()
        self.last_paint_s = time.perf_counter() - start

    def setMouseTracking(self, on: bool) -> None:
        """A window always gets mouse moves; kept so the views read like widget code."""

    def setMinimumSize(self, *size: Any) -> None:
        self.container.setMinimumSize(*size)

    def setToolTip(self, text: str) -> None:
        self.container.setToolTip(text)

    def toolTip(self) -> str:
        return str(self.container.toolTip())

    def mvp(self, size: tuple[int, int] | None = None) -> np.ndarray:
        """Projection × view, the 4×4 matrix from scene to clip space, for the window's size
        (or a picture of ``size``): what picking and projecting points need."""
        width, height = size if size is not None else (self.width(), self.height())
        region = (0, 0, max(width, 1), max(height, 1))
        projection = np.array(self.projectionMatrix(region, region).data()).reshape(4, 4).T
        view = np.array(self.viewMatrix().data()).reshape(4, 4).T
        matrix: np.ndarray = projection @ view
        return matrix

    def grabFramebuffer(self) -> QtGui.QImage:
        """Render the view afresh into an image of the window's size.

        ``QOpenGLWindow.grabFramebuffer`` only reads back whatever the window's buffer holds,
        which is undefined after an off-screen render; rendering to a framebuffer object always
        gives the current picture.
        """
        width, height = max(1, self.deviceWidth()), max(1, self.deviceHeight())
        if not self.isValid() or not gl_available():  # no GL context to draw with (yet)
            blank = QtGui.QImage(width, height, QtGui.QImage.Format.Format_RGB32)
            blank.fill(QtGui.QColor.fromRgbF(*self.opts["bgcolor"]))
            return blank
        bgra = np.ascontiguousarray(self.renderToArray((width, height)))
        image = QtGui.QImage(bgra.data, width, height, 4 * width, QtGui.QImage.Format.Format_RGB32)
        return image.copy()

    def repaint(self) -> None:
        """Paint now (as ``QWidget.repaint``): render into the window and swap."""
        if self.isExposed():
            self.update()
            QtCore.QCoreApplication.sendPostedEvents(self, QtCore.QEvent.Type.UpdateRequest)

    def isVisible(self) -> bool:
        return bool(self.container.isVisible())

    def visibleRegion(self) -> QtGui.QRegion:
        return self.container.visibleRegion()


@functools.cache
def gl_available() -> bool:
    """Whether this Qt platform can give an OpenGL context (the offscreen one cannot)."""
    context = QtGui.QOpenGLContext()
    return bool(context.create()) and context.isValid()
