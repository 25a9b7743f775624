"""A run against the last run of the same graph: both scores side by side, and what changed
(issue 12: "when a change makes training worse, the run summary compares with the last run of
the graph and points at what changed")."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from atrap_studio.core.document import Endpoint, GraphDocument
from atrap_studio.core.editing import add_node, disconnect, set_prop
from atrap_studio.core.outcome import GENERIC
from atrap_studio.core.registry import Registry
from atrap_studio.ui.main_window import MainWindow
from atrap_studio.ui.run_compare import PreviousRun, comparison, graph_changes, verdict
from tests.ui.test_run import RUN_TIMEOUT_MS

ep = Endpoint.parse


def test_what_changed_between_two_graphs_is_said_in_names(
    arm_doc: GraphDocument, registry: Registry
) -> None:
    after = set_prop(arm_doc, "arm", "joints", 3)
    after = set_prop(after, "brain", "hidden", [64])
    after = set_prop(after, "teach", "lr", 0.02)  # the value it had: no change
    after = disconnect(after, ep("goal.value"), ep("brain.state"))
    spec = registry.get("reward.reached")
    assert spec is not None
    after, _ = add_node(after, spec, (0.0, 0.0))
    after = after.model_copy(  # moving a node or renaming it changes nothing that trains
        update={"nodes": [n.model_copy(update={"pos": (5.0, 5.0)}) for n in after.nodes]}
    )
    assert graph_changes(arm_doc, after, registry) == [
        "Robot arm · joints: 6 → 3",
        "NN Factory · hidden: [128, 128, 128] → [64]",
        "Reached added",
        "link Target position · value → NN Factory · state removed",
    ]
    assert graph_changes(arm_doc, arm_doc, registry) == []


def test_runs_of_different_scenes_are_not_judged(
    arm_doc: GraphDocument, registry: Registry
) -> None:
    other = arm_doc.model_copy(
        update={
            "nodes": [
                n.model_copy(update={"type": "scene.gymnasium"}) if n.id == "arm" else n
                for n in arm_doc.nodes
            ]
        }
    )
    previous = PreviousRun(Path("runs/reach"), other, {"median_return": 200.0}, 100)
    judged, lines = comparison(previous, arm_doc, {"success_rate": 0.5}, 100, GENERIC, registry)
    assert judged == "not comparable"
    assert lines == [
        "The last run of this graph (reach) trained another scene (scene.gymnasium): its "
        "result is not compared with this one."
    ]


@pytest.mark.parametrize(
    ("now", "then", "said"),
    [
        ({"success_rate": 0.096}, {"success_rate": 0.91}, "worse"),
        ({"success_rate": 0.5}, {"success_rate": 0.2}, "better"),
        (
            {"success_rate": 0.5, "median_return": 10.0},
            {"success_rate": 0.5, "median_return": 20.0},
            "worse",
        ),
        ({"median_return": 10.2}, {"median_return": 10.0}, "about the same"),
    ],
)
def test_the_verdict_follows_the_share_that_succeeded_then_the_score(
    now: dict[str, float], then: dict[str, float], said: str
) -> None:
    assert verdict(now, then, GENERIC) == said


def test_the_second_run_of_a_graph_is_compared_with_the_first(
    small_window: Callable[..., MainWindow], qtbot: QtBot
) -> None:
    window = small_window(steps=20, eval_every=20, checkpoint_every=20)
    assert window.run(), window.status_message.text()
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=RUN_TIMEOUT_MS)
    first = window.runs.last_test
    assert first is not None and "Compared with" not in window.log_view.toPlainText()
    window.editor.set_prop("brain", "hidden", [8])
    assert window.run(resume=False)
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=RUN_TIMEOUT_MS)
    second = window.runs.last_test
    assert second is not None
    outcome = window.runs.outcome
    log = window.log_view.toPlainText()
    assert (
        f"Compared with the last run of this graph (small): this run "
        f"{outcome.headline(second[1])} after 20 updates; that run "
        f"{outcome.headline(first[1])} after 20 updates — "
    ) in log
    assert "What changed since that run: NN Factory · hidden: [32, 32] → [8]." in log
    assert "than the last run (" in window.status_message.text() or (
        "About the same as the last run" in window.status_message.text()
    )
