"""Pictures of a headless run: ``atrap run ... --snapshots DIR``.

The CLI subscribes a :class:`SnapshotWriter` to its run's events. Every ``every`` updates it asks
the runner for a snapshot and writes ``scene-<update>.png`` and ``neurons-<update>.png``; at the
end it writes the last frame and ``curves.png`` (and ``curves.csv``). It runs on the training
thread, which in the CLI is the main thread, so Qt is used from the thread that made it; with no
display it uses Qt's offscreen platform (the pictures need no OpenGL).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from atrap_studio.core.events import Event

os.environ.setdefault("QT_PREFERRED_BINDING", "PySide6")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtWidgets

from atrap_studio.ui.views.curves import QtCurves
from atrap_studio.ui.views.pictures import network_picture
from atrap_studio.ui.views.scenes import scene_picture

SIZE = (960, 640)


class SnapshotWriter:
    """An event observer that turns a run into PNG frames and a curves picture."""

    def __init__(self, folder: str | os.PathLike[str], runner: Any, every: int) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.runner = runner
        self.every = max(1, every)
        self.app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
        self.curves = QtCurves()
        self.written: list[Path] = []
        self._next = 0
        self._drawn = -1

    def __call__(self, event: Event) -> None:
        self.curves.on_event(event)
        due = event.kind == "step" and event.step >= self._next + self.every
        if event.kind == "started" or due:
            self._next = event.step
            self.runner.request_snapshot()
        elif event.kind == "snapshot":
            self._write_frames(event.step, event.data)
        elif event.kind == "finished":
            if event.step > self._drawn:  # the run ended before serving the last request
                self._write_frames(event.step, self.runner.pipeline.snapshot([0]))
            self._save(self.curves.render_image(*SIZE), "curves.png")
            try:
                self.curves.export_csv(self.folder / "curves.csv")
                self.written.append(self.folder / "curves.csv")
            except OSError as exc:
                print(f"atrap: could not write curves.csv: {exc}", file=sys.stderr)

    def _write_frames(self, step: int, data: dict[str, Any]) -> None:
        self._drawn = step
        picture = scene_picture(data["scene"], *SIZE, step) if data.get("scene") else None
        if picture is not None:  # a scene of a kind no renderer draws gets no picture
            self._save(picture, f"scene-{step:08d}.png")
        if data.get("network") is not None:
            self._save(network_picture(data["network"], *SIZE, step), f"neurons-{step:08d}.png")

    def _save(self, image: Any, name: str) -> None:
        """Write a picture; a full disk costs pictures, never the training."""
        path = self.folder / name
        if image.save(str(path)):
            self.written.append(path)
        else:
            print(f"atrap: could not write {path}; training goes on", file=sys.stderr)
