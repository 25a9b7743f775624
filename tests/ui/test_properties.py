"""A wrong value from a file shows as it is in the Properties panel, and typing fixes it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from atrap_studio.examples import example_path
from atrap_studio.ui.main_window import MainWindow
from atrap_studio.ui.properties import ListEditor

LEFT = QtCore.Qt.MouseButton.LeftButton


def _broken_arm(tmp_path: Path) -> Path:
    """The arm example with a 0-joint arm and an activation this version does not know."""
    text = example_path("robot_arm_reach").read_text(encoding="utf-8")
    text = text.replace("joints: 6,", "joints: 0,").replace(
        "activation: silu", "activation: sigmoidal"
    )
    assert "joints: 0," in text and "sigmoidal" in text
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _click_node(window: MainWindow, node_id: str) -> None:
    window.canvas.frame_ids(None)
    QtWidgets.QApplication.processEvents()
    item = window.canvas.view_item(node_id).view
    viewer = window.canvas.viewer()
    title = viewer.mapFromScene(item.mapToScene(QtCore.QPointF(item.boundingRect().width() / 2, 8)))
    QTest.mouseClick(viewer.viewport(), LEFT, QtCore.Qt.KeyboardModifier.NoModifier, title)
    assert window.properties.node_id == node_id


def _type_into(field: QtWidgets.QAbstractSpinBox, text: str) -> None:
    field.setFocus()
    field.selectAll()
    QTest.keyClicks(field, text)
    QTest.keyClick(field, QtCore.Qt.Key.Key_Return)


def test_a_number_out_of_range_is_shown_and_typing_the_clamped_value_fixes_it(
    make_window: Callable[..., MainWindow], tmp_path: Path, qtbot: QtBot
) -> None:
    window = make_window()
    assert window.open_file(_broken_arm(tmp_path), ask=False)
    _click_node(window, "arm")
    joints = window.properties.widgets["joints"]
    assert isinstance(joints, QtWidgets.QSpinBox)
    assert joints.text() == "0", "the field shows what the file holds"
    note = window.properties._notes["joints"]
    qtbot.waitUntil(lambda: note.isVisibleTo(window.properties))
    assert joints.property("atrap_wrong") is True, "and marks it wrong"
    lowest = window.registry.get("scene.robot_arm").prop("joints").min  # type: ignore[union-attr]
    _type_into(joints, str(int(lowest)))  # the value a clamped field would have shown
    assert window.editor.doc.node("arm").props["joints"] == lowest  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: not note.isVisibleTo(window.properties))
    assert joints.property("atrap_wrong") is False
    assert joints.minimum() == lowest, "the range is the spec's again"
    window.editor.undo_stack.undo()
    assert joints.text() == "0"


def test_an_unknown_choice_is_shown_and_any_choice_fixes_it(
    make_window: Callable[..., MainWindow], tmp_path: Path, qtbot: QtBot
) -> None:
    window = make_window()
    assert window.open_file(_broken_arm(tmp_path), ask=False)
    _click_node(window, "brain")
    activation = window.properties.widgets["activation"]
    assert isinstance(activation, QtWidgets.QComboBox)
    assert activation.currentText() == "sigmoidal"
    qtbot.waitUntil(lambda: activation.property("atrap_wrong") is True)
    # the person opens the list and picks its first entry (what the field showed before)
    first = activation.itemText(0)
    activation.showPopup()
    view = activation.view()
    qtbot.waitUntil(view.isVisible)
    rect = view.visualRect(view.model().index(0, 0))
    QTest.mouseClick(view.viewport(), LEFT, QtCore.Qt.KeyboardModifier.NoModifier, rect.center())
    assert window.editor.doc.node("brain").props["activation"] == first  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: activation.property("atrap_wrong") is False)
    assert "sigmoidal" not in [activation.itemText(i) for i in range(activation.count())]


def test_the_layer_buttons_stay_in_view_in_a_narrow_properties_dock(
    window: MainWindow, qtbot: QtBot
) -> None:
    window.resize(1600, 1000)
    dock = window.docks["Properties"]
    window.resizeDocks([dock], [260], QtCore.Qt.Orientation.Horizontal)
    window.canvas.select_ids(["brain"])
    hidden = window.properties.widgets["hidden"]
    assert isinstance(hidden, ListEditor)
    QtWidgets.QApplication.processEvents()
    window.resizeDocks([dock], [260], QtCore.Qt.Orientation.Horizontal)  # once the form is in
    qtbot.waitUntil(lambda: dock.width() < 420)  # as narrow as the docks tabbed below allow
    viewport = window.properties.viewport()
    assert window.properties.horizontalScrollBar().maximum() == 0, "nothing hides to the right"
    for button in (hidden.add_button, hidden.remove_button):
        box = QtCore.QRect(button.mapTo(viewport, QtCore.QPoint(0, 0)), button.size())
        assert viewport.rect().contains(box), (
            f"{button.text()} at {box} is outside {viewport.rect()}"
        )
    for field in hidden._fields:
        box = QtCore.QRect(field.mapTo(viewport, QtCore.QPoint(0, 0)), field.size())
        assert viewport.rect().contains(box), "each layer's size can be read"
    QTest.mouseClick(hidden.add_button, QtCore.Qt.MouseButton.LeftButton)
    assert window.editor.doc.node("brain").props["hidden"] == [128] * 4  # type: ignore[union-attr]
    hidden = window.properties.widgets["hidden"]
    QTest.mouseClick(hidden.remove_button, QtCore.Qt.MouseButton.LeftButton)
    QTest.mouseClick(hidden.remove_button, QtCore.Qt.MouseButton.LeftButton)
    assert window.editor.doc.node("brain").props["hidden"] == [128] * 2  # type: ignore[union-attr]
