"""``atrap-studio [FILE]``: open the editor (or, with ``--screenshot``, take a picture of it)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from atrap_studio.ui.session_files import AppPaths

if TYPE_CHECKING:
    from PySide6 import QtGui, QtWidgets


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="atrap-studio",
        description="ATRAP Studio: compose a training pipeline from nodes, run it, watch it learn.",
    )
    parser.add_argument(
        "file",
        nargs="?",
        help="graph file to open (default: the last one, or the robot-arm example)",
    )
    parser.add_argument("--example", help="open a shipped example by name instead of a file")
    parser.add_argument(
        "--screenshot",
        metavar="OUT.png",
        help="open, wait until the window is drawn, save a picture of it and exit",
    )
    parser.add_argument(
        "--quit-when-drawn",
        action="store_true",
        help="open, wait until the window is drawn, print 'drawn' and exit (start-up timing: "
        "benchmarks/startup.py)",
    )
    parser.add_argument(
        "--size", default="1400x860", metavar="WxH", help="window size (default 1400x860)"
    )
    parser.add_argument("--threads", type=int, help="CPU threads for training")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        print(f"atrap-studio: --size must look like 1400x860, not {args.size!r}", file=sys.stderr)
        return 2

    from PySide6 import QtCore, QtWidgets

    from atrap_studio.core.errors import AtrapError
    from atrap_studio.core.yaml_io import load_graph
    from atrap_studio.nodes import builtin_registry
    from atrap_studio.ui.main_window import MainWindow

    share = QtCore.Qt.ApplicationAttribute.AA_ShareOpenGLContexts
    QtCore.QCoreApplication.setAttribute(share)  # the scene and neuron views share GL resources
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("ATRAP Studio")
    app.setOrganizationName("ATRAP")
    window = MainWindow(builtin_registry(), AppPaths.default(), threads=args.threads)
    window.resize(width, height)
    if args.screenshot or args.quit_when_drawn:  # as asked: no prompts, dialogs or last file
        if args.file:
            try:
                window.adopt(load_graph(args.file), Path(args.file))
            except AtrapError as exc:
                print(f"atrap-studio: {exc}", file=sys.stderr)
                return 1
            opened = True
        else:
            opened = window.open_example(args.example or "robot_arm_reach")
        if not opened:
            return 1
        window.show()
        if args.quit_when_drawn:
            wait_drawn(app, window, settle_s=0.0)
            print("drawn", flush=True)
            window.close()
            return 0
        return screenshot(app, window, Path(args.screenshot))
    window.start(args.file, example=args.example)
    window.show()
    return app.exec()


def screenshot(app: object, window: object, out: Path, settle_s: float = 0.5) -> int:
    """Wait until the window is on screen and drawn, then save it as a PNG."""
    from PySide6 import QtWidgets

    assert isinstance(app, QtWidgets.QApplication) and isinstance(window, QtWidgets.QMainWindow)
    wait_drawn(app, window, settle_s)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not grab_window(window).save(str(out)):
        print(f"atrap-studio: could not write {out}", file=sys.stderr)
        return 1
    print(f"saved {out}")
    window.close()
    return 0


def wait_drawn(app: object, window: object, settle_s: float) -> None:
    """Wait until the window is on screen and has painted (then ``settle_s`` more seconds)."""
    from PySide6 import QtCore, QtWidgets

    assert isinstance(app, QtWidgets.QApplication) and isinstance(window, QtWidgets.QMainWindow)
    deadline = time.monotonic() + 15.0
    handle = window.windowHandle()
    while (handle is None or not handle.isExposed()) and time.monotonic() < deadline:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
        handle = window.windowHandle()
    settle = time.monotonic() + settle_s
    while time.monotonic() < settle:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
    window.canvas.frame_ids(None)  # type: ignore[attr-defined]
    app.processEvents()


def grab_window(window: QtWidgets.QWidget) -> QtGui.QPixmap:
    """A picture of the whole window as on screen, the native OpenGL views included.

    ``QWidget.grab`` renders widgets only, so the 3-D views (native GL windows) would be blank;
    the screen's copy has them. Without a real screen (offscreen platform) there is no GL and
    ``grab`` shows everything there is.
    """
    from atrap_studio.ui.views.gl_window import gl_available

    screen = window.screen()
    if gl_available() and screen is not None:
        return screen.grabWindow(window.winId())
    return window.grab()


if __name__ == "__main__":
    raise SystemExit(main())
