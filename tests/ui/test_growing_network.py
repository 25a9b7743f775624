"""A person lets the NN Factory's network grow, runs the graph, and sees each change told in
the Log and marked on the curves."""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from atrap_studio.ui.main_window import MainWindow
from tests.ui.test_properties import _click_node, _type_into
from tests.ui.test_run import RUN_TIMEOUT_MS, click_tool, record

LEFT = QtCore.Qt.MouseButton.LeftButton


def _choose(qtbot: QtBot, box: QtWidgets.QComboBox, text: str) -> None:
    """Open the list and click the entry ``text``, as a person does."""
    box.showPopup()
    view = box.view()
    qtbot.waitUntil(view.isVisible)
    rect = view.visualRect(view.model().index(box.findText(text), 0))
    QTest.mouseClick(view.viewport(), LEFT, QtCore.Qt.KeyboardModifier.NoModifier, rect.center())


def test_a_growing_network_says_how_it_grew(
    small_window: Callable[..., MainWindow], qtbot: QtBot
) -> None:
    window = small_window(steps=40, log_every=10, eval_every=40, checkpoint_every=40)
    _click_node(window, "brain")
    grow = window.properties.widgets["grow"]
    assert isinstance(grow, QtWidgets.QComboBox) and grow.currentText() == "off"
    _choose(qtbot, grow, "schedule")
    every = window.properties.widgets["grow_every"]
    assert isinstance(every, QtWidgets.QSpinBox)
    _type_into(every, "15")
    props = window.editor.doc.node("brain").props  # type: ignore[union-attr]
    assert props["grow"] == "schedule" and props["grow_every"] == 15
    events = record(window)
    click_tool(window, "run")
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=RUN_TIMEOUT_MS)
    changes = [e for e in events if e.kind == "architecture"]
    assert [e.step for e in changes] == [15, 30]
    log = window.log_view.toPlainText().splitlines()
    grew = [line for line in log if "the network grew" in line]
    assert len(grew) == 2, log
    assert "Update 15: the network grew — every 15 updates — widened hidden" in grew[0]
    assert "Hidden layers now [40, 32]" in grew[0]
    assert [m for m in window.curves.store.markers if m[1] == "architecture"] == [
        (15, "architecture"),
        (30, "architecture"),
    ]
