"""The three live views docked in the editor, fed by a real run (under Xvfb)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.events import Event
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import save_graph
from atrap_studio.runtime.drag_log import DRAGS_FILE, HEADER, read_drags
from atrap_studio.ui.main_window import MainWindow
from atrap_studio.ui.session_files import AppPaths
from tests.conftest import shrink

TIMEOUT_MS = 240_000


def in_reach(point: np.ndarray, reach: float) -> np.ndarray:
    """Where the arm puts a target the cursor carried: pulled inside 98% of its reach."""
    length = float(np.linalg.norm(point))
    return point * min(1.0, 0.98 * reach / length)


@pytest.fixture(params=["user_driven"])
def window(
    request: pytest.FixtureRequest,
    qtbot: QtBot,
    registry: Registry,
    arm_doc: GraphDocument,
    tmp_path: Path,
) -> Iterator[MainWindow]:
    doc = shrink(arm_doc, steps=100_000, log_every=5, checkpoint_every=10_000)
    doc.node("arm").props["target"] = request.param  # type: ignore[union-attr]
    path = tmp_path / "arm.yaml"
    save_graph(doc, path)
    win = MainWindow(registry, AppPaths(tmp_path / "c", tmp_path / "d"), threads=1)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    assert win.open_file(path, ask=False)
    yield win
    win.runs.stop()
    win.runs.wait(60)
    win.editor.undo_stack.setClean()
    win.close()
    # deleted now: a GL window container left to QApplication's destructor crashes it
    win.deleteLater()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)


def test_docks_show_the_run_and_the_user_can_move_a_target(
    window: MainWindow, qtbot: QtBot, artifacts: Path
) -> None:
    events: list[Event] = []
    window.runs.event_received.connect(events.append)
    window.docks["Scene"].raise_()
    window.scene_view.set_instance_count(128)
    window.scene_view.instance.setValue(2)  # show arm 2
    assert window.run(resume=False)
    qtbot.waitUntil(lambda: window.scene_view.snapshot is not None, timeout=TIMEOUT_MS)
    assert int(window.scene_view.snapshot.instances[0]) == 2  # type: ignore[union-attr]
    window.scene_view.move_target([0.25, -0.1, 0.35])

    def placed() -> bool:
        snap = window.scene_view.snapshot
        return snap is not None and 2 in snap.user_targets

    qtbot.waitUntil(placed, timeout=TIMEOUT_MS)
    np.testing.assert_allclose(
        window.scene_view.snapshot.target[0],
        [0.25, -0.1, 0.35],
        atol=1e-5,  # type: ignore[union-attr]
    )
    window.scene_view.render_image(640, 480).save(str(artifacts / "editor-scene-dock.png"))

    window.docks["Neurons"].raise_()
    qtbot.waitUntil(lambda: len(window.neuron_view.recorded_steps()) >= 2, timeout=TIMEOUT_MS)
    window.neuron_view.render_image(640, 480).save(str(artifacts / "editor-neuron-dock.png"))

    window.docks["Curves"].raise_()
    qtbot.waitUntil(lambda: sum(e.kind == "step" for e in events) >= 6, timeout=TIMEOUT_MS)
    window.runs.stop()
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=TIMEOUT_MS)
    keys = {k for e in events if e.kind == "step" for k in e.data["metrics"]}
    qtbot.waitUntil(lambda: window.curves.plotted_keys() == keys, timeout=5000)
    assert {"curriculum/user_moves", "loss/total", "explore/random_share"} <= keys
    window.curves.export_png(artifacts / "editor-curves-dock.png")
    assert "Target of arm 2 moved" in window.log_view.toPlainText()


def test_hidden_views_ask_for_no_snapshots(window: MainWindow, qtbot: QtBot) -> None:
    events: list[Event] = []
    window.runs.event_received.connect(events.append)
    window.docks["Scene"].close()
    window.docks["Neurons"].close()
    assert window.run(resume=False)
    qtbot.waitUntil(lambda: sum(e.kind == "step" for e in events) >= 10, timeout=TIMEOUT_MS)
    assert not any(e.kind == "snapshot" for e in events)
    window.docks["Scene"].show()
    window.docks["Scene"].raise_()
    qtbot.waitUntil(lambda: any(e.kind == "snapshot" for e in events), timeout=TIMEOUT_MS)


@pytest.mark.parametrize("window", ["random_in_reach"], indirect=True)
def test_a_target_dragged_in_the_scene_view_is_held_then_let_go(
    window: MainWindow, qtbot: QtBot
) -> None:
    """Issue 12: the example's one-step episodes draw a new target at every update, so a target
    could not be grabbed; carried with Ctrl+drag it stays put while the button is down and for a
    while after, whatever the target mode, and the view says so."""
    view = window.scene_view
    view.hold_after_s = 4.0
    window.docks["Scene"].raise_()
    assert window.run(resume=False)
    qtbot.waitUntil(lambda: view.snapshot is not None, timeout=TIMEOUT_MS)
    gl_window = view.gl
    start = gl_window.project(np.asarray(view.snapshot.target[0], dtype=float)).toPoint()  # type: ignore[union-attr]
    ctrl = QtCore.Qt.KeyboardModifier.ControlModifier
    left = QtCore.Qt.MouseButton.LeftButton
    QTest.mousePress(gl_window, left, ctrl, start)
    QTest.mouseMove(gl_window, start + QtCore.QPoint(20, -10))
    qtbot.wait(50)  # a window's mouse events are delivered through the event loop
    carried = np.asarray(gl_window.target, dtype=float)
    assert not np.allclose(carried, view.snapshot.target[0]), "the target follows the cursor"  # type: ignore[union-attr]
    held_at = view.step

    def target_later() -> np.ndarray:
        """The shown target a few updates (each a new one-step episode) from now."""
        step = view.step
        qtbot.waitUntil(lambda: view.step >= step + 3, timeout=TIMEOUT_MS)
        return np.asarray(view.snapshot.target[0], dtype=float)  # type: ignore[union-attr]

    reach = view.snapshot.reach  # type: ignore[union-attr]
    for _ in range(3):  # while the button is down the target stays (within the arm's reach)
        np.testing.assert_allclose(target_later(), in_reach(carried, reach), atol=1e-5)
    assert "held by you while you drag" in view.status.text()
    assert view.step > held_at
    QTest.mouseRelease(gl_window, left, ctrl, start + QtCore.QPoint(20, -10))
    qtbot.wait(50)
    let_go = np.asarray(gl_window.target, dtype=float)  # where the cursor put it last
    np.testing.assert_allclose(target_later(), in_reach(let_go, reach), atol=1e-5)
    assert "held by you for" in view.status.text()
    assert "held there for 4 s" in window.log_view.toPlainText()
    qtbot.waitUntil(lambda: view.held is None, timeout=20_000)  # the hold's time is up
    first, second = target_later(), target_later()
    assert not np.allclose(first, second), "let go: each update draws a new target again"
    assert "Target of arm 0 is no longer held." in window.log_view.toPlainText()


@pytest.mark.parametrize("window", ["random_in_reach"], indirect=True)
def test_targets_a_person_drags_are_written_to_the_run_folder(
    window: MainWindow, qtbot: QtBot
) -> None:
    """Issue 16: a person's real drags, to be replayed. Ctrl+dragging the shown arm's target
    writes to the run folder's drags.csv where it was held, from which update and for how
    many: exactly the updates whose snapshots show it there."""
    events: list[Event] = []
    window.runs.event_received.connect(events.append)
    view = window.scene_view
    view.hold_after_s = 1.0
    window.docks["Scene"].raise_()
    view.set_instance_count(128)
    view.instance.setValue(3)  # show arm 3
    assert window.run(resume=False)
    qtbot.waitUntil(lambda: view.snapshot is not None, timeout=TIMEOUT_MS)
    gl_window = view.gl

    def updates_pass(count: int) -> None:
        step = view.step
        qtbot.waitUntil(lambda: view.step >= step + count, timeout=TIMEOUT_MS)

    start = gl_window.project(np.asarray(view.snapshot.target[0], dtype=float)).toPoint()  # type: ignore[union-attr]
    ctrl = QtCore.Qt.KeyboardModifier.ControlModifier
    left = QtCore.Qt.MouseButton.LeftButton
    QTest.mousePress(gl_window, left, ctrl, start)
    QTest.mouseMove(gl_window, start + QtCore.QPoint(20, -10))
    qtbot.wait(50)  # a window's mouse events are delivered through the event loop
    reach = view.snapshot.reach  # type: ignore[union-attr]
    carried = in_reach(np.asarray(gl_window.target, dtype=float), reach)
    updates_pass(3)
    QTest.mouseMove(gl_window, start + QtCore.QPoint(40, 0))
    qtbot.wait(50)
    updates_pass(3)
    QTest.mouseRelease(gl_window, left, ctrl, start + QtCore.QPoint(40, 0))
    qtbot.wait(50)
    let_go = in_reach(np.asarray(gl_window.target, dtype=float), reach)
    qtbot.waitUntil(lambda: view.held is None, timeout=20_000)  # the hold's time is up
    updates_pass(3)
    window.runs.stop()
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=TIMEOUT_MS)
    assert window.runs.wait(60)
    path = window.runs.out_dir / DRAGS_FILE  # type: ignore[operator]
    assert path.read_text().splitlines()[0] == HEADER
    drags = read_drags(path)
    assert drags and {d.instance for d in drags} == {3}
    for before, after in itertools.pairwise(drags):
        assert before.update + before.updates_held <= after.update, "one hold at a time"
    positions = [np.array(d.position) for d in drags]
    assert any(np.allclose(p, carried, atol=1e-5) for p in positions[:-1])
    np.testing.assert_allclose(positions[-1], let_go, atol=1e-5)  # kept after it was let go
    assert drags[-1].updates_held >= 3
    snapshots = [(e.step, e.data["scene"]) for e in events if e.kind == "snapshot"]
    assert all(int(snap.instances[0]) == 3 for _, snap in snapshots)
    ends = {d.update + d.updates_held for d in drags}
    for step, snap in snapshots:  # taken after the update's commands, before the update
        shown = np.asarray(snap.target[0], dtype=float)
        rows = [d for d in drags if d.update <= step < d.update + d.updates_held]
        if rows:
            np.testing.assert_allclose(shown, rows[0].position, atol=1e-5)
        elif step not in ends:  # (a target let go stays until the next update draws anew)
            assert not any(np.allclose(shown, p, atol=1e-5) for p in positions), step
    assert f"Where you held targets, and for how long: {path}" in window.log_view.toPlainText()
