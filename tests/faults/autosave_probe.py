"""The editor autosaving onto a full disk, run by test_autosave_full_disk.py inside a mount
namespace whose ``DATA/autosave`` is a tiny tmpfs: edits by key presses, the autosave timer,
the disk filled and then freed. Writes what it saw as JSON to ``REPORT``.

    python -m tests.faults.autosave_probe DATA USER_FILE REPORT
"""

from __future__ import annotations

import errno
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QT_PREFERRED_BINDING", "PySide6")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest

from atrap_studio.core.yaml_io import load_graph
from atrap_studio.nodes import builtin_registry
from atrap_studio.ui.main_window import MainWindow
from atrap_studio.ui.session_files import AppPaths

TICK_MS = 50


def fill(folder: Path) -> Path:
    """Write zeros into ``folder`` until its disk is full."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    return filler


def wait_until(condition: Callable[[], bool], seconds: float = 20.0) -> bool:
    """Let Qt run (timers, slots) until ``condition`` holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        QTest.qWait(TICK_MS)
    return True


def main(data: Path, user_file: Path, report: Path) -> None:
    tracebacks: list[str] = []

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        tracebacks.append("".join(traceback.format_exception(kind, value, tb)))
        sys.__excepthook__(kind, value, tb)

    sys.excepthook = hook  # what a slot raises would otherwise only be printed
    app = QtWidgets.QApplication([])
    window = MainWindow(builtin_registry(), AppPaths(data / "config", data), autosave_ms=TICK_MS)
    window.show()
    assert window.open_example("robot_arm_reach") and window.save_to(user_file)
    saved = user_file.read_bytes()
    folder = window.session.autosaver.folder
    filler = fill(folder)

    window.canvas.select_ids(["teach"])
    lr = window.properties.widgets["lr"]
    lr.setFocus()
    QTest.keyClick(lr, QtCore.Qt.Key.Key_Up)  # an edit: the graph now has unsaved changes
    status = window.status_message
    failed = wait_until(lambda: "Autosave failed" in status.text())
    said_full = status.text()
    QTest.qWait(4 * TICK_MS)  # a few more failing ticks
    QTest.keyClick(lr, QtCore.Qt.Key.Key_Up)  # and the editor goes on
    value = window.editor.doc.node("teach").props["lr"]  # type: ignore[union-attr]
    filler.unlink()
    recovered = wait_until(lambda: "Autosave works again" in window.log_view.toPlainText())
    copy = window.session.autosaver.current
    result = {
        "failed": failed,
        "status": said_full,
        "log": window.log_view.toPlainText(),
        "recovered": recovered,
        "user_file_unchanged": user_file.read_bytes() == saved,
        "modified": window.isWindowModified(),
        "value": value,
        "copy_holds_value": copy is not None
        and load_graph(copy).node("teach").props["lr"] == value,  # type: ignore[union-attr]
        "autosave_folder": sorted(p.name for p in folder.iterdir()),
        "tracebacks": tracebacks,
    }
    report.write_text(json.dumps(result))
    window.editor.undo_stack.setClean()  # close without the question about unsaved edits
    window.close()
    app.processEvents()


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
