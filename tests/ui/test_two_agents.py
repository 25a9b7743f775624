"""A graph of two learning agents in the editor: the example opens with no problems and can
run, and each agent's figures read as words and join their kind's plot."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from atrap_studio.ui.main_window import MainWindow
from atrap_studio.ui.views.curves import group_of
from atrap_studio.ui.views.metric_names import describe


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
