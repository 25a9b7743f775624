"""Training from the toolbar: off the GUI thread, with events, pause, step, stop and resume."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.events import Event
from atrap_studio.core.yaml_io import save_graph
from atrap_studio.runtime.drag_log import HEADER, read_drags
from atrap_studio.ui.main_window import MainWindow
from tests.conftest import shrink
from tests.ui.conftest import Answer

Buttons = QtWidgets.QMessageBox.StandardButton
RUN_TIMEOUT_MS = 240_000


def click_tool(window: MainWindow, name: str) -> None:
    toolbar = window.findChild(QtWidgets.QToolBar, "toolbar_main")
    button = toolbar.widgetForAction(window.acts[name])
    assert button is not None and button.isEnabled(), f"{name} is not clickable"
    QTest.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)


def record(window: MainWindow) -> list[Event]:
    events: list[Event] = []
    window.runs.event_received.connect(events.append)
    return events


def test_run_from_the_toolbar_streams_metrics_while_the_window_stays_responsive(
    small_window: Callable[..., MainWindow], qtbot: QtBot
) -> None:
    window = small_window(steps=200, log_every=10, eval_every=100, checkpoint_every=100)
    events = record(window)
    ticks: list[int] = []
    timer = QtCore.QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(len(events)))
    timer.start()
    before = window.editor.doc
    click_tool(window, "run")
    assert window.runs.state in ("starting", "running")
    assert not window.acts["run"].isEnabled() and window.acts["stop"].isEnabled()
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=RUN_TIMEOUT_MS)
    timer.stop()
    kinds = [e.kind for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    steps = [e for e in events if e.kind == "step"]
    assert [e.step for e in steps] == list(range(10, 201, 10))
    assert all("loss/total" in e.data["metrics"] for e in steps)
    assert "explore/random_share" in steps[0].data["metrics"]
    started = next(i for i, t in enumerate(ticks) if t >= 1)
    during = [t for t in ticks[started:] if t < len(events)]
    assert len(set(during)) >= 5, "the GUI's timer kept firing while events were arriving"
    assert window.progress.value() == 200
    assert "updates/s" in window.run_label.text() and "random" in window.run_label.text()
    assert "Run completed at update 200" in window.status_message.text()
    log = window.log_view.toPlainText()
    assert "Training started" in log and "Test at update 200" in log
    assert window.editor.doc == before and not window.isWindowModified()
    out = window.path.parent / "runs" / "small"  # type: ignore[union-attr]
    assert (out / "network.atrapnet").is_file() and (out / "metrics.csv").is_file()
    assert not (out / "drags.csv").exists(), "no target was dragged: no drags file"


def test_pause_step_stop_and_resume(
    small_window: Callable[..., MainWindow], qtbot: QtBot, answer: Answer
) -> None:
    window = small_window(steps=100_000, log_every=5, checkpoint_every=1000)
    events = record(window)
    assert window.run()
    qtbot.waitUntil(lambda: any(e.kind == "step" for e in events), timeout=RUN_TIMEOUT_MS)
    click_tool(window, "pause")
    qtbot.waitUntil(lambda: window.runs.state == "paused", timeout=RUN_TIMEOUT_MS)
    assert window.acts["step"].isEnabled()
    paused_at = [e for e in events if e.kind == "paused"][-1].step
    click_tool(window, "step")
    qtbot.waitUntil(
        lambda: [e.step for e in events if e.kind == "paused"][-1] == paused_at + 1,
        timeout=RUN_TIMEOUT_MS,
    )
    click_tool(window, "stop")
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=RUN_TIMEOUT_MS)
    finished = events[-1]
    assert finished.kind == "finished" and finished.data["reason"] == "stopped"
    assert finished.step == paused_at + 1
    checkpoints = sorted((window.path.parent / "runs" / "small" / "checkpoints").glob("*"))  # type: ignore[union-attr]
    assert checkpoints and checkpoints[-1].name == f"ckpt-{paused_at + 1:08d}.atrapckpt"

    drags = window.path.parent / "runs" / "small" / "drags.csv"  # type: ignore[union-attr]
    # as if the run had gone on past its checkpoint with a target held, then died
    drags.write_text(f"{HEADER}\n{paused_at},0,0.1,0.2,0.3,40\n{paused_at + 20},1,0.1,0.2,0.3,5\n")

    events.clear()
    texts = answer(Buttons.Yes)
    assert window.run()
    assert texts and f"stopped at update {paused_at + 1:,}" in texts[0]
    qtbot.waitUntil(lambda: any(e.kind == "step" for e in events), timeout=RUN_TIMEOUT_MS)
    started = events[0]
    assert started.kind == "started" and started.step == paused_at + 1
    assert started.data["resumed_from"].endswith(checkpoints[-1].name)
    window.runs.stop()
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=RUN_TIMEOUT_MS)
    assert window.runs.wait()
    held = [(d.update, d.instance, d.updates_held) for d in read_drags(drags)]
    assert held == [(paused_at, 0, 1)], "only what the updates up to the checkpoint trained with"


def test_a_stop_between_tests_says_which_test_each_figure_comes_from(
    small_window: Callable[..., MainWindow], qtbot: QtBot
) -> None:
    """Bug 6 of issue 12: Stop logged "2.7%" right after a test said 10.2%: the stop tests the
    network as it is then, one or more updates after the test the person read."""
    window = small_window(steps=100_000, log_every=5, eval_every=5, checkpoint_every=1000)
    events = record(window)
    assert window.run()
    qtbot.waitUntil(lambda: any(e.kind == "episode" for e in events), timeout=RUN_TIMEOUT_MS)
    click_tool(window, "pause")
    qtbot.waitUntil(lambda: window.runs.state == "paused", timeout=RUN_TIMEOUT_MS)
    paused_at = [e for e in events if e.kind == "paused"][-1].step
    click_tool(window, "step")  # one update more: never a test's update (every 5th)
    qtbot.waitUntil(
        lambda: [e.step for e in events if e.kind == "paused"][-1] == paused_at + 1,
        timeout=RUN_TIMEOUT_MS,
    )
    if (paused_at + 1) % 5 == 0:  # paused one update before a test: one more step passes it
        click_tool(window, "step")
        qtbot.waitUntil(
            lambda: [e.step for e in events if e.kind == "paused"][-1] == paused_at + 2,
            timeout=RUN_TIMEOUT_MS,
        )
    click_tool(window, "stop")
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=RUN_TIMEOUT_MS)
    test = [e for e in events if e.kind == "episode"][-1]
    finished = events[-1]
    outcome = window.runs.outcome
    assert finished.step > test.step
    said = window.status_message.text()
    assert said.startswith(f"Run stopped at update {finished.step:,}. Final test, of the network")
    assert outcome.headline(finished.data["evaluation"]) in said
    assert f"the test at update {test.step:,} said {outcome.headline(test.data)}" in said
    assert said in window.log_view.toPlainText()


def test_a_failing_run_shows_in_problems_and_leaves_the_graph_alone(
    small_window: Callable[..., MainWindow], qtbot: QtBot, answer: Answer
) -> None:
    window = small_window(steps=20, log_every=5, checkpoint_every=10)
    assert window.run()
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=RUN_TIMEOUT_MS)
    window.editor.set_prop("brain", "hidden", [16])  # the checkpoint no longer fits
    edited = window.editor.doc
    answer(Buttons.Yes)  # resume from the checkpoint of another graph
    assert window.run()
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=RUN_TIMEOUT_MS)
    problems = [i for i in window.problems.issues() if i.code == "run.error"]
    assert len(problems) == 1 and "different graph" in problems[0].message
    assert window.editor.doc == edited and window.isWindowModified()
    assert "error" in window.status_message.text()
    assert window.acts["run"].isEnabled(), "the editor is ready for the next run"


def test_stop_while_starting_is_not_ignored(
    small_window: Callable[..., MainWindow], qtbot: QtBot
) -> None:
    window = small_window(steps=100_000, log_every=5)
    events = record(window)
    assert window.run()
    assert window.runs.state == "starting"
    window.runs.stop()  # most often before the worker has built its runner
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=RUN_TIMEOUT_MS)
    finished = [e for e in events if e.kind == "finished"]
    assert finished and finished[-1].data["reason"] == "stopped"
    # On a busy machine the worker may get as far as its first update before the stop lands
    # (the GIL lets it run between run() returning and stop()); that update is finished, the
    # rest of the 100,000 never made.
    assert finished[-1].step <= 1


def test_after_stop_and_after_opening_another_graph_nothing_stale_shows(
    small_window: Callable[..., MainWindow], qtbot: QtBot, arm_doc: GraphDocument, tmp_path: Path
) -> None:
    window = small_window(steps=100_000, log_every=5, checkpoint_every=1000)
    events = record(window)
    click_tool(window, "run")
    qtbot.waitUntil(lambda: window.scene_view.snapshot is not None, timeout=RUN_TIMEOUT_MS)
    click_tool(window, "pause")
    qtbot.waitUntil(lambda: window.runs.state == "paused", timeout=RUN_TIMEOUT_MS)
    assert "paused" in window.run_label.text()
    click_tool(window, "stop")
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=RUN_TIMEOUT_MS)
    stopped_at = events[-1].step
    assert window.run_label.text().startswith(f"stopped at update {stopped_at:,}  ·  ")
    assert "paused" not in window.run_label.text()
    assert len(window.curves.store) > 0 and "Training started" in window.log_view.toPlainText()

    other = tmp_path / "other.yaml"
    save_graph(shrink(arm_doc), other)
    assert window.open_file(other, ask=False)
    assert window.run_label.text() == "" and not window.progress.isVisible()
    assert len(window.curves.store) == 0, "the curves are the previous graph's"
    assert window.log_view.toPlainText() == ""
    assert window.scene_view.status.text() == "Run the graph to see the scene."
    assert window.scene_view.snapshot is None


def test_a_second_run_logs_its_numbered_folder_and_resume_finds_it(
    small_window: Callable[..., MainWindow], qtbot: QtBot, answer: Answer
) -> None:
    window = small_window(steps=20, log_every=5, checkpoint_every=10)
    events = record(window)
    runs = window.path.parent / "runs"  # type: ignore[union-attr]
    click_tool(window, "run")
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=RUN_TIMEOUT_MS)
    assert f"Run folder: {runs / 'small'}\n" in window.log_view.toPlainText() + "\n"

    answer(Buttons.No)  # start over: runs/small holds the first run, so runs/small-2 is used
    assert window.run(steps=30)
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=RUN_TIMEOUT_MS)
    assert (runs / "small-2" / "network.atrapnet").is_file()
    log = window.log_view.toPlainText().splitlines()
    assert any("Run completed at update 30" in line for line in log)
    folder_lines = [line for line in log if "Run folder:" in line]
    assert folder_lines[-1].endswith(f"Run folder: {runs / 'small-2'}"), folder_lines

    events.clear()
    texts = answer(Buttons.Yes)  # the newest checkpoint is the second run's, in small-2
    assert window.run(steps=40)
    assert texts and "stopped at update 30" in texts[0] and "small-2" in texts[0]
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=RUN_TIMEOUT_MS)
    started = events[0]
    assert started.kind == "started" and started.step == 30
    assert Path(started.data["resumed_from"]).parent.parent == runs / "small-2"
    assert not (runs / "small-3").exists(), "a resumed run continues in its own folder"
    assert "Run completed at update 40" in window.log_view.toPlainText()
