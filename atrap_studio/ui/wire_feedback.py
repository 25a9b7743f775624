"""Where a dragged wire may go: rings on the ports that would take it, the others faded.

While a wire is dragged from a port, every other port is judged as the editor would judge the
drop (the core's ``link_problem``: kinds of data, loops, links already there), so a person sees
before letting go which ports fit, as Blender and Unreal show; over a port, a ✓ or a ✗ with the
reason follows the cursor (and the status bar says it), and a drop the viewer refuses on its own
(output on output) is explained in the status bar instead of ignored.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from NodeGraphQt.constants import PortTypeEnum
from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.core.document import Endpoint, GraphDocument
from atrap_studio.core.editing import disconnect, link_problem
from atrap_studio.ui.canvas import Canvas

#: How opaque a port that cannot take the wire is drawn while it is dragged.
FADED = 0.25
RING_COLOUR = QtGui.QColor(120, 230, 140)
RING_MARK = "drop here"  # the ring's data(0), which tests look for
FITS_COLOUR, REFUSED_COLOUR = "#78e68c", "#f08080"


class WireFeedback(QtCore.QObject):
    """Marks the canvas's ports while a wire is dragged; says why a same-side drop is refused."""

    def __init__(
        self, canvas: Canvas, say: Callable[[str], None], parent: QtCore.QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.canvas, self._say = canvas, say
        self._marked: list[tuple[Any, QtWidgets.QGraphicsItem | None]] = []
        #: Why each port cannot take the dragged wire (None: it can), by port item.
        self._verdicts: dict[Any, str | None] = {}
        #: The ✓ / ✗ that follows the cursor over a port while a wire is dragged.
        self.label = QtWidgets.QGraphicsTextItem()
        self.label.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.label.setZValue(1e6)
        self.label.hide()
        viewer = canvas.viewer()
        viewer.scene().addItem(self.label)
        viewer.wire_over.connect(self._over)
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
            verdict = self._verdict(doc, end, side, other, other_side)
            self._verdicts[item] = verdict
            ok = verdict is None
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

    def _verdict(
        self, doc: GraphDocument, end: Endpoint, side: str, other: Endpoint, other_side: str
    ) -> str | None:
        """Why a wire from ``end`` cannot be dropped on ``other``, in words; None if it can."""
        if other_side == side:
            return f"two {'outputs' if side == 'out' else 'inputs'} cannot be linked"
        src, dst = _ordered(end, other, side)
        problem = link_problem(doc, self.canvas.registry, src, dst)
        if problem is None:
            return None
        kinds = self._kinds(doc, src, dst)
        if kinds is not None and kinds[0] != kinds[1]:
            return f"{self._name(doc, dst)} takes {kinds[1]}, not {kinds[0]}"
        return problem

    def _kinds(self, doc: GraphDocument, src: Endpoint, dst: Endpoint) -> tuple[str, str] | None:
        """The kinds of data (Scene, Vector, ...) an output gives and an input takes."""
        specs = [doc.node(e.node) for e in (src, dst)]
        found = [self.canvas.registry.get(n.type) if n else None for n in specs]
        if found[0] is None or found[1] is None:
            return None
        out_port, in_port = found[0].output(src.port), found[1].input(dst.port)
        if out_port is None or in_port is None:
            return None
        return out_port.port_type.kind, in_port.port_type.kind

    def _name(self, doc: GraphDocument, end: Endpoint) -> str:
        """'NN Factory · state': the node as the canvas names it, and the port."""
        node = doc.node(end.node)
        spec = self.canvas.registry.get(node.type) if node else None
        title = (node.name if node else None) or (spec.title if spec else end.node)
        return f"{title} · {end.port}"

    def _over(self, item: Any, at: QtCore.QPointF) -> None:
        """Follow the cursor with the verdict on the port under it (nothing off a port)."""
        if item is None or item not in self._verdicts:
            self.label.hide()
            return
        verdict = self._verdicts[item]
        found = self.canvas.endpoint_of(item)
        if verdict is None and found is not None:
            text, colour = f"✓ link to {self._name(self.canvas.doc, found[0])}", FITS_COLOUR
        else:
            text, colour = f"✗ {verdict}", REFUSED_COLOUR
        self.label.setHtml(
            f'<div style="background-color:#202020; color:{colour}; padding:2px">'
            f"{html.escape(text)}</div>"
        )
        self.label.setPos(at)
        viewer = self.canvas.viewer()
        width = self.label.boundingRect().width()
        room = viewer.viewport().width() - viewer.mapFromScene(at).x()
        right = room > 14 + width  # beside the cursor, on its left near the canvas's edge
        self.label.setTransform(QtGui.QTransform.fromTranslate(14 if right else -14 - width, 12))
        self.label.show()
        self._say(text)

    def _clear(self) -> None:
        self.label.hide()
        self._verdicts = {}
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
