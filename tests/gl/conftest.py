"""OpenGL views need a real X server (Xvfb) and the xcb platform: `scripts/test` runs this folder
in its own pytest process under `xvfb-run` with ``QT_QPA_PLATFORM=xcb``. Elsewhere (no display,
or the offscreen platform, which has no OpenGL) these tests are skipped with that reason."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_PREFERRED_BINDING", "PySide6")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
if os.environ.get("DISPLAY") and "QT_QPA_PLATFORM" not in os.environ:
    os.environ["QT_QPA_PLATFORM"] = "xcb"

from PySide6 import QtCore

# The views' OpenGL contexts share resources, as in the program (pyqtgraph caches its shader
# programs across widgets; without sharing, a second view's context cannot use them).
QtCore.QCoreApplication.setAttribute(QtCore.Qt.ApplicationAttribute.AA_ShareOpenGLContexts)

HAS_GL = bool(os.environ.get("DISPLAY")) and os.environ.get("QT_QPA_PLATFORM") != "offscreen"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if HAS_GL:
        return
    skip = pytest.mark.skip(reason="OpenGL views need Xvfb: scripts/test runs tests/gl under it")
    for item in items:
        if "tests/gl/" in item.nodeid.replace("\\", "/"):
            item.add_marker(skip)


@pytest.fixture
def artifacts() -> Path:
    """Where pictures a person may want to look at are kept (CI keeps this folder)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def rgba(image: object) -> np.ndarray:
    """A QImage as an (height, width, 4) RGBA uint8 array."""
    from PySide6 import QtGui

    assert isinstance(image, QtGui.QImage)
    converted = image.convertToFormat(QtGui.QImage.Format.Format_RGBA8888)
    width, height = converted.width(), converted.height()
    data = np.frombuffer(converted.constBits(), np.uint8, converted.sizeInBytes())
    rows = data.reshape(height, converted.bytesPerLine())[:, : width * 4]
    return rows.reshape(height, width, 4).copy()  # the QImage owns the buffer
