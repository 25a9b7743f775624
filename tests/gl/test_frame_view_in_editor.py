"""A gymnasium scene docked in the editor under Xvfb: the Scene dock switches from the arm's 3-D
view to the frame view, and the neuron view runs beside it (a screenshot is kept)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pytestqt.qtbot import QtBot

from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import load_graph, save_graph
from atrap_studio.examples import example_path
from atrap_studio.ui.main_window import MainWindow
from atrap_studio.ui.session_files import AppPaths
from atrap_studio.ui.views.scenes.frame import QtFrameView
from tests.conftest import shrink

TIMEOUT_MS = 240_000


def test_cartpole_frames_in_the_scene_dock(
    qtbot: QtBot, registry: Registry, tmp_path: Path, artifacts: Path
) -> None:
    doc = shrink(load_graph(example_path("cartpole_ppo")), steps=100_000, horizon=16)
    path = tmp_path / "cartpole.yaml"
    save_graph(doc, path)
    window = MainWindow(registry, AppPaths(tmp_path / "c", tmp_path / "d"), threads=1)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    assert window.open_file(path, ask=False)
    window.docks["Scene"].raise_()
    try:
        window.run()
        stack = window.live.scene_stack
        qtbot.waitUntil(
            lambda: (
                isinstance(stack.currentWidget(), QtFrameView)
                and stack.currentWidget()._frame is not None
            ),
            timeout=TIMEOUT_MS,
        )
        view = stack.currentWidget()
        qtbot.wait(500)
        shot = view.render_image(600, 400)
        pixels = np.array(
            [
                [shot.pixelColor(x, y).lightness() for x in range(0, 600, 10)]
                for y in range(0, 400, 10)
            ]
        )
        assert (pixels > 240).mean() > 0.3, "no white CartPole frame in the dock"
        window.grab().save(str(artifacts / "editor-cartpole.png"))
    finally:
        window.runs.stop()
        window.runs.wait(60)
        window.editor.undo_stack.setClean()
        window.close()
