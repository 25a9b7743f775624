"""The editing session: every kind of edit is one undo step, refusals say why, clipboard works."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pytestqt.qtbot import QtBot

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.registry import Registry
from atrap_studio.core.validation import validate
from atrap_studio.core.yaml_io import dump_graph
from atrap_studio.ui.editor import Editor

ARM_LINKS = [
    ("arm.scene", "q.scene"),
    ("arm.scene", "goal.scene"),
    ("q.value", "brain.state"),
    ("goal.value", "brain.state"),
    ("brain.action", "move.values"),
    ("move.command", "arm.actuators"),
    ("arm.scene", "near.scene"),
    ("near.reward", "teach.reward"),
    ("brain.network", "teach.network"),
]


def build_arm(editor: Editor) -> dict[str, str]:
    """The arm example's pipeline built through the editor's API; returns role -> node id."""
    roles = {
        "arm": "scene.robot_arm",
        "q": "sensor.joint_angles",
        "goal": "sensor.target_position",
        "brain": "nn.factory",
        "move": "action.joint_targets",
        "near": "reward.distance_to_target",
        "teach": "trainer.direct",
    }
    ids = {}
    for index, (role, type_id) in enumerate(roles.items()):
        node_id = editor.add_node(type_id, (index * 250.0, 0.0))
        assert node_id is not None
        ids[role] = node_id
    for src, dst in ARM_LINKS:
        (a, pa), (b, pb) = src.split("."), dst.split(".")
        assert editor.link(f"{ids[a]}.{pa}", f"{ids[b]}.{pb}"), (src, dst)
    return ids


def test_build_the_arm_pipeline_through_the_api(editor: Editor, registry: Registry) -> None:
    ids = build_arm(editor)
    assert validate(editor.doc, registry) == []
    assert editor.undo_stack.count() == 7 + len(ARM_LINKS)
    assert {n.name for n in editor.doc.nodes} >= {"Robot arm", "NN Factory", "Direct trainer"}
    assert ids["q"] == "joint_angles"


def test_a_refused_link_changes_nothing_and_says_why(editor: Editor, qtbot: QtBot) -> None:
    ids = build_arm(editor)
    before, steps = editor.doc, editor.undo_stack.count()
    with qtbot.waitSignal(editor.refused) as refused:
        assert not editor.link(f"{ids['arm']}.scene", f"{ids['brain']}.state")
    assert "Robot arm · scene → NN Factory · state: a Scene cannot feed" in refused.args[0]
    assert editor.doc == before and editor.undo_stack.count() == steps


def _edits(editor: Editor, ids: dict[str, str]) -> dict[str, Callable[[], object]]:
    return {
        "add": lambda: editor.add_node("reward.reached", (10.0, 400.0)),
        "delete": lambda: editor.delete([ids["near"]]),
        "connect": lambda: editor.link(f"{ids['q']}.value", f"{ids['brain']}.state"),
        "disconnect": lambda: editor.unlink(f"{ids['q']}.value", f"{ids['brain']}.state"),
        "move": lambda: editor.move({ids["q"]: (123.0, 456.0)}),
        "property": lambda: editor.set_prop(ids["teach"], "lr", 0.01),
        "rename": lambda: editor.rename(ids["q"], "Angles"),
        "group": lambda: editor.group([ids["q"], ids["goal"]], "Sensors"),
        "auto-layout": editor.auto_layout,
        "duplicate": lambda: editor.duplicate([ids["q"], ids["goal"]]),
        "paste": lambda: (editor.copy([ids["near"]]), editor.paste()),
        "cut": lambda: editor.cut([ids["near"]]),
    }


@pytest.mark.parametrize(
    "kind",
    [
        "add",
        "delete",
        "connect",
        "disconnect",
        "move",
        "property",
        "rename",
        "group",
        "auto-layout",
        "duplicate",
        "paste",
        "cut",
    ],
)
def test_each_kind_of_edit_is_one_undo_step(editor: Editor, kind: str) -> None:
    ids = build_arm(editor)
    if kind == "connect":
        editor.unlink(f"{ids['q']}.value", f"{ids['brain']}.state")
    before, steps = editor.doc, editor.undo_stack.count()
    _edits(editor, ids)[kind]()
    after = editor.doc
    assert after != before
    assert editor.undo_stack.count() == steps + 1
    editor.undo_stack.undo()
    assert editor.doc == before
    editor.undo_stack.redo()
    assert editor.doc == after


def test_block_edits_undo(editor: Editor) -> None:
    ids = build_arm(editor)
    block = editor.group([ids["q"], ids["goal"]], "Sensors")
    assert block is not None
    grouped = editor.doc
    for change in (
        lambda: editor.set_collapsed(block, True),
        lambda: editor.rename_block(block, "Eyes"),
        lambda: editor.ungroup(block),
    ):
        before = editor.doc
        assert change()
        editor.undo_stack.undo()
        assert editor.doc == before
        editor.undo_stack.redo()
    assert editor.doc.blocks == []
    editor.undo_stack.undo()
    editor.undo_stack.undo()
    editor.undo_stack.undo()
    assert editor.doc == grouped


def test_copy_paste_keeps_links_inside_the_selection(editor: Editor) -> None:
    ids = build_arm(editor)
    editor.copy([ids["arm"], ids["q"], ids["brain"]])
    new = editor.paste()
    assert len(new) == 3
    inner = [lk.to_pair() for lk in editor.doc.links if lk.src.node in new and lk.dst.node in new]
    arm2, q2, brain2 = new
    assert sorted(inner) == sorted(
        [[f"{arm2}.scene", f"{q2}.scene"], [f"{q2}.value", f"{brain2}.state"]]
    )
    assert not any((lk.src.node in new) != (lk.dst.node in new) for lk in editor.doc.links), (
        "a pasted node must not be linked to the originals"
    )
    names = [editor.doc.node(i).name for i in new]  # type: ignore[union-attr]
    assert names == ["Robot arm 2", "Joint angles 2", "NN Factory 2"]
    original = editor.doc.node(ids["q"])
    pasted = editor.doc.node(q2)
    assert original and pasted and original.pos and pasted.pos
    assert pasted.pos == (original.pos[0] + 40.0, original.pos[1] + 40.0)


def test_paste_refuses_what_is_not_a_fragment(editor: Editor, qtbot: QtBot) -> None:
    from PySide6 import QtWidgets

    QtWidgets.QApplication.clipboard().setText("format: atrap-block\nnodes: [oops")
    with qtbot.waitSignal(editor.refused) as refused:
        assert editor.paste() == []
    assert "<clipboard>" in refused.args[0]
    QtWidgets.QApplication.clipboard().setText("just words")
    with qtbot.waitSignal(editor.refused):
        assert editor.paste() == []


def test_validation_follows_edits_after_a_pause(editor: Editor, qtbot: QtBot) -> None:
    ids = build_arm(editor)
    with qtbot.waitSignal(editor.analysis_changed, timeout=2000) as signal:
        editor.unlink(f"{ids['near']}.reward", f"{ids['teach']}.reward")
    codes = {(i.code, i.node) for i in signal.args[0].issues}
    assert ("port.unconnected", ids["teach"]) in codes
    with qtbot.waitSignal(editor.analysis_changed, timeout=2000) as signal:
        editor.undo_stack.undo()
    assert signal.args[0].issues == []


def test_load_starts_a_clean_history(editor: Editor, arm_doc: GraphDocument) -> None:
    build_arm(editor)
    editor.load(arm_doc)
    assert editor.undo_stack.count() == 0 and editor.undo_stack.isClean()
    assert dump_graph(editor.doc) == dump_graph(arm_doc)
