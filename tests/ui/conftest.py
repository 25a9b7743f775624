"""Qt tests run offscreen, on PySide6, whatever else is installed; the editor's fixtures."""

from __future__ import annotations

import gc
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_PREFERRED_BINDING", "PySide6")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6 import QtCore, QtGui, QtWidgets
from pytestqt.qtbot import QtBot

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import save_graph
from atrap_studio.ui.editor import Editor
from atrap_studio.ui.main_window import MainWindow
from atrap_studio.ui.session_files import AppPaths
from tests.conftest import shrink

Answer = Callable[[QtWidgets.QMessageBox.StandardButton], list[str]]


@pytest.fixture
def app_paths(tmp_path: Path) -> AppPaths:
    return AppPaths(tmp_path / "config", tmp_path / "data")


@pytest.fixture
def editor(qtbot: QtBot, registry: Registry) -> Editor:
    return Editor(registry, validate_delay_ms=0)


@pytest.fixture
def make_window(
    qtbot: QtBot, registry: Registry, app_paths: AppPaths
) -> Iterator[Callable[..., MainWindow]]:
    """Builds main windows on temporary settings/data folders; closes them without prompts."""
    made: list[MainWindow] = []

    def make(**options: object) -> MainWindow:
        options.setdefault("autosave_ms", 3_600_000)
        options.setdefault("threads", 1)
        window = MainWindow(registry, app_paths, **options)  # type: ignore[arg-type]
        window.editor._timer.setInterval(0)
        made.append(window)
        window.show()
        return window

    yield make
    for window in made:
        window.runs.stop()
        window.runs.wait(60.0)
        window.editor.undo_stack.setClean()
        window.close()
        window.deleteLater()
    made.clear()
    # Collect the closed windows' Python wrappers here, on the GUI thread: collected later by a
    # training thread, PySide6 defers their deletion to the GUI thread, which can then wait on
    # a Qt lock that thread holds while it waits for the GIL (a deadlock seen in CI).
    QtWidgets.QApplication.processEvents()
    gc.collect()


@pytest.fixture
def window(make_window: Callable[..., MainWindow]) -> MainWindow:
    """The main window showing the robot-arm example."""
    win = make_window()
    assert win.open_example("robot_arm_reach")
    return win


@pytest.fixture
def small_window(
    make_window: Callable[..., MainWindow], arm_doc: GraphDocument, tmp_path: Path
) -> Callable[..., MainWindow]:
    """A window on a shrunk copy of the arm example saved in a temporary folder."""

    def make(**trainer: object) -> MainWindow:
        path = tmp_path / "small.yaml"
        save_graph(shrink(arm_doc, **trainer), path)
        window = make_window()
        assert window.open_file(path, ask=False)
        return window

    return make


@pytest.fixture
def answer(qtbot: QtBot) -> Answer:
    """Arrange for the next message box to be answered with ``button``; returns its texts."""

    def arrange(button: QtWidgets.QMessageBox.StandardButton) -> list[str]:
        seen: list[str] = []

        def click() -> None:
            box = QtWidgets.QApplication.activeModalWidget()
            if isinstance(box, QtWidgets.QMessageBox):
                seen.append(box.text())
                box.button(button).click()
            else:
                QtCore.QTimer.singleShot(20, click)

        QtCore.QTimer.singleShot(0, click)
        return seen

    return arrange


def drop_files(window: MainWindow, paths: list[Path], at: tuple[float, float] = (100, 100)) -> None:
    """Drop files on the window's canvas as a file manager would."""
    mime = QtCore.QMimeData()  # kept referenced: the event does not own it
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(p)) for p in paths])
    event = QtGui.QDropEvent(
        QtCore.QPointF(*at),
        QtCore.Qt.DropAction.CopyAction,
        mime,
        QtCore.Qt.MouseButton.LeftButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    window.canvas.viewer().dropEvent(event)
