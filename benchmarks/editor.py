"""Training from the editor against training headless, and how responsive the window stays.

Side by side in one process: the arm example's first N updates headless (the Runner on this
thread, as `atrap run` does) and then from the editor (worker thread, events to the GUI by
queued signals, the Qt event loop running). While the editor trains, a 20 ms timer measures
how late the event loop serves it: the window's responsiveness. Prints updates/s of each, the
ratio, and the timer's lateness (median, 99th percentile, worst).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/editor.py [--updates 300] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtWidgets

from atrap_studio.core.yaml_io import load_graph, save_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes import builtin_registry
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.runner import Runner, configure_threads
from atrap_studio.ui.main_window import MainWindow
from atrap_studio.ui.session_files import AppPaths

TICK_MS = 20


def headless(updates: int, threads: int) -> float:
    configure_threads(threads)
    doc = load_graph(example_path("robot_arm_reach"))
    runner = Runner(Pipeline(doc, builtin_registry()))
    start = time.perf_counter()
    runner.run(updates)
    return updates / (time.perf_counter() - start)


def in_editor(
    updates: int, threads: int, folder: Path, *, views: bool = False
) -> tuple[float, list[float], int]:
    """Updates/s from the editor, the GUI timer's lateness (ms), and how many frames were drawn.

    With ``views`` the scene, neuron and curve docks are all on screen (the neuron view floats
    beside the window); without, they are closed.
    """
    share = QtCore.Qt.ApplicationAttribute.AA_ShareOpenGLContexts
    QtCore.QCoreApplication.setAttribute(share)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    window = MainWindow(builtin_registry(), AppPaths(folder / "c", folder / "d"), threads=threads)
    window.resize(1280, 780)
    window.show()
    for name in ("Scene", "Neurons", "Curves"):
        window.docks[name].setVisible(views)
    if views:
        window.docks["Neurons"].setFloating(True)
        window.docks["Neurons"].resize(640, 480)
        window.docks["Curves"].raise_()
    frames = [0]
    window.runs.event_received.connect(
        lambda e: frames.__setitem__(0, frames[0] + (e.kind == "snapshot"))
    )
    path = folder / "arm.yaml"
    save_graph(load_graph(example_path("robot_arm_reach")), path)
    window.open_file(path, ask=False)
    lateness: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        lateness.append(max(0.0, (now - last[0]) * 1000 - TICK_MS))
        last[0] = now

    timer = QtCore.QTimer()
    timer.setInterval(TICK_MS)
    timer.timeout.connect(tick)
    loop = QtCore.QEventLoop()
    times: dict[str, float] = {}

    def on_event(event: object) -> None:
        kind = getattr(event, "kind", "")
        if kind == "started":
            times["start"] = time.perf_counter()
            last[0] = times["start"]
            timer.start()
        elif kind == "finished":
            times["end"] = time.perf_counter()
            timer.stop()
            loop.quit()

    window.runs.event_received.connect(on_event)
    window.run(resume=False, steps=updates)
    loop.exec()
    window.editor.undo_stack.setClean()
    window.runs.wait(60.0)  # "finished" comes just before the training thread ends
    window.close()
    app.processEvents()
    return updates / (times["end"] - times["start"]), lateness, frames[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        gui, late, _ = in_editor(args.updates, args.threads, Path(tmp))
    plain = headless(args.updates, args.threads)
    late = sorted(late) or [float("nan")]  # no tick at all: a run shorter than one
    p99 = late[min(len(late) - 1, int(0.99 * len(late)))]
    print(f"arm example, {args.updates} updates, {args.threads} thread(s)")
    print(f"  headless:    {plain:7.1f} updates/s")
    print(f"  in editor:   {gui:7.1f} updates/s   ({gui / plain:.0%} of headless)")
    print(
        f"  event loop lateness of a {TICK_MS} ms timer while training: median "
        f"{statistics.median(late):.1f} ms, p99 {p99:.1f} ms, worst {late[-1]:.1f} ms "
        f"({len(late)} ticks)"
    )


if __name__ == "__main__":
    main()
