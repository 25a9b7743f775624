"""Why a run is slow: Run → Threads chooses the thread count, and a run far below this
machine's earlier speed for the graph says so in the status bar (issue 12)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from atrap_studio.ui.main_window import MainWindow
from atrap_studio.ui.run_speed import graph_key
from tests.ui.conftest import Answer
from tests.ui.test_run import RUN_TIMEOUT_MS, Buttons, click_tool


def choose_threads(window: MainWindow, qtbot: QtBot, label: str) -> None:
    """Run → Threads → ``label``, clicked with the mouse."""
    bar = window.menuBar()
    run_menu = next(a.menu() for a in bar.actions() if a.text() == "&Run")
    QTest.mouseClick(
        bar,
        QtCore.Qt.MouseButton.LeftButton,
        pos=bar.actionGeometry(run_menu.menuAction()).center(),
    )
    qtbot.waitUntil(run_menu.isVisible)
    entry = next(a for a in run_menu.actions() if a.text() == "&Threads")
    QTest.mouseClick(
        run_menu, QtCore.Qt.MouseButton.LeftButton, pos=run_menu.actionGeometry(entry).center()
    )
    threads_menu = entry.menu()
    qtbot.waitUntil(threads_menu.isVisible)
    choice = next(a for a in threads_menu.actions() if a.text() == label)
    QTest.mouseClick(
        threads_menu,
        QtCore.Qt.MouseButton.LeftButton,
        pos=threads_menu.actionGeometry(choice).center(),
    )
    qtbot.waitUntil(lambda: not run_menu.isVisible())
    assert choice.isChecked()


def test_threads_are_chosen_in_the_run_menu_and_a_slow_run_says_why(
    small_window: Callable[..., MainWindow], qtbot: QtBot, answer: Answer
) -> None:
    window = small_window(steps=60, log_every=5, eval_every=60, checkpoint_every=60)
    choose_threads(window, qtbot, "&2 thread(s)")
    assert "2 thread(s)" in window.status_message.text()
    click_tool(window, "run")
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=RUN_TIMEOUT_MS)
    assert "60 updates on 2 thread(s)." in window.log_view.toPlainText()
    assert window.status_message.text().startswith("Run completed at update 60")
    key = f"speed/{graph_key(window.editor.doc)}"
    recorded = float(window.settings.value(f"{key}/updates_per_s", 0.0))  # type: ignore[arg-type]
    assert recorded > 0 and int(window.settings.value(f"{key}/threads")) == 2  # type: ignore[call-overload]

    # This machine once did far more with this graph; now it is run on one thread.
    window.settings.setValue(f"{key}/updates_per_s", recorded * 1000)
    choose_threads(window, qtbot, "&1 thread(s)")
    answer(Buttons.No)  # start over rather than resume
    assert window.run(steps=100_000)
    qtbot.waitUntil(
        lambda: "Slower than before" in window.status_message.text(), timeout=RUN_TIMEOUT_MS
    )
    warning = window.status_message.text()
    assert "on 2 thread(s); this run has 1 (Run → Threads)" in warning
    assert f"did {recorded * 1000:,.0f}" in warning
    window.runs.stop()
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=RUN_TIMEOUT_MS)
    assert "Training started: 100,000 updates on 1 thread(s)." in window.log_view.toPlainText()
    said = window.status_message.text()
    assert said.startswith("Run stopped at update"), f"the run's end replaces the warning: {said}"
    assert float(window.settings.value(f"{key}/updates_per_s")) == recorded * 1000  # type: ignore[arg-type]
    assert QtWidgets.QApplication.activePopupWidget() is None
