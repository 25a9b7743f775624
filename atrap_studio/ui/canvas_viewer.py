"""NodeGraphQt's canvas view with the wire gestures people know from other node editors.

- Clicking a wire selects it (so Delete or the right-click menu can remove that one link);
  NodeGraphQt alone picks the wire up and puts it back, leaving nothing selected.
- Dragging from a connected input picks up its wire by that end, as in ComfyUI: dropped on
  empty canvas the link is removed, dropped on another input it moves there. NodeGraphQt alone
  starts a new wire from a multi-link input, so a link could only be cut with Alt+Shift.
- Ctrl+right-drag draws a cutting line, as in Blender: every wire it crosses is removed when
  the button is let go (one step of Undo); the right-click menu stays closed while Ctrl is
  held. (NodeGraphQt's own Alt+Shift+drag does the same, undocumented.)
- A wire being dragged is announced (``wire_started``, ``wire_ended``) so the canvas can show
  where it may be dropped, and a drop NodeGraphQt refuses without a word (on a port of the same
  side) is reported (``wire_refused``) so the person is told why.
- The Ctrl/Shift hint ("CTRL: Deselect Nodes") and the modifier state behind it follow the
  keys really held: a key released while a dialog had the focus (Ctrl+G's name box) used to
  leave the hint on the canvas and Ctrl "held", so the next click deselected instead of selecting.

The view only reports port changes (``connection_changed``); the canvas turns them into edits.
"""

from __future__ import annotations

import math
from typing import Any

from NodeGraphQt.constants import PortTypeEnum
from NodeGraphQt.qgraphics.node_abstract import AbstractNodeItem
from NodeGraphQt.qgraphics.pipe import PipeItem
from NodeGraphQt.qgraphics.port import PortItem
from NodeGraphQt.widgets.viewer import NodeViewer
from PySide6 import QtCore, QtGui, QtWidgets

#: How far (view pixels) the mouse may move for a press and release to count as a click.
CLICK_SLOP = 2.0


