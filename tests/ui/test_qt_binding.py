"""Guards against the PySide6 release that crashes live-updating programs on Python 3.11.

PySide6 6.12.0 on Python 3.11 drops one reference to ``None`` on every Qt call that returns
nothing; ``None`` is not immortal before 3.12, so a program that redraws plots for about a
minute aborts with ``Fatal Python error: none_dealloc``. pyproject pins a release without it.
"""

from __future__ import annotations

import sys

from PySide6 import QtWidgets
from pytestqt.qtbot import QtBot


def test_void_qt_calls_keep_none_alive(qtbot: QtBot) -> None:
    widget = QtWidgets.QWidget()
    qtbot.addWidget(widget)
    widget.show()
    before = sys.getrefcount(None)
    for _ in range(1000):
        widget.update()
    # a leaking binding loses one reference per call (-1000); ordinary churn is a few dozen
    assert sys.getrefcount(None) >= before - 50


def test_editor_libraries_use_pyside6() -> None:
    import pyqtgraph
    from NodeGraphQt import NodeGraph  # noqa: F401 - importing through its Qt.py shim is the test
    from Qt import __binding__

    assert __binding__ == "PySide6"
    assert pyqtgraph.Qt.QT_LIB == "PySide6"
