"""One link at a time: click a wire and Delete, right-click a wire, pick a wire up by its input."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from atrap_studio.core.document import Endpoint
from atrap_studio.ui.main_window import MainWindow
from tests.ui.test_canvas import drag, drawn_links

LEFT, RIGHT = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.MouseButton.RightButton
NO_KEYS = QtCore.Qt.KeyboardModifier.NoModifier


def _shown(window: MainWindow) -> None:
    window.canvas.frame_ids(None)
    QtWidgets.QApplication.processEvents()


def _wire_point(window: MainWindow, src: str, dst: str, at: float = 0.5) -> QtCore.QPoint:
    """A point on the wire from ``src`` to ``dst``, in viewport pixels."""
    canvas = window.canvas
    in_port = canvas.port_item(Endpoint.parse(dst), "in")
    out_port = canvas.port_item(Endpoint.parse(src), "out")
    pipe = next(p for p in in_port.view.connected_pipes if p.output_port is out_port.view)
    return canvas.viewer().mapFromScene(pipe.path().pointAtPercent(at))


def _port_point(window: MainWindow, end: str, direction: str) -> QtCore.QPoint:
    item = window.canvas.port_item(Endpoint.parse(end), direction).view
    return window.canvas.viewer().mapFromScene(item.mapToScene(item.boundingRect().center()))


def _links(window: MainWindow) -> set[tuple[str, str]]:
    return {(str(lk.src), str(lk.dst)) for lk in window.editor.doc.links}


def test_a_clicked_wire_is_removed_by_delete_as_one_undo_step(window: MainWindow) -> None:
    _shown(window)
    viewer = window.canvas.viewer()
    viewer.setFocus()
    before = _links(window)
    QTest.mouseClick(
        viewer.viewport(), LEFT, NO_KEYS, _wire_point(window, "near.reward", "teach.reward")
    )
    assert len(viewer.selected_pipes()) == 1, "the clicked wire is selected (highlighted)"
    QTest.keyClick(viewer, QtCore.Qt.Key.Key_Delete)
    assert _links(window) == before - {("near.reward", "teach.reward")}
    assert ("near.reward", "teach.reward") not in drawn_links(window.canvas)
    assert {n.id for n in window.editor.doc.nodes} >= {"near", "teach"}, "no node went with it"
    assert window.editor.undo_stack.undoText() == "Remove link"
    window.acts["undo"].trigger()
    assert _links(window) == before
    assert ("near.reward", "teach.reward") in drawn_links(window.canvas)


def test_the_right_click_menu_on_a_wire_removes_that_link(window: MainWindow, qtbot: QtBot) -> None:
    _shown(window)
    viewport = window.canvas.viewer().viewport()
    at = _wire_point(window, "q.value", "brain.state")
    before = _links(window)
    event = QtGui.QContextMenuEvent(
        QtGui.QContextMenuEvent.Reason.Mouse, at, viewport.mapToGlobal(at)
    )
    QtWidgets.QApplication.sendEvent(viewport, event)
    qtbot.waitUntil(lambda: isinstance(QtWidgets.QApplication.activePopupWidget(), QtWidgets.QMenu))
    menu = QtWidgets.QApplication.activePopupWidget()
    assert isinstance(menu, QtWidgets.QMenu)
    remove = next(a for a in menu.actions() if a.text() == "Remove Link")
    QTest.mouseClick(menu, LEFT, NO_KEYS, menu.actionGeometry(remove).center())
    assert _links(window) == before - {("q.value", "brain.state")}
    assert ("goal.value", "brain.state") in _links(window), "the other link into it stays"
    window.editor.undo_stack.undo()
    assert _links(window) == before


def test_dragging_from_a_connected_input_picks_its_wire_up(window: MainWindow) -> None:
    _shown(window)
    before = _links(window)
    start = _port_point(window, "teach.reward", "in")
    drag(window, start, start + QtCore.QPoint(-60, 120))  # dropped on empty canvas
    assert _links(window) == before - {("near.reward", "teach.reward")}
    assert window.editor.undo_stack.undoText() == "Remove link"
    window.editor.undo_stack.undo()
    assert _links(window) == before
    # a click on a connected input changes nothing
    QTest.mouseClick(window.canvas.viewer().viewport(), LEFT, NO_KEYS, start)
    assert _links(window) == before and ("near.reward", "teach.reward") in drawn_links(
        window.canvas
    )


def test_a_picked_up_wire_dropped_on_another_input_moves_there(window: MainWindow) -> None:
    editor = window.editor
    editor.unlink("arm.scene", "goal.scene")
    _shown(window)
    before, steps = _links(window), editor.undo_stack.count()
    drag(window, _port_point(window, "q.scene", "in"), _port_point(window, "goal.scene", "in"))
    assert _links(window) == before - {("arm.scene", "q.scene")} | {("arm.scene", "goal.scene")}
    assert editor.undo_stack.count() == steps + 1
    assert drawn_links(window.canvas) == _links(window)
    # dropped where the core refuses it (a Scene into the trainer's Network input): no change
    drag(
        window, _port_point(window, "goal.scene", "in"), _port_point(window, "teach.network", "in")
    )
    assert editor.undo_stack.count() == steps + 1
    assert drawn_links(window.canvas) == _links(window)


def _rubber_band(window: MainWindow, names: list[str]) -> None:
    """Drag a selection rectangle around the named nodes, from empty canvas."""
    canvas = window.canvas
    rect = QtCore.QRectF()
    for name in names:
        rect = rect.united(canvas.view_item(name).view.sceneBoundingRect())
    viewer = canvas.viewer()
    drag(
        window,
        viewer.mapFromScene(rect.topLeft() - QtCore.QPointF(15, 15)),
        viewer.mapFromScene(rect.bottomRight() + QtCore.QPointF(15, 15)),
    )


def test_the_ctrl_hint_goes_when_ctrl_is_released_in_the_group_dialog(
    window: MainWindow, qtbot: QtBot
) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    _shown(window)
    viewer = window.canvas.viewer()
    viewer.setFocus()
    _rubber_band(window, ["q", "goal"])
    assert sorted(window.canvas.selected_ids()) == ["goal", "q"]
    hint = viewer._cursor_text

    def name_the_block() -> None:  # Ctrl is let go while the name box has the keyboard
        box = QtWidgets.QApplication.activeModalWidget()
        if not isinstance(box, QtWidgets.QInputDialog):
            QtCore.QTimer.singleShot(20, name_the_block)
            return
        QTest.keyRelease(box, QtCore.Qt.Key.Key_G, QtCore.Qt.KeyboardModifier.ControlModifier)
        QTest.keyRelease(box, QtCore.Qt.Key.Key_Control)
        box.setTextValue("Sensors")
        box.accept()

    ctrl = QtCore.Qt.KeyboardModifier.ControlModifier
    QTest.keyPress(viewer, QtCore.Qt.Key.Key_Control)  # Qt reports Ctrl held for this press
    assert hint.isVisible() and "Deselect" in hint.toPlainText()
    QtCore.QTimer.singleShot(0, name_the_block)
    QTest.keyPress(viewer, QtCore.Qt.Key.Key_G, ctrl)  # Ctrl+G: the name box opens
    assert [b.name for b in window.editor.doc.blocks] == ["Sensors"]
    QtWidgets.QApplication.processEvents()
    assert not hint.isVisible(), "the Ctrl hint stays on the canvas"
    # and Ctrl is not still "held": a plain click selects the node under the cursor
    node = window.canvas.view_item("near").view
    centre = viewer.mapFromScene(node.mapToScene(node.boundingRect().center()))
    QTest.mouseClick(viewer.viewport(), LEFT, NO_KEYS, centre)
    assert window.canvas.selected_ids() == ["near"]


def _marks(window: MainWindow, side: str, end: str) -> tuple[bool, float]:
    """Whether a port wears the 'drop here' ring, and how opaque it is drawn."""
    item = window.canvas.port_item(Endpoint.parse(end), side).view
    ringed = any(child.data(0) == "drop here" for child in item.childItems())
    return ringed, item.opacity()


def test_dragging_a_wire_rings_the_ports_it_fits_and_fades_the_others(
    window: MainWindow,
) -> None:
    window.editor.unlink("arm.scene", "near.scene")
    _shown(window)
    viewport = window.canvas.viewer().viewport()
    start, goal = _port_point(window, "arm.scene", "out"), _port_point(window, "near.scene", "in")
    QTest.mousePress(viewport, LEFT, NO_KEYS, start)
    for step in range(1, 4):
        QTest.mouseMove(viewport, start + (goal - start) * (step / 6))
    assert _marks(window, "in", "near.scene") == (True, 1.0), "a free Scene input fits"
    for side, end in (
        ("in", "teach.network"),  # takes a Network
        ("in", "brain.state"),  # takes a Vector
        ("in", "q.scene"),  # already linked to arm.scene
        ("out", "brain.action"),  # an output
    ):
        ringed, opacity = _marks(window, side, end)
        assert not ringed and opacity < 0.5, end
    assert "1 input can take" in window.status_message.text()
    label = window.canvas_control.wire_feedback.label  # the verdict beside the cursor
    assert not label.isVisible(), "nothing to say over empty canvas"
    QTest.mouseMove(viewport, _port_point(window, "teach.network", "in"))
    refused = "✗ Direct trainer · network takes Network, not Scene"
    assert label.isVisible() and label.toPlainText() == refused
    assert window.status_message.text() == label.toPlainText()
    QTest.mouseMove(viewport, goal)
    assert label.toPlainText() == "✓ link to Distance to target · scene"
    QTest.mouseRelease(viewport, LEFT, NO_KEYS, start + (goal - start) * 0.5)  # empty canvas
    assert not label.isVisible()
    for side, end in (("in", "near.scene"), ("in", "teach.network"), ("out", "brain.action")):
        assert _marks(window, side, end) == (False, 1.0), f"{end} keeps a mark after the drag"
    assert ("arm.scene", "near.scene") not in _links(window)


def test_a_wire_dropped_on_a_port_of_its_own_side_says_why_it_was_refused(
    window: MainWindow,
) -> None:
    _shown(window)
    before = window.editor.doc
    drag(window, _port_point(window, "brain.action", "out"), _port_point(window, "q.value", "out"))
    assert window.editor.doc == before
    text = window.status_message.text()
    assert "two outputs cannot be linked" in text and "drag from an output" in text
    window.editor.unlink("near.reward", "teach.reward")  # a free input, so the drag starts there
    _shown(window)
    unlinked = window.editor.doc
    reward, values = (
        _port_point(window, "teach.reward", "in"),
        _port_point(window, "move.values", "in"),
    )
    drag(window, reward, values)
    assert "two inputs cannot be linked" in window.status_message.text()
    assert window.editor.doc == unlinked


def test_ctrl_right_drag_across_wires_cuts_them_as_one_undo_step(
    window: MainWindow, qtbot: QtBot
) -> None:
    """Blender's gesture: Ctrl+right-drag draws a line; the wires it crosses are cut."""
    _shown(window)
    viewer = window.canvas.viewer()
    before = _links(window)
    # a line across the two wires above the arm's feedback wire: into and out of Joint angles
    left = _wire_point(window, "arm.scene", "q.scene")
    right = _wire_point(window, "q.value", "brain.state")
    start, end = left + (left - right) * 0.1, right + (right - left) * 0.1
    ctrl = QtCore.Qt.KeyboardModifier.ControlModifier
    QTest.mousePress(viewer.viewport(), RIGHT, ctrl, start)
    for step in range(1, 6):
        QTest.mouseMove(viewer.viewport(), start + (end - start) * (step / 5))
    assert viewer._SLICER_PIPE.isVisible(), "the cutting line is drawn while dragging"
    QTest.mouseRelease(viewer.viewport(), RIGHT, ctrl, end)
    cut = {("arm.scene", "q.scene"), ("q.value", "brain.state")}
    assert _links(window) == before - cut
    assert not cut & drawn_links(window.canvas)
    assert not viewer._SLICER_PIPE.isVisible()
    assert QtWidgets.QApplication.activePopupWidget() is None, "no menu opened"
    assert window.editor.undo_stack.undoText() == "Remove 2 links"
    window.acts["undo"].trigger()
    assert _links(window) == before
