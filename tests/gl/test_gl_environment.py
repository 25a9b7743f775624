"""The OpenGL stack the views stand on: Xvfb, the xcb platform and Mesa render real frames."""

from __future__ import annotations

import numpy as np
from pytestqt.qtbot import QtBot

from tests.gl.conftest import rgba


def test_a_gl_view_renders_a_non_blank_frame(qtbot: QtBot) -> None:
    import pyqtgraph.opengl as gl

    view = gl.GLViewWidget()
    qtbot.addWidget(view)
    view.resize(200, 150)
    view.addItem(gl.GLScatterPlotItem(pos=np.zeros((1, 3)), size=40, color=(1, 0, 0, 1)))
    view.show()
    qtbot.waitExposed(view)
    image = rgba(view.grabFramebuffer())
    assert image.shape == (150, 200, 4)
    reds = (image[..., 0] > 200) & (image[..., 1] < 80) & (image[..., 2] < 80)
    assert reds.sum() > 50, "the red point was not drawn"
