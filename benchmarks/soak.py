"""Soak: the editor with the scene, neuron and curve docks on screen trains the arm example for
a long while; resident memory is sampled every 10 s. The issue's bar: no crash, and less than
100 MB of growth after the first minute.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \
        .venv/bin/python benchmarks/soak.py --minutes 10 [--interval 10]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from atrap_studio.core.yaml_io import load_graph, save_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes import builtin_registry
from atrap_studio.ui.main_window import MainWindow
from atrap_studio.ui.session_files import AppPaths


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    args = parser.parse_args()
    QtCore.QCoreApplication.setAttribute(QtCore.Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = QtWidgets.QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        doc = load_graph(example_path("robot_arm_reach"))
        teach = doc.node("teach")
        assert teach is not None
        teach.props.update(steps=10_000_000, goal_success_rate=0.0)
        path = folder / "soak.yaml"
        save_graph(doc, path)
        window = MainWindow(builtin_registry(), AppPaths(folder / "c", folder / "d"))
        window.resize(1400, 900)
        window.show()
        window.open_file(path, ask=False)
        window.docks["Neurons"].setFloating(True)
        window.docks["Neurons"].resize(640, 480)
        window.docks["Scene"].raise_()
        window.docks["Curves"].raise_()
        counts = {"snapshot": 0, "step": 0, "error": 0}
        last_step = [0]

        def count(event: object) -> None:
            kind = getattr(event, "kind", "")
            counts[kind] = counts.get(kind, 0) + 1
            last_step[0] = getattr(event, "step", last_step[0])

        window.runs.event_received.connect(count)
        samples: list[tuple[float, float, int]] = []
        start = time.monotonic()

        def sample() -> None:
            elapsed = time.monotonic() - start
            samples.append((elapsed, rss_mb(), last_step[0]))
            print(
                f"{elapsed:7.0f} s  rss {samples[-1][1]:7.1f} MB  update {last_step[0]:,}  "
                f"frames {counts['snapshot']:,}",
                flush=True,
            )
            if elapsed >= args.minutes * 60 or (window.runs.state == "idle" and elapsed > 30):
                window.runs.stop()
                window.runs.wait(60)
                app.quit()

        timer = QtCore.QTimer()
        timer.timeout.connect(sample)
        timer.start(max(1, round(args.interval * 1000)))
        window.run(resume=False)
        app.exec()
        # growth is counted from the first minute's sample (from the first one in a shorter run)
        base_t, base_mb = next(((t, mb) for t, mb, _ in samples if t >= 60), samples[0][:2])
        since = "1 min" if base_t >= 60 else f"{base_t:.0f} s"
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"\nran {samples[-1][0] / 60:.1f} min, {samples[-1][2]:,} updates, "
            f"{counts['snapshot']:,} frames, errors {counts['error']}; rss after {since} "
            f"{base_mb:.1f} MB, at the end {samples[-1][1]:.1f} MB "
            f"(growth {samples[-1][1] - base_mb:+.1f} MB; bar < 100 MB), peak {peak:.0f} MB"
        )
        window.editor.undo_stack.setClean()
        window.close()


if __name__ == "__main__":
    main()
