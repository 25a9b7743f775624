"""Take the pictures in docs/quick-start.md from the real program.

Run under a display (or Xvfb): ``xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python
scripts/docs_screenshots.py docs/images``. Each picture is the editor driven through the same
methods its menus and panels call, on temporary settings so your own are not touched.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_PREFERRED_BINDING", "PySide6")

from PySide6 import QtCore, QtWidgets

from atrap_studio.nodes import builtin_registry
from atrap_studio.ui.app import grab_window
from atrap_studio.ui.main_window import MainWindow
from atrap_studio.ui.session_files import AppPaths

SIZE = (1280, 780)


def settle(app: QtWidgets.QApplication, seconds: float = 0.4) -> None:
    """Let the event loop run (idle, not spinning) for a while."""
    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def shoot(app: QtWidgets.QApplication, window: MainWindow, out: Path) -> None:
    settle(app)
    grab_window(window).save(str(out))
    print(f"saved {out}")


def main(folder: str) -> int:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    QtCore.QCoreApplication.setAttribute(QtCore.Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QtWidgets.QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        window = MainWindow(builtin_registry(), AppPaths(Path(tmp) / "c", Path(tmp) / "d"))
        window.resize(*SIZE)
        window.show()
        window.open_example("robot_arm_reach")
        settle(app)
        window.canvas.frame_ids(None)
        window.canvas.select_ids(["brain"])
        shoot(app, window, out / "editor-example.png")

        window.canvas.select_ids([])
        window.node_palette.search.setText("sens")
        window.canvas_control.quick_add_at_cursor()
        window.quick_add.search.setText("reward")
        shoot(app, window, out / "editor-add-nodes.png")
        window.quick_add.hide()
        window.node_palette.search.clear()

        window.editor.unlink("near.reward", "teach.reward")
        window.editor.validate_now()
        window.canvas.select_ids(["teach"])
        shoot(app, window, out / "editor-problem.png")
        window.editor.undo_stack.undo()

        block = window.editor.group(["q", "goal"], "Sensors")
        assert block is not None
        window.editor.set_collapsed(block, True)
        window.canvas.clear_selection()
        window.canvas.frame_ids(None)
        window.canvas.select_ids(["q"])
        shoot(app, window, out / "editor-block.png")
        window.editor.undo_stack.undo()
        window.editor.undo_stack.undo()

        window.path = Path(tmp) / "robot_arm_reach.yaml"  # runs go beside the (temporary) file
        window.canvas.frame_ids(None)
        window.docks["Properties"].hide()
        window.docks["Scene"].raise_()
        window.run(resume=False)
        deadline = time.monotonic() + 60
        while "updates/s" not in window.run_label.text() and time.monotonic() < deadline:
            settle(app, 0.2)
        settle(app, 3.0)
        window.docks["Log"].raise_()
        shoot(app, window, out / "editor-running.png")
        settle(app, 8.0)
        window.scene_view.render_image(640, 480).save(str(out / "view-scene.png"))
        window.docks["Neurons"].raise_()
        settle(app, 4.0)
        window.neuron_view.render_image(640, 480).save(str(out / "view-neurons.png"))
        window.docks["Curves"].raise_()
        settle(app, 3.0)
        window.curves.export_png(out / "view-curves.png")
        window.docks["Scene"].raise_()
        settle(app, 3.0)
        shoot(app, window, out / "editor-watching.png")
        window.runs.stop()
        window.runs.wait(60)
        settle(app)
        window.editor.undo_stack.setClean()
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/images"))
