"""A graph of two learning agents in the editor: the example opens with no problems, a run
from the window plots each agent's figures in their kind's plot and leaves both networks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytestqt.qtbot import QtBot

from atrap_studio.core.yaml_io import load_graph, save_graph
from atrap_studio.examples import example_path
from atrap_studio.ui.main_window import MainWindow
from atrap_studio.ui.views.curves import group_of
from atrap_studio.ui.views.metric_names import describe
from tests.conftest import shrink


def test_the_two_learner_example_opens_with_no_problems(window: MainWindow, qtbot: QtBot) -> None:
    assert window.open_example("tanks_two_learners_ppo")
    qtbot.waitUntil(lambda: window.editor.doc.name == "Two tanks learn against each other")
    qtbot.wait(50)  # validation runs on a short debounce
    qtbot.waitUntil(lambda: window.acts["run"].isEnabled())
    assert window.problems.issues() == []
    assert window.problems.topLevelItemCount() == 0


def test_each_agents_figures_join_their_kinds_plot_with_the_trainer_named() -> None:
    names = {"red_teach": "Red trainer"}
    assert group_of("red_teach:loss/value").title == group_of("loss/value").title == "Loss"
    assert group_of("red_teach:eval/success_rate").title == "Success"
    named = describe("red_teach:loss/value", names)
    assert named is not None and named.name == "Value loss · Red trainer"
    assert describe("red_teach:nonsense/key", names) is None


def test_a_run_of_two_agents_plots_each_ones_figures_and_writes_both_networks(
    make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path
) -> None:
    doc = shrink(load_graph(example_path("tanks_two_learners_ppo")), horizon=8, minibatches=2)
    for node in doc.nodes:
        if node.type.startswith("trainer."):
            node.props.update(steps=4, eval_every=2, eval_episodes=8, log_every=1)
    path = tmp_path / "two.yaml"
    save_graph(doc, path)
    window = make_window()
    assert window.open_file(path, ask=False)
    qtbot.waitUntil(lambda: window.acts["run"].isEnabled())
    assert window.run()
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=240_000)
    window.curves.redraw()
    plotted = window.curves.plotted_keys()
    assert {"blue_teach:loss/value", "red_teach:loss/value"} <= plotted
    assert {"eval/success_rate", "red_teach:eval/success_rate"} <= plotted
    loss = window.curves.plots()["Loss"]
    shown = {window.curves.key_of(item) for item in loss.getPlotItem().listDataItems()}
    assert {"blue_teach:loss/value", "red_teach:loss/value"} <= shown
    log = window.log_view.toPlainText()
    assert "Test at update 4: " in log and "Test at update 4, 'Red trainer': " in log
    out = tmp_path / "runs" / "two"
    assert (out / "network.atrapnet").is_file() and (out / "network-red_brain.atrapnet").is_file()
