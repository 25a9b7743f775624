"""Messages in the person's words: node names and port labels where the core says ids (issue 12:
"Joint angles → NN Factory: a Scene cannot feed a network input", not ``robot_arm.scene``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytestqt.qtbot import QtBot

from atrap_studio.core.document import Endpoint, GraphDocument, Link, NodeDoc
from atrap_studio.core.registry import Registry
from atrap_studio.core.validation import analyse, validate
from atrap_studio.core.yaml_io import save_graph
from atrap_studio.ui.main_window import MainWindow
from atrap_studio.ui.plain_words import PlainWords, network_meanings

ep = Endpoint.parse


def broken(arm_doc: GraphDocument) -> GraphDocument:
    """The arm example with a Scene linked into a Vector input, a link twice, a second trainer
    and a loop between two more networks."""
    links = [
        *arm_doc.links,
        Link(src=ep("arm.scene"), dst=ep("brain.state")),
        Link(src=ep("q.value"), dst=ep("brain.state")),
        Link(src=ep("brain3.action"), dst=ep("brain2.state")),
        Link(src=ep("brain2.action"), dst=ep("brain3.state")),
    ]
    nodes = [
        *arm_doc.nodes,
        NodeDoc(id="teach2", type="trainer.ppo"),
        NodeDoc(id="brain2", type="nn.factory", name="Second brain"),
        NodeDoc(id="brain3", type="nn.factory", name="Third brain"),
    ]
    return arm_doc.model_copy(update={"links": links, "nodes": nodes})


def test_validation_messages_name_nodes_and_ports(
    arm_doc: GraphDocument, registry: Registry
) -> None:
    doc = broken(arm_doc)
    words = PlainWords(doc, registry)
    said = {i.code: words.issue(i) for i in validate(doc, registry)}
    assert said["link.type_mismatch"].message == (
        "cannot link Robot arm · scene (Scene) into NN Factory · state (Vector)"
    )
    assert (
        "Joint angles · value → NN Factory · state appears twice" in said["link.duplicate"].message
    )
    assert "(Direct trainer, PPO trainer)" in said["graph.trainers"].message
    assert "Second brain → Third brain → Second brain" in said["graph.cycle"].message
    for issue in said.values():  # no id is left where a name can stand
        assert not {"arm.scene", "brain.state", "teach", "brain2", "brain3"} & set(
            issue.message.replace("(", " ").replace(",", " ").split()
        ), issue.message
    # words that only look like ids are left alone
    assert words.text("input 'brain' of property 'q' and the file graph.yaml") == (
        "input 'brain' of property 'q' and the file graph.yaml"
    )
    assert words.text("a value is needed from the network 'brain'") == (
        "a value is needed from the network 'NN Factory'"
    )


def test_the_problems_dock_and_the_run_button_speak_in_names(
    make_window: Callable[..., MainWindow],
    arm_doc: GraphDocument,
    tmp_path: Path,
    qtbot: QtBot,
) -> None:
    path = tmp_path / "broken.yaml"
    save_graph(broken(arm_doc), path)
    window = make_window()
    assert window.open_file(path, ask=False)
    qtbot.waitUntil(lambda: window.problems.topLevelItemCount() >= 4)
    rows = [
        window.problems.topLevelItem(i).text(1) for i in range(window.problems.topLevelItemCount())
    ]
    assert (
        "NN Factory · state: cannot link Robot arm · scene (Scene) into NN Factory · state "
        "(Vector) — 'state' takes a Vector; link an output of that type"
    ) in rows
    assert all("brain.state" not in text and "teach2" not in text for text in rows)
    # rows wrap in the narrow dock instead of ending in "…": as tall as their lines
    first = window.problems.topLevelItem(0)
    rect = window.problems.visualItemRect(first)
    line = window.problems.fontMetrics().height()
    assert rect.height() >= 2 * line and rect.right() <= window.problems.viewport().width()
    tip = window.acts["run"].toolTip()
    assert tip.startswith("Cannot run yet: ") and "brain" not in tip, tip
    tips = [window.problems.topLevelItem(i).toolTip(1) for i in range(len(rows))]
    assert any("link.type_mismatch: cannot link arm.scene" in tip for tip in tips), (
        "the code and the ids stay in the tooltip, for whoever edits the file"
    )


def test_the_network_s_neurons_are_named_from_the_graph(
    arm_doc: GraphDocument, registry: Registry
) -> None:
    inputs, outputs = network_meanings(arm_doc, analyse(arm_doc, registry), registry)
    assert inputs == [("Joint angles · value", 6), ("Target position · value", 3)]
    assert outputs == [("Joint targets · values", 6)]
