"""Saving from the editor keeps what people wrote in the file: its comments and its layout."""

from __future__ import annotations

import difflib
import shutil
from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from atrap_studio.examples import example_path
from atrap_studio.ui.main_window import MainWindow
from tests.ui.test_properties import _click_node, _type_into


def test_open_edit_save_keeps_the_examples_comments(
    make_window: Callable[..., MainWindow], tmp_path: Path, qtbot: QtBot
) -> None:
    path = tmp_path / "arm.yaml"
    shutil.copy(example_path("robot_arm_reach"), path)
    before = path.read_text(encoding="utf-8")
    assert before.startswith("# Robot arm learns to reach")
    window = make_window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    assert window.open_file(path, ask=False)
    _click_node(window, "arm")
    _type_into(window.properties.widgets["joints"], "4")
    assert window.session.modified
    QTest.keyClick(window, QtCore.Qt.Key.Key_S, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert not window.session.modified
    after = path.read_text(encoding="utf-8")
    changed = [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="")
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    ]
    assert changed == [
        "-    props: {joints: 6, instances: 1024, success_mm: 10.0}",
        "+    props: {joints: 4, instances: 1024, success_mm: 10.0}",
    ], "only the edited value changed; the header and every comment are still there"
