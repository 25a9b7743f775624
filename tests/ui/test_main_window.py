"""The main window: files, prompts, autosave, properties, problems, shortcuts, help, layout."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from atrap_studio.core.yaml_io import load_graph
from atrap_studio.ui.dialogs import ExamplesDialog, HelpDialog
from atrap_studio.ui.main_window import MainWindow
from atrap_studio.ui.properties import ListEditor
from atrap_studio.ui.session_files import AppPaths, Autosaver
from tests.ui.conftest import Answer, drop_files

Buttons = QtWidgets.QMessageBox.StandardButton
MakeWindow = Callable[..., MainWindow]


def test_opens_on_the_example_and_says_what_it_shows(window: MainWindow) -> None:
    assert window.editor.doc.name == "Robot arm learns to reach"
    assert "(example)" in window.windowTitle() and not window.isWindowModified()
    assert window.acts["run"].isEnabled()
    assert set(window.docks) == {
        "Palette",
        "Properties",
        "Problems",
        "Log",
        "Scene",
        "Neurons",
        "Curves",
        "Crowd",
    }


def test_edits_mark_the_title_and_save_clears_it(window: MainWindow, tmp_path: Path) -> None:
    window.editor.set_prop("teach", "lr", 0.01)
    assert window.isWindowModified()
    path = tmp_path / "arm.yaml"
    assert window.save_to(path)
    assert not window.isWindowModified() and window.windowTitle().startswith("arm.yaml")
    assert load_graph(path) == window.editor.doc
    window.editor.undo_stack.undo()
    assert window.isWindowModified()


def test_save_then_reopen_gives_the_same_graph(
    window: MainWindow, make_window: MakeWindow, tmp_path: Path
) -> None:
    editor = window.editor
    block = editor.group(["q", "goal"], "Sensors")
    assert block is not None and editor.set_collapsed(block, True)
    editor.set_prop("brain", "hidden", [64, 32])
    editor.rename("near", "Closeness")
    path = tmp_path / "graph.yaml"
    assert window.save_to(path)
    other = make_window()
    assert other.open_file(path, ask=False)
    assert other.editor.doc == editor.doc
    saved = path.read_text(encoding="utf-8")
    assert saved.startswith("# Robot arm learns to reach"), "the example's header is kept"
    other.editor.rename("goal", "Target")
    assert other.save_to(path)
    assert path.read_text(encoding="utf-8") == saved.replace(
        "type: sensor.target_position\n", "type: sensor.target_position\n    name: Target\n"
    )


def test_a_broken_file_leaves_the_graph_and_its_edits_intact(
    window: MainWindow, tmp_path: Path, answer: Answer
) -> None:
    window.editor.set_prop("teach", "lr", 0.01)
    edited = window.editor.doc
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: atrap-graph\nschema_version: 1\nnodes: [\n", encoding="utf-8")
    texts = answer(Buttons.Ok)
    assert not window.open_file(bad, ask=False)
    assert texts and "bad.yaml:4:1" in texts[0]
    assert window.editor.doc == edited and window.isWindowModified()
    hostile = tmp_path / "hostile.yaml"
    hostile.write_text("!!python/object/apply:os.system ['echo owned']\n", encoding="utf-8")
    texts = answer(Buttons.Ok)
    assert not window.open_file(hostile, ask=False)
    assert texts and "tag" in texts[0].lower()
    assert window.editor.doc == edited


def test_replacing_an_edited_graph_asks_first(
    window: MainWindow, answer: Answer, tmp_path: Path
) -> None:
    window.editor.set_prop("teach", "lr", 0.01)
    edited = window.editor.doc
    texts = answer(Buttons.Cancel)
    assert not window.new_graph()
    assert "unsaved changes" in texts[0] and window.editor.doc == edited
    answer(Buttons.Discard)
    assert window.new_graph()
    assert window.editor.doc.nodes == [] and not window.isWindowModified()


def test_closing_with_edits_asks_and_can_be_cancelled(window: MainWindow, answer: Answer) -> None:
    window.editor.set_prop("teach", "lr", 0.01)
    answer(Buttons.Cancel)
    assert not window.close()
    assert window.isVisible()


def test_autosave_copy_is_offered_back_after_a_crash(
    window: MainWindow, make_window: MakeWindow, app_paths: AppPaths, answer: Answer
) -> None:
    assert window.autosave() is None  # nothing unsaved, nothing written
    window.editor.set_prop("teach", "lr", 0.0123)
    copy = window.autosave()
    assert copy is not None and copy.exists()
    note = copy.with_suffix(".json")
    text = note.read_text()
    note.write_text(text.replace(f'"pid": {__import__("os").getpid()}', '"pid": 999999999'))
    assert Autosaver(app_paths.autosave_dir).orphans()
    fresh = make_window()
    answer(Buttons.Yes)
    fresh.start()
    node = fresh.editor.doc.node("teach")
    assert node is not None and node.props["lr"] == 0.0123
    assert fresh.isWindowModified(), "recovered edits are not saved yet"
    assert not Autosaver(app_paths.autosave_dir).orphans()


def test_starts_on_the_last_file(
    window: MainWindow, make_window: MakeWindow, tmp_path: Path
) -> None:
    path = tmp_path / "mine.yaml"
    assert window.save_to(path)
    other = make_window()
    other.start()
    assert other.path == path and other.editor.doc == window.editor.doc
    assert str(path.resolve()) in other.session.recent.paths()


def test_dock_layout_is_remembered(
    window: MainWindow, make_window: MakeWindow, qtbot: QtBot
) -> None:
    window.docks["Palette"].close()
    window.editor.undo_stack.setClean()
    assert window.close()
    again = make_window()  # the layout is restored once the window is up
    qtbot.waitUntil(lambda: not again.docks["Palette"].isVisible())
    again.reset_layout()
    assert again.docks["Palette"].isVisible()


def test_properties_show_the_selected_node_and_each_edit_is_one_step(window: MainWindow) -> None:
    window.canvas.select_ids(["teach"])
    props = window.properties
    assert props.node_id == "teach"
    lr = props.widgets["lr"]
    assert isinstance(lr, QtWidgets.QDoubleSpinBox) and lr.value() == 0.02
    steps = window.editor.undo_stack.count()
    lr.setValue(0.004)
    assert window.editor.doc.node("teach").props["lr"] == 0.004  # type: ignore[union-attr]
    assert window.editor.undo_stack.count() == steps + 1
    window.editor.undo_stack.undo()
    assert lr.value() == 0.02, "the panel follows undo"


def test_layer_sizes_have_a_list_editor(window: MainWindow) -> None:
    window.canvas.select_ids(["brain"])
    hidden = window.properties.widgets["hidden"]
    assert isinstance(hidden, ListEditor)
    assert hidden.value() == [128] * 3
    hidden.remove_button.click()
    assert window.editor.doc.node("brain").props["hidden"] == [128] * 2  # type: ignore[union-attr]
    hidden.add_button.click()
    assert window.editor.doc.node("brain").props["hidden"] == [128] * 3  # type: ignore[union-attr]
    activation = window.properties.widgets["activation"]
    assert isinstance(activation, QtWidgets.QComboBox)
    activation.setCurrentText("tanh")
    assert window.editor.doc.node("brain").props["activation"] == "tanh"  # type: ignore[union-attr]


def test_an_out_of_range_value_is_explained_under_its_field(
    window: MainWindow, qtbot: QtBot
) -> None:
    window.editor.set_prop("arm", "instances", 0)
    window.canvas.select_ids(["arm"])
    note = window.properties._notes["instances"]
    qtbot.waitUntil(lambda: note.isVisibleTo(window.properties) and "range" in note.text())


def test_run_is_disabled_while_errors_remain_and_says_why(window: MainWindow, qtbot: QtBot) -> None:
    window.editor.delete(["near"])
    qtbot.waitUntil(lambda: not window.acts["run"].isEnabled())
    tip = window.acts["run"].toolTip()
    assert tip.startswith("Cannot run yet: Direct trainer: ") and "teach" not in tip
    assert not window.run()
    issues = window.problems.issues()
    assert any(i.node == "teach" for i in issues)
    window.editor.undo_stack.undo()
    qtbot.waitUntil(lambda: window.acts["run"].isEnabled())


def test_clicking_a_problem_selects_and_frames_its_node(window: MainWindow, qtbot: QtBot) -> None:
    window.editor.unlink("near.reward", "teach.reward")
    qtbot.waitUntil(lambda: window.problems.topLevelItemCount() > 0)
    item = window.problems.topLevelItem(0)
    rect = window.problems.visualItemRect(item)
    QTest.mouseClick(
        window.problems.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=rect.center()
    )
    assert window.canvas.selected_ids() == ["teach"]
    assert window.properties.node_id == "teach"


def test_keyboard_shortcuts(window: MainWindow, qtbot: QtBot) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    viewer = window.canvas.viewer()
    viewer.setFocus()
    window.canvas.select_ids(["near"])
    ctrl = QtCore.Qt.KeyboardModifier.ControlModifier
    QTest.keyClick(viewer, QtCore.Qt.Key.Key_Delete)
    assert window.editor.doc.node("near") is None
    QTest.keyClick(viewer, QtCore.Qt.Key.Key_Z, ctrl)
    assert window.editor.doc.node("near") is not None
    QTest.keyClick(viewer, QtCore.Qt.Key.Key_Z, ctrl | QtCore.Qt.KeyboardModifier.ShiftModifier)
    assert window.editor.doc.node("near") is None
    QTest.keyClick(viewer, QtCore.Qt.Key.Key_Z, ctrl)
    window.canvas.select_ids(["q", "goal"])
    QTest.keyClick(viewer, QtCore.Qt.Key.Key_D, ctrl)
    assert {n.id for n in window.editor.doc.nodes} >= {"q_2", "goal_2"}
    QTest.keyClick(viewer, QtCore.Qt.Key.Key_A, ctrl)
    assert len(window.canvas.selected_ids()) == len(window.editor.doc.nodes)


def test_group_ungroup_from_the_menus_round_trip(window: MainWindow) -> None:
    original = window.editor.doc
    window.canvas.select_ids(["q", "goal"])
    block = window.canvas_control.group_selection("Sensors")
    assert block is not None
    window.canvas.select_ids(["q"])
    assert window.canvas.selected_block() == block  # selecting a member picks its block
    window.canvas_control.toggle_selected_block()
    assert window.editor.doc.block(block).collapsed  # type: ignore[union-attr]
    window.canvas_control.ungroup_selection()
    assert window.editor.doc.blocks == []
    assert [n.model_dump() for n in window.editor.doc.nodes] == [
        n.model_dump() for n in original.nodes
    ]


def test_a_saved_block_is_inserted_into_another_graph(
    window: MainWindow, make_window: MakeWindow, tmp_path: Path
) -> None:
    block = window.editor.group(["q", "goal"], "Sensors")
    assert block is not None
    path = tmp_path / "sensors.block.yaml"
    assert window.canvas_control.save_block_to(block, path)
    other = make_window()
    other.new_graph()
    ids = other.canvas_control.insert_block_file(path, (0.0, 0.0))
    assert len(ids) == 2
    inserted = other.editor.doc.blocks[0]
    assert inserted.collapsed and inserted.name == "Sensors"
    assert other.canvas.view_item(f"block:{inserted.id}") is not None
    assert [p.name for p in inserted.inputs] == ["q.scene", "goal.scene"]


def test_help_and_examples_dialogs(window: MainWindow, registry: object) -> None:
    quick = HelpDialog.quick_start(window)
    assert "Quick start" in quick.browser.toPlainText()
    reference = HelpDialog.node_reference(window.registry, window)
    text = reference.browser.toPlainText()
    assert all(spec.type in text for spec in window.registry)
    gallery = ExamplesDialog(window)
    assert gallery.list.count() >= 2
    assert gallery.chosen() is not None
    assert "Robot arm" in gallery.details.toPlainText()


def test_files_dropped_on_the_canvas(
    window: MainWindow, make_window: MakeWindow, tmp_path: Path, answer: Answer
) -> None:
    block = window.editor.group(["q", "goal"], "Sensors")
    assert block is not None
    block_path = tmp_path / "sensors.block.yaml"
    assert window.canvas_control.save_block_to(block, block_path)
    graph_path = tmp_path / "other.yaml"
    other = make_window()
    other.new_graph()
    assert other.save_to(graph_path)

    drop_files(other, [block_path])
    assert len(other.editor.doc.nodes) == 2 and other.editor.doc.blocks[0].name == "Sensors"
    answer(Buttons.Discard)  # the dropped block is an unsaved edit
    drop_files(other, [graph_path.with_name("missing.yaml")])
    assert len(other.editor.doc.nodes) == 2, "an unreadable drop changes nothing"
    drop_files(other, [graph_path])
    assert other.path == graph_path and other.editor.doc.nodes == []


def test_right_click_opens_the_editing_menu_on_the_node_under_the_cursor(
    window: MainWindow,
) -> None:
    window.canvas.frame_ids(None)
    QtWidgets.QApplication.processEvents()
    node = window.canvas.view_item("near")
    centre = node.view.mapToScene(node.view.boundingRect().center())
    menu = window.canvas_control.canvas_menu(window.canvas.viewer().mapFromScene(centre))
    assert window.canvas.selected_ids() == ["near"]
    texts = [a.text() for a in menu.actions() if a.text()]
    assert texts[0] == "Add Node…"
    assert {"&Copy", "De&lete", "&Group into Block", "Auto-&Layout"} <= set(texts)
    next(a for a in menu.actions() if a.text() == "De&lete").trigger()
    assert window.editor.doc.node("near") is None


def test_closing_during_a_run_asks_and_stops_it(
    window: MainWindow, answer: Answer, qtbot: QtBot
) -> None:
    window.editor.set_prop("teach", "steps", 100_000)
    window.editor.undo_stack.setClean()
    window.path = None
    assert window.run(resume=False)
    qtbot.waitUntil(lambda: window.runs.state == "running", timeout=120_000)
    answer(Buttons.Cancel)
    assert not window.close() and window.runs.state == "running"
    answer(Buttons.Yes)
    assert window.close()
    assert window.runs.state in ("stopping", "idle")


def test_a_selected_block_shows_its_name_members_and_ports(window: MainWindow) -> None:
    block = window.editor.group(["q", "goal"], "Sensors")
    assert block is not None and window.editor.set_collapsed(block, True)
    window.canvas.select_ids(["q"])
    props = window.properties
    assert props.block_id == block and props.name_edit is not None
    assert props.name_edit.text() == "Sensors"
    props.name_edit.setText("Eyes")
    props.name_edit.editingFinished.emit()
    assert window.editor.doc.block(block).name == "Eyes"  # type: ignore[union-attr]
    assert window.canvas.view_item(f"block:{block}").name() == "▣ Eyes"
    window.editor.undo_stack.undo()
    assert props.name_edit.text() == "Sensors"


def test_names_the_file_format_would_refuse_are_refused(window: MainWindow) -> None:
    block = window.editor.group(["q", "goal"], "x" * 201)
    assert block is None and "200 characters" in window.status_message.text()
    block = window.editor.group(["q", "goal"], "Sensors")
    assert block is not None
    assert not window.editor.rename_block(block, "y" * 201)
    assert window.editor.doc.block(block).name == "Sensors"  # type: ignore[union-attr]


def test_a_value_its_box_cannot_hold_does_not_break_the_panel(window: MainWindow) -> None:
    window.editor.set_prop("teach", "seed", 10**10)
    window.editor.set_prop("teach", "lr", 2.5e-7)
    window.canvas.select_ids(["teach"])
    lr = window.properties.widgets["lr"]
    assert isinstance(lr, QtWidgets.QDoubleSpinBox) and lr.value() == pytest.approx(2.5e-7)
    assert window.editor.doc.node("teach").props["seed"] == 10**10  # type: ignore[union-attr]


def test_crash_copies_are_offered_when_opening_an_example(
    window: MainWindow, make_window: MakeWindow, app_paths: AppPaths, answer: Answer
) -> None:
    import os

    window.editor.set_prop("teach", "lr", 0.0321)
    copy = window.autosave()
    assert copy is not None
    note = copy.with_suffix(".json")
    note.write_text(note.read_text().replace(f'"pid": {os.getpid()}', '"pid": 999999999'))
    fresh = make_window()
    texts = answer(Buttons.Yes)
    fresh.start(example="robot_arm_reach")
    assert texts and "Recover it?" in texts[0]
    assert fresh.editor.doc.node("teach").props["lr"] == 0.0321  # type: ignore[union-attr]
