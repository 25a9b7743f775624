"""Playing against a trained tank: keys drive the red tank, the network the blue one, the
difficulty slider weakens the network, and the score counts the fights."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import torch
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import load_graph, save_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes.scenes.tanks.play import MAX_DELAY, Duel
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.runner import Runner
from atrap_studio.ui.main_window import MainWindow
from atrap_studio.ui.tank_play import PlayWindow, has_tank_arena, play_against

Key = QtCore.Qt.Key


def _game() -> GraphDocument:
    doc = load_graph(example_path("tanks_camera_ppo"))
    doc.node("arena").props.update(instances=8, hits_to_kill=1)  # type: ignore[union-attr]
    teach = {"steps": 1, "horizon": 4, "minibatches": 1, "epochs": 1, "eval_episodes": 8}
    doc.node("teach").props.update(teach)  # type: ignore[union-attr]
    return doc


def _network_file(doc: GraphDocument, registry: Registry, folder: Path) -> Path:
    """A real network file of ``doc``, from one update of a real run."""
    Runner(Pipeline(doc, registry, seed=0), out_dir=folder).run()
    return folder / "network.atrapnet"


def test_keys_drive_the_red_tank_and_space_fires(
    qtbot: QtBot, registry: Registry, tmp_path: Path
) -> None:
    doc = _game()
    assert has_tank_arena(doc)
    window = play_against(doc, _network_file(doc, registry, tmp_path / "run"))
    qtbot.addWidget(window)
    window.timer.stop()  # steps are made by hand below, not by the clock
    arena = window.duel.arena
    assert arena.opponent_name == "player"
    arena.position[0] = torch.tensor([[-6.0, -6.0], [0.0, 0.0]])
    arena.heading[0] = torch.tensor([math.pi / 2, 0.0])  # the red tank faces +x
    arena.pillars.zero_()
    QTest.keyPress(window, Key.Key_Up)
    for _ in range(5):
        window.tick()
    QTest.keyRelease(window, Key.Key_Up)
    assert float(arena.position[0, 1, 0]) > 1.0  # drove 1.5 m along +x
    assert abs(float(arena.position[0, 1, 1])) < 1e-4
    QTest.keyPress(window, Key.Key_Left)
    window.tick()
    QTest.keyRelease(window, Key.Key_Left)
    assert float(arena.heading[0, 1]) > 0.1  # turned left
    QTest.keyPress(window, Key.Key_Space)
    window.tick()
    QTest.keyRelease(window, Key.Key_Space)
    assert bool(arena.shell_alive[0, 1])
    assert window.canvas.frame is not None
    window.close()


def test_a_shot_that_destroys_the_network_wins_the_fight_and_scores(
    qtbot: QtBot, registry: Registry, tmp_path: Path
) -> None:
    doc = _game()
    window = play_against(doc, _network_file(doc, registry, tmp_path / "run"))
    qtbot.addWidget(window)
    window.timer.stop()
    arena = window.duel.arena
    arena.position[0] = torch.tensor([[3.0, 0.0], [-3.0, 0.0]])
    arena.heading[0] = torch.tensor([math.pi / 2, 0.0])  # red aims at blue
    arena.pillars.zero_()
    window.duel.difficulty = 0.0  # the network waits its first moves out
    QTest.keyPress(window, Key.Key_Space)
    for _ in range(6):
        window.tick()
        if window.duel.score["won"]:
            break
    QTest.keyRelease(window, Key.Key_Space)
    assert window.duel.score == {"won": 1, "lost": 0, "draw": 0}
    assert "You won" in window.status.text() and "You 1 : 0" in window.score.text()
    window.difficulty.setValue(30)
    assert window.duel.difficulty == 0.3
    window.close()


def test_difficulty_delays_the_networks_moves(registry: Registry) -> None:
    doc = _game()
    weights = Pipeline(doc, registry, seed=0).network.state_dict()
    sharp, slow = Duel(doc, weights, difficulty=1.0), Duel(doc, weights, difficulty=0.0)
    fire = torch.full((1, 8), -1.0)
    fire[0, 7] = 1.0  # the network would fire at once
    assert torch.equal(sharp.handicap(fire), fire)
    played = [slow.handicap(fire) for _ in range(MAX_DELAY)]
    assert all(int(p.argmax()) == 0 for p in played)  # it waits while its moves are on the way
    lapses = sum(int(slow.handicap(fire).argmax()) != 7 for _ in range(200))
    assert 60 < lapses < 180  # then about 60% of its moves are random (7/8 of those not 'fire')


def test_the_slider_shows_the_duels_difficulty(qtbot: QtBot, registry: Registry) -> None:
    doc = _game()
    weights = Pipeline(doc, registry, seed=0).network.state_dict()
    window = PlayWindow(Duel(doc, weights, difficulty=0.4), autostart=False)
    qtbot.addWidget(window)
    assert window.difficulty.value() == 40


def _menu_action(window: MainWindow, text: str) -> QtGui.QAction:
    for menu in window.menuBar().findChildren(QtWidgets.QMenu):
        for action in menu.actions():
            if action.text() == text:
                return action
    raise AssertionError(f"no menu entry {text!r}")


def test_run_menu_plays_against_the_last_runs_network(
    make_window: Callable[..., MainWindow], qtbot: QtBot, registry: Registry, tmp_path: Path
) -> None:
    doc = _game()
    path = tmp_path / "tanks.yaml"
    save_graph(doc, path)
    window = make_window()
    play = _menu_action(window, "&Play Against the Network…")
    assert window.open_file(example_path("robot_arm_reach"), ask=False)
    play.trigger()
    assert "tank arena" in window.status_message.text()  # an arm graph cannot be played
    assert window.open_file(path, ask=False)
    window.runs.out_dir = tmp_path / "run"  # as a finished run leaves it
    _network_file(doc, registry, window.runs.out_dir)
    play.trigger()
    duel_window = window.play.window
    assert duel_window is not None and duel_window.isVisible()
    qtbot.waitUntil(lambda: duel_window.canvas.frame is not None, timeout=5_000)  # it plays
    duel_window.close()
