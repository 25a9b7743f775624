"""The tank arena in the editor: the Scene dock switches to the arena view and draws the fight."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytestqt.qtbot import QtBot

from atrap_studio.core.yaml_io import load_graph, save_graph
from atrap_studio.examples import example_path
from atrap_studio.ui.main_window import MainWindow
from atrap_studio.ui.views.scenes.tank_arena import AGENT, ENEMY, TankArenaView
from tests.conftest import shrink
from tests.ui.test_run import RUN_TIMEOUT_MS, click_tool


def _has_colour(view: TankArenaView, colour: object) -> bool:
    image = view.grab().toImage()
    return any(
        image.pixelColor(x, y) == colour
        for x in range(0, image.width(), 2)
        for y in range(0, image.height(), 2)
    )


def test_running_the_tanks_shows_the_arena_and_both_tanks(
    make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path
) -> None:
    doc = shrink(load_graph(example_path("tanks_camera_ppo")), steps=300, log_every=2, horizon=8)
    path = tmp_path / "tanks.yaml"
    save_graph(doc, path)
    window = make_window()
    assert window.open_file(path, ask=False)
    window.resize(1400, 900)
    window.show()
    window.docks["Scene"].raise_()
    click_tool(window, "run")
    stack = window.live.scene_stack
    qtbot.waitUntil(
        lambda: isinstance(stack.currentWidget(), TankArenaView), timeout=RUN_TIMEOUT_MS
    )
    view = stack.currentWidget()
    assert isinstance(view, TankArenaView)
    qtbot.waitUntil(lambda: "against the wanderer" in view.label.text(), timeout=RUN_TIMEOUT_MS)
    assert view.arena.maximum() == 3  # four arenas to choose from
    view.arena.setValue(1)
    qtbot.waitUntil(lambda: "arena 1" in view.label.text(), timeout=RUN_TIMEOUT_MS)
    assert _has_colour(view, AGENT) and _has_colour(view, ENEMY)
    window.runs.stop()
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=RUN_TIMEOUT_MS)
    view.grab().save(str(tmp_path / "tank-view.png"))


def test_opening_a_tank_graph_shows_the_arena_view_before_any_run(
    make_window: Callable[..., MainWindow], tmp_path: Path
) -> None:
    path = tmp_path / "tanks.yaml"
    save_graph(load_graph(example_path("tanks_camera_ppo")), path)
    window = make_window()
    assert window.open_file(path, ask=False)
    assert isinstance(window.live.scene_stack.currentWidget(), TankArenaView)
    arm = tmp_path / "arm.yaml"
    save_graph(load_graph(example_path("robot_arm_reach")), arm)
    assert window.open_file(arm, ask=False)
    assert window.live.scene_stack.currentWidget() is window.live.scene_view