class CanvasViewer(NodeViewer):
    """The graphics view of the canvas (see the module docstring for what it adds).

    Signals:
        wire_started(PortItem, PortItem | None): a wire is dragged from a port; the second is the
            input it was taken off (a wire picked up by its end), else None.
        wire_over(PortItem | None, QPointF): the dragged wire's end is over a port (or none),
            at a point of the scene.
        wire_ended(): the dragged wire was dropped (linked, refused or let go).
        wire_refused(PortItem, PortItem): dropped on a port of its own side (output on output,
            input on input), which NodeGraphQt refuses silently.
    """

    wire_started = QtCore.Signal(object, object)
    wire_over = QtCore.Signal(object, object)
    wire_ended = QtCore.Signal()
    wire_refused = QtCore.Signal(object, object)

    def __init__(self, parent: QtWidgets.QWidget | None = None, undo_stack: Any = None) -> None:
        super().__init__(parent, undo_stack=undo_stack)
        self._clicked_wire: tuple[Any, Any] | None = None  # (input, output) port items
        #: Whether a Ctrl+right-drag is drawing the cutting line now.
        self.cutting = False

    # -- wires --------------------------------------------------------------------------------

    def sceneMousePressEvent(self, event: QtWidgets.QGraphicsSceneMouseEvent) -> None:
        self._clicked_wire = None
        plain = (
            event.button() == QtCore.Qt.MouseButton.LeftButton
            and not (self.ALT_state or self.SHIFT_state or self.CTRL_state)
            and not self._LIVE_PIPE.isVisible()
        )
        if plain:
            node, port, pipe = self._topmost(event.scenePos())
            if (
                port is not None
                and port.port_type == PortTypeEnum.IN.value
                and port.connected_pipes
                and not port.locked
            ):
                self._pick_up(port.connected_pipes[-1], event.scenePos())
                return
            if node is None and port is None and pipe is not None:
                self._clicked_wire = (pipe.input_port, pipe.output_port)
        super().sceneMousePressEvent(event)

    def sceneMouseReleaseEvent(self, event: QtWidgets.QGraphicsSceneMouseEvent) -> None:
        super().sceneMouseReleaseEvent(event)
        clicked, self._clicked_wire = self._clicked_wire, None
        if clicked is None or self._moved() > CLICK_SLOP:
            return
        in_port, out_port = clicked  # NodeGraphQt has put the wire back: select the new item
        for pipe in in_port.connected_pipes:
            if pipe.output_port is out_port:
                self.scene().clearSelection()
                pipe.setSelected(True)
                break

    def _pick_up(self, pipe: Any, at: QtCore.QPointF) -> None:
        """Detach ``pipe`` from its input and follow the cursor with that end."""
        self._detached_port = pipe.input_port
        self.start_live_connection(pipe.output_port)
        self._LIVE_PIPE.draw_path(self._start_port, cursor_pos=at)
        pipe.delete()

    def start_live_connection(self, selected_port: Any) -> None:
        super().start_live_connection(selected_port)
        if selected_port is not None:
            self.wire_started.emit(selected_port, self._detached_port)

    def sceneMouseMoveEvent(self, event: QtWidgets.QGraphicsSceneMouseEvent) -> None:
        super().sceneMouseMoveEvent(event)
        start = self._start_port
        if self._LIVE_PIPE.isVisible() and start is not None:
            items = self.scene().items(event.scenePos())
            port = next((i for i in items if isinstance(i, PortItem) and i is not start), None)
            self.wire_over.emit(port, event.scenePos())

    def end_live_connection(self) -> None:
        dragging = self._start_port is not None
        super().end_live_connection()
        if dragging:
            self.wire_ended.emit()

    def apply_live_connection(self, event: QtWidgets.QGraphicsSceneMouseEvent) -> None:
        start = self._start_port
        if self._LIVE_PIPE.isVisible() and start is not None:
            end = next(
                (i for i in self.scene().items(event.scenePos()) if isinstance(i, PortItem)), None
            )
            if end is not None and end is not start and end.port_type == start.port_type:
                self.wire_refused.emit(start, end)
        super().apply_live_connection(event)

    def _topmost(self, pos: QtCore.QPointF) -> tuple[Any, Any, Any]:
        """The node, port or wire under a point, as NodeGraphQt ranks them (one of the three)."""
        for item in self._items_near(pos, None, 5, 5):
            if isinstance(item, AbstractNodeItem):
                return item, None, None
            if isinstance(item, PortItem):
                return None, item, None
            if isinstance(item, PipeItem) and item is not self._LIVE_PIPE:
                return None, None, item
        return None, None, None

    def _moved(self) -> float:
        delta = self._previous_pos - self._origin_pos
        return math.hypot(delta.x(), delta.y())

    # -- modifier keys ------------------------------------------------------------------------

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        self._sync_modifiers(event.modifiers())
        ctrl = event.modifiers() == QtCore.Qt.KeyboardModifier.ControlModifier
        if ctrl and event.button() == QtCore.Qt.MouseButton.RightButton:
            self._start_cut(event.position().toPoint())
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:
        if self.cutting:
            start = self._SLICER_PIPE.path().pointAtPercent(0)
            at = event.position().toPoint()
            self._SLICER_PIPE.draw_path(start, self.mapToScene(at))
            self._previous_pos = at
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QtGui.QMouseEvent) -> None:
        if self.cutting and event.button() == QtCore.Qt.MouseButton.RightButton:
            self._end_cut()
        else:
            super().mouseReleaseEvent(event)
        self._sync_modifiers(event.modifiers())

    # -- cutting wires (Ctrl+right-drag) -------------------------------------------------------

    def _start_cut(self, at: QtCore.QPoint) -> None:
        self.cutting = True
        self._origin_pos = self._previous_pos = at
        point = self.mapToScene(at)
        self._SLICER_PIPE.draw_path(point, point)
        self._SLICER_PIPE.setVisible(True)
        self._cursor_text.setVisible(False)

    def _end_cut(self) -> None:
        """Report every wire the line crosses (``connection_sliced``), then hide the line."""
        self.cutting = False
        self._on_pipes_sliced(self._SLICER_PIPE.path())
        origin = QtCore.QPointF(0.0, 0.0)
        self._SLICER_PIPE.draw_path(origin, origin)
        self._SLICER_PIPE.setVisible(False)

    def focusOutEvent(self, event: QtGui.QFocusEvent) -> None:
        super().focusOutEvent(event)
        self._sync_modifiers(QtCore.Qt.KeyboardModifier.NoModifier)

    def _sync_modifiers(self, held: QtCore.Qt.KeyboardModifier) -> None:
        """Take the modifier state from keys held now; drop the hint if none is."""
        modifier = QtCore.Qt.KeyboardModifier
        alt_shift = modifier.AltModifier | modifier.ShiftModifier
        self.ALT_state = held in (modifier.AltModifier, alt_shift)  # as NodeGraphQt reads keys
        self.CTRL_state = held == modifier.ControlModifier
        self.SHIFT_state = held in (modifier.ShiftModifier, alt_shift)
        if not (self.CTRL_state or self.SHIFT_state):
            self._cursor_text.setPlainText("")
            self._cursor_text.setVisible(False)
