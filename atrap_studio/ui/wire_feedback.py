"""Where a dragged wire may go: rings on the ports that would take it, the others faded.

While a wire is dragged from a port, every other port is judged as the editor would judge the
drop (the core's ``link_problem``: kinds of data, loops, links already there), so a person sees
before letting go which ports fit, as Blender and Unreal show; a drop the viewer refuses on its
own (output on output) is explained in the status bar instead of ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from NodeGraphQt.constants import PortTypeEnum
from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.core.document import Endpoint
from atrap_studio.core.editing import disconnect, link_problem
from atrap_studio.ui.canvas import Canvas

#: How opaque a port that cannot take the wire is drawn while it is dragged.
FADED = 0.25
RING_COLOUR = QtGui.QColor(120, 230, 140)
RING_MARK = "drop here"  # the ring's data(0), which tests look for


class WireFeedback(QtCore.QObject):
    """Marks the canvas's ports while a wire is dragged; says why a same-side drop is refused."""

    def __init__(
        self, canvas: Canvas, say: Callable[[str], None], parent: QtCore.QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.canvas, self._say = canvas, say
        self._marked: list[tuple[Any, QtWidgets.QGraphicsItem | None]] = []
        viewer = canvas.viewer()
        viewer.wire_started.connect(self._show)
        viewer.wire_ended.connect(self._clear)
        viewer.wire_refused.connect(self._refused)

    def _show(self, start: Any, detached: Any) -> None:
        """Ring the ports that would take a wire from ``start``; fade the rest."""
        self._clear()
        found = self.canvas.endpoint_of(start)
        if found is None:
            return
        end, side = found
        doc = self.canvas.doc
        taken_off = self.canvas.endpoint_of(detached) if detached is not None else None
        if taken_off is not None and side == "out":  # the wire being moved is not a link now
            doc = disconnect(doc, end, taken_off[0])
        fits = 0
        for other, other_side, item in self.canvas.port_views():
            if item is start:
                continue
            ok = other_side != side and (
                link_problem(doc, self.canvas.registry, *_ordered(end, other, side)) is None
            )
            self._marked.append((item, _ring(item) if ok else None))
            if ok:
                fits += 1
            else:
                item.setOpacity(FADED)
        wanted = "input" if side == "out" else "output"
        self._say(
            f"{fits} {wanted}{'s' if fits != 1 else ''} can take this wire (ringed)."
            if fits
            else f"No {wanted} can take this wire."
        )

    def _clear(self) -> None:
        for item, ring in self._marked:
            try:
                item.setOpacity(1.0)
                if ring is not None and ring.scene() is not None:
                    ring.scene().removeItem(ring)
            except RuntimeError:  # the port was redrawn meanwhile: its marks went with it
                continue
        self._marked = []

    def _refused(self, start: Any, end: Any) -> None:
        kind = "outputs" if _is_output(start) else "inputs"
        self._say(
            f"Not linked: two {kind} cannot be linked; drag from an output (a node's right "
            "side) to an input (its left side)."
        )


def _ordered(end: Endpoint, other: Endpoint, side: str) -> tuple[Endpoint, Endpoint]:
    """(output, input) of a wire from ``end`` (on ``side``) to ``other``."""
    return (end, other) if side == "out" else (other, end)


def _is_output(port: Any) -> bool:
    return bool(port.port_type == PortTypeEnum.OUT.value)


def _ring(item: Any) -> QtWidgets.QGraphicsEllipseItem:
    """A ring drawn around a port that would take the wire (a child, so it moves with it)."""
    box = item.boundingRect()
    size = max(box.height(), 10.0) + 8.0
    centre = box.center()
    ring = QtWidgets.QGraphicsEllipseItem(
        centre.x() - size / 2, centre.y() - size / 2, size, size, item
    )
    ring.setPen(QtGui.QPen(RING_COLOUR, 2.5))
    ring.setBrush(QtCore.Qt.BrushStyle.NoBrush)
    ring.setData(0, RING_MARK)
    ring.setAcceptedMouseButtons(QtCore.Qt.MouseButton.NoButton)
    ring.setAcceptHoverEvents(False)
    return ring
