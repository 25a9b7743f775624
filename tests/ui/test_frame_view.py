"""A gymnasium scene in the editor: the Scene dock switches to the frame view and shows it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytestqt.qtbot import QtBot

from atrap_studio.core.yaml_io import load_graph, save_graph
from atrap_studio.examples import example_path
from atrap_studio.ui.main_window import MainWindow
from atrap_studio.ui.views.scenes.frame import QtFrameView
from tests.conftest import shrink
from tests.ui.test_run import RUN_TIMEOUT_MS, click_tool, record


def test_running_cartpole_shows_its_frames_and_judges_returns(
    make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path
) -> None:
    doc = shrink(
        load_graph(example_path("cartpole_ppo")),
        steps=400,
        eval_every=200,
        eval_episodes=8,
        log_every=2,
        horizon=16,
    )
    path = tmp_path / "cartpole.yaml"
    save_graph(doc, path)
    window = make_window()
    assert window.open_file(path, ask=False)
    window.resize(1400, 900)
    window.show()
    window.docks["Scene"].raise_()
    events = record(window)
    click_tool(window, "run")
    stack = window.live.scene_stack
    qtbot.waitUntil(lambda: isinstance(stack.currentWidget(), QtFrameView), timeout=RUN_TIMEOUT_MS)
    view = stack.currentWidget()
    assert isinstance(view, QtFrameView)
    qtbot.waitUntil(lambda: view._frame is not None, timeout=RUN_TIMEOUT_MS)
    assert view.copy.maximum() == 3  # four copies to choose from
    view.copy.setValue(2)  # watch copy 2: the run is told, and its next frames are of it
    qtbot.waitUntil(lambda: "copy 2" in view.label.text(), timeout=RUN_TIMEOUT_MS)
    picture = view.picture.pixmap().toImage()
    white = [
        picture.pixelColor(x, y).lightness() > 240
        for x in range(0, picture.width(), 8)
        for y in range(0, picture.height(), 8)
    ]
    assert picture.width() > 100 and sum(white) > len(white) // 2  # CartPole's white frame
    window.runs.stop()
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=RUN_TIMEOUT_MS)
    assert any(e.kind == "snapshot" and e.data["scene"].kind == "frame" for e in events)
    window.grab().save(str(tmp_path / "editor-cartpole.png"))
    summary = window.status_message.text()
    assert "succeeded" in summary and "median" in summary  # judged by the scene's declaration
