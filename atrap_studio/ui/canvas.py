"""The node canvas: a NodeGraphQt view drawn from the graph document, and the user's intents.

The document is the only model. :meth:`Canvas.show_document` brings the view in line with it
(adding, removing and updating only what differs), and what the user does on the canvas
(drag a link, move nodes, rename, drop a node) comes back as intent signals that the editor
turns into document edits, one undo step each. NodeGraphQt's own undo stack is never used.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any

from NodeGraphQt import BackdropNode, NodeGraph
from NodeGraphQt.constants import MIME_TYPE, URN_SCHEME, PipeEnum, PortTypeEnum
from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.core.blocks import boundary_ports
from atrap_studio.core.document import Endpoint, GraphDocument, Link
from atrap_studio.core.editing import feedback_inputs
from atrap_studio.core.registry import Registry
from atrap_studio.core.validation import Issue
from atrap_studio.ui.canvas_viewer import CanvasViewer
from atrap_studio.ui.node_types import BlockNode, MissingNode, node_classes, port_colour

Position = tuple[float, float]
ViewPort = tuple[str, str, str]  # (view key, "in"/"out", port name)

#: Drag-and-drop format understood by NodeGraphQt's viewer: ``ngqt::node:<class type>``.
NODE_MIME = MIME_TYPE

_BADGE_COLOURS = {"error": QtGui.QColor(220, 60, 60), "warning": QtGui.QColor(235, 170, 40)}
_GRID_STEP = (260.0, 160.0)


class Canvas(NodeGraph):
    """The NodeGraphQt graph, kept as a projection of a :class:`GraphDocument`.

    View keys: a node's id for a visible node, ``block:<id>`` for a collapsed block, and
    ``frame:<id>`` for the backdrop drawn behind an expanded block's members.
    """

    links_edited = QtCore.Signal(object, object)  # removed: list[Link], added: list[Link]
    moved = QtCore.Signal(object)  # {node or block id: (x, y)}
    node_requested = QtCore.Signal(str, object)  # spec type id, (x, y)
    renamed = QtCore.Signal(str, str)  # node id, new name
    block_renamed = QtCore.Signal(str, str)  # block id, new name
    block_toggled = QtCore.Signal(str)  # block id
    files_dropped = QtCore.Signal(object, object)  # [paths], (x, y)
    selection_ids_changed = QtCore.Signal(object)  # [node ids], selected blocks' members included

    def __init__(self, registry: Registry, parent: QtCore.QObject | None = None) -> None:
        stack = QtGui.QUndoStack()  # NodeGraphQt's own; never used (see the module docstring)
        super().__init__(parent, undo_stack=stack, viewer=CanvasViewer(undo_stack=stack))
        self.registry = registry
        self.set_acyclic(False)  # the core checks cycles, knowing which inputs are feedback
        self.set_pipe_collision(False)
        viewer = self.viewer()
        for action in (viewer._undo_action, viewer._redo_action):  # its own stack stays unused
            action.setShortcuts([])
            action.setVisible(False)
        self.disable_context_menu(True)
        self._classes = node_classes(registry)
        self.register_nodes(list(self._classes.values()))  # what the Tab search offers
        self._spec_by_class = {cls.type_: type_id for type_id, cls in self._classes.items()}
        self._views: dict[str, Any] = {}
        self._keys: dict[str, str] = {}  # NodeGraphQt node id -> view key
        self._signatures: dict[str, tuple[Any, ...]] = {}
        self._port_ends: dict[ViewPort, Endpoint] = {}
        self._badges: dict[str, QtWidgets.QGraphicsItem] = {}
        self._doc = GraphDocument()
        self.node_selection_changed.connect(self._on_selection)

    # -- document -> view ---------------------------------------------------------------

    def show_document(self, doc: GraphDocument) -> None:
        """Bring the view in line with ``doc``, touching only what differs."""
        self._doc = doc
        wanted = self._wanted_items(doc)
        for key in [k for k in self._views if k not in wanted or self._stale(k, wanted[k])]:
            self._drop_view(key)
        for key, (kind, signature, title, pos) in wanted.items():
            if key not in self._views:
                self._make_view(key, kind, signature)
            node = self._views[key]
            if kind != "frame":
                _set_name(node, title)
                if pos is not None and tuple(node.pos()) != pos:
                    node.set_property("pos", [float(pos[0]), float(pos[1])], push_undo=False)
        self._sync_links(doc)
        self._sync_frames(doc)

    def view_key_of(self, node_id: str) -> str:
        """The view item that shows a node: itself, or its collapsed block."""
        block = self._doc.block_of(node_id)
        return f"block:{block.id}" if block and block.collapsed else node_id

    def view_item(self, key: str) -> Any:
        return self._views.get(key)

    def port_item(self, end: Endpoint, direction: str) -> Any:
        """The NodeGraphQt port that shows a document port (on its node or collapsed block)."""
        for (key, side, name), known in self._port_ends.items():
            if known == end and side == direction:
                node = self._views[key]
                return (node.inputs() if side == "in" else node.outputs())[name]
        return None

    @property
    def doc(self) -> GraphDocument:
        """The document the canvas shows now."""
        return self._doc

    def port_views(self) -> list[tuple[Endpoint, str, Any]]:
        """Every port drawn: its document end, its side ("in"/"out") and NodeGraphQt's item."""
        found = []
        for (key, side, name), end in self._port_ends.items():
            node = self._views.get(key)
            ports = (node.inputs() if side == "in" else node.outputs()) if node else {}
            if name in ports:
                found.append((end, side, ports[name].view))
        return found

    def endpoint_of(self, port_view: Any) -> tuple[Endpoint, str] | None:
        """The document end and side a NodeGraphQt port item shows, if it shows one."""
        return self._endpoint(port_view)

    def select_ids(self, ids: list[str]) -> None:
        """Select the view items that show the given node ids."""
        self.select_keys(list(dict.fromkeys(self.view_key_of(i) for i in ids)))

    def key_at(self, scene_pos: QtCore.QPointF) -> str | None:
        """The view key of the node (or block) drawn at a point of the canvas, if any."""
        for item in self.viewer().scene().items(scene_pos):
            while item is not None and not hasattr(item, "id"):
                item = item.parentItem()
            key = self._keys.get(getattr(item, "id", ""))
            if key is not None:
                return key
        return None

    def selected_keys(self) -> list[str]:
        return [k for k in (self._keys.get(n.id) for n in self.selected_nodes()) if k]

    def select_keys(self, keys: list[str]) -> None:
        self.clear_selection()
        for key in keys:
            if key in self._views:
                self._views[key].set_selected(True)
        self.selection_ids_changed.emit(self.selected_ids())

    def selected_ids(self) -> list[str]:
        """Document node ids under the selection (a selected block stands for its members)."""
        ids: list[str] = []
        for node in self.selected_nodes():
            key = self._keys.get(node.id, "")
            if key.startswith(("block:", "frame:")):
                block = self._doc.block(key.partition(":")[2])
                ids.extend(block.nodes if block else [])
            elif key:
                ids.append(key)
        return list(dict.fromkeys(ids))

    def selected_links(self) -> list[Link]:
        """The links whose wires are selected (a click on a wire selects it)."""
        links = (self._link_of(p.input_port, p.output_port) for p in self.viewer().selected_pipes())
        return [lk for lk in links if lk is not None]

    def link_at(self, scene_pos: QtCore.QPointF) -> Link | None:
        """The link whose wire passes near a point of the canvas, if no node is drawn there."""
        if self.key_at(scene_pos) is not None:
            return None
        for item in self.viewer()._items_near(scene_pos, None, 5, 5):
            if type(item).__name__ == "PipeItem" and item.input_port and item.output_port:
                return self._link_of(item.input_port, item.output_port)
        return None

    def select_link(self, link: Link) -> None:
        """Select the one wire that draws ``link`` (nothing else stays selected)."""
        self.clear_selection()
        self.viewer().scene().clearSelection()
        in_port, out_port = self.port_item(link.dst, "in"), self.port_item(link.src, "out")
        for pipe in in_port.view.connected_pipes if in_port and out_port else ():
            if pipe.output_port is out_port.view:
                pipe.setSelected(True)
        self.selection_ids_changed.emit([])

    def selected_block(self) -> str | None:
        """The one block the selection is in: its box, its frame, or only its members."""
        blocks: set[str | None] = set()
        for key in (self._keys.get(n.id, "") for n in self.selected_nodes()):
            if key.startswith(("block:", "frame:")):
                blocks.add(key.partition(":")[2])
            elif key:
                block = self._doc.block_of(key)
                blocks.add(block.id if block else None)
        return blocks.pop() if len(blocks) == 1 else None

    def frame_ids(self, ids: list[str] | None = None) -> None:
        """Zoom to show the given nodes, or everything."""
        if ids:
            nodes = [self._views[k] for k in {self.view_key_of(i) for i in ids} if k in self._views]
            self.center_on(nodes)
            self.viewer().zoom_to_nodes([n.view for n in nodes])
        else:
            self.fit_to_selection() if self.selected_nodes() else self._fit_all()

    def _fit_all(self) -> None:
        nodes = [n.view for n in self.all_nodes()]
        if nodes:
            self.viewer().zoom_to_nodes(nodes)

    def positions(self) -> dict[str, Position]:
        """Where each node and collapsed block is drawn now, by document id."""
        result: dict[str, Position] = {}
        for key, node in self._views.items():
            if key.startswith("frame:"):
                continue
            x, y = node.pos()
            result[key.removeprefix("block:")] = (round(float(x), 1), round(float(y), 1))
        return result

    # -- badges ---------------------------------------------------------------------------

    def show_issues(self, issues: list[Issue]) -> None:
        """Badge every node (or its collapsed block) that has problems; clear the others."""
        by_key: dict[str, list[Issue]] = defaultdict(list)
        for issue in issues:
            if issue.node is not None:
                by_key[self.view_key_of(issue.node)].append(issue)
        for key in list(self._badges):
            if key not in by_key or key not in self._views:
                self._remove_badge(key)
        for key, found in by_key.items():
            node = self._views.get(key)
            if node is not None:
                self._badge(key, node, found)

    def badge_of(self, node_id: str) -> QtWidgets.QGraphicsItem | None:
        """The badge drawn on the item that shows a node, if it has one."""
        return self._badges.get(self.view_key_of(node_id))

    def _badge(self, key: str, node: Any, issues: list[Issue]) -> None:
        self._remove_badge(key)
        severity = "error" if any(i.severity == "error" for i in issues) else "warning"
        colour = _BADGE_COLOURS[severity]
        size = 18.0
        badge = QtWidgets.QGraphicsEllipseItem(0, 0, size, size, node.view)
        badge.setBrush(colour)
        badge.setPen(QtGui.QPen(QtGui.QColor(20, 20, 20), 1.5))
        badge.setPos(node.view.boundingRect().width() - size / 2, -size / 2)
        badge.setZValue(10)
        mark = QtWidgets.QGraphicsSimpleTextItem("!" if severity == "error" else "?", badge)
        font = mark.font()
        font.setBold(True)
        mark.setFont(font)
        mark.setBrush(QtGui.QColor(255, 255, 255))
        rect = mark.boundingRect()
        mark.setPos((size - rect.width()) / 2, (size - rect.height()) / 2)
        text = "<br>".join(
            f"<b>{i.severity}</b>: {i.message}" + (f"<br><i>{i.hint}</i>" if i.hint else "")
            for i in issues
        )
        badge.setToolTip(text)
        badge.setData(0, severity)
        node.view.border_color = (*colour.getRgb()[:3], 255)
        node.view.update()
        self._badges[key] = badge

    def _remove_badge(self, key: str) -> None:
        badge = self._badges.pop(key, None)
        if badge is not None:
            scene = badge.scene()
            if scene is not None:
                scene.removeItem(badge)
            node = self._views.get(key)
            if node is not None:
                node.view.border_color = (74, 84, 85, 255)
                node.view.update()

    # -- view construction ----------------------------------------------------------------

    def _wanted_items(self, doc: GraphDocument) -> dict[str, tuple[str, tuple[Any, ...], str, Any]]:
        """Every view item the document calls for: key -> (kind, signature, title, pos)."""
        hidden = {n for b in doc.blocks if b.collapsed for n in b.nodes}
        wanted: dict[str, tuple[str, tuple[Any, ...], str, Any]] = {}
        for index, node in enumerate(doc.nodes):
            if node.id in hidden:
                continue
            spec = self.registry.get(node.type)
            pos = node.pos or (_GRID_STEP[0] * (index % 5), _GRID_STEP[1] * (index // 5))
            if spec is not None:
                wanted[node.id] = ("spec", (spec.type,), node.name or spec.title, pos)
            else:
                ins = tuple(dict.fromkeys(lk.dst.port for lk in doc.links_into(node.id)))
                outs = tuple(dict.fromkeys(lk.src.port for lk in doc.links_from(node.id)))
                title = f"{node.name or node.id} (missing: {node.type})"
                wanted[node.id] = ("missing", (node.type, ins, outs), title, pos)
        for block in doc.blocks:
            if block.collapsed:
                block_ins, block_outs = self._block_ports(doc, block.id)
                signature = (tuple(block_ins.items()), tuple(block_outs.items()))
                where = block.pos or _first_pos(doc, block.nodes)
                wanted[f"block:{block.id}"] = ("block", signature, f"▣ {block.name}", where)
            else:
                wanted[f"frame:{block.id}"] = ("frame", (block.name,), block.name, None)
        return wanted

    def _block_ports(
        self, doc: GraphDocument, block_id: str
    ) -> tuple[dict[str, Endpoint], dict[str, Endpoint]]:
        """A closed block's ports: its declared ones, then any other boundary port it has now
        (links made since it was grouped, required inputs still to wire)."""
        block = doc.block(block_id)
        assert block is not None
        ins = {p.name: p.port for p in block.inputs}
        outs = {p.name: p.port for p in block.outputs}
        boundary_in, boundary_out = boundary_ports(doc, block.nodes, self.registry)
        for ports, ends in ((ins, boundary_in), (outs, boundary_out)):
            declared = set(ports.values())
            ports.update({str(end): end for end in ends if end not in declared})
        return self._readable(doc, ins), self._readable(doc, outs)

    def _readable(self, doc: GraphDocument, ports: dict[str, Endpoint]) -> dict[str, Endpoint]:
        """Port labels in the person's words: a name made of ids (``joint_angles.scene``)
        becomes the member's name (``Joint angles``), with its port where the member shows
        several on this side (``Joint angles: scene``)."""
        result: dict[str, Endpoint] = {}
        per_node = Counter(end.node for end in ports.values())
        for name, end in ports.items():
            if name == str(end):
                node = doc.node(end.node)
                spec = self.registry.get(node.type) if node else None
                name = (node.name if node else None) or (spec.title if spec else end.node)
                if per_node[end.node] > 1:
                    name += f": {end.port.replace('_', ' ')}"
            label, count = name, 1
            while label in result:
                count += 1
                label = f"{name} ({count})"
            result[label] = end
        return result

    def _stale(self, key: str, want: tuple[str, tuple[Any, ...], str, Any]) -> bool:
        return self._signatures.get(key) != (want[0], want[1])

    def _make_view(self, key: str, kind: str, signature: tuple[Any, ...]) -> None:
        if kind == "spec":
            class_type = self._classes[signature[0]].type_
            node = self.create_node(class_type, selected=False, push_undo=False)
            for port in node.input_ports():
                self._port_ends[(key, "in", port.name())] = Endpoint(node=key, port=port.name())
            for port in node.output_ports():
                self._port_ends[(key, "out", port.name())] = Endpoint(node=key, port=port.name())
        elif kind == "missing":
            node = MissingNode()
            self.add_node(node, selected=False, push_undo=False)
            _, ins, outs = signature
            for name in ins:
                node.add_input(name, multi_input=True)
                self._port_ends[(key, "in", name)] = Endpoint(node=key, port=name)
            for name in outs:
                node.add_output(name)
                self._port_ends[(key, "out", name)] = Endpoint(node=key, port=name)
            node.view.setToolTip(
                "This node's type is not known to this version of ATRAP Studio. It is kept "
                "and saved back unchanged, but the graph cannot run until the type is available."
            )
        elif kind == "block":
            node = BlockNode()
            self.add_node(node, selected=False, push_undo=False)
            ins, outs = (dict(side) for side in signature)
            for name, end in ins.items():
                node.add_input(name, multi_input=True, color=self._colour_of(end, "in"))
                self._port_ends[(key, "in", name)] = end
            for name, end in outs.items():
                node.add_output(name, color=self._colour_of(end, "out"))
                self._port_ends[(key, "out", name)] = end
            node.view.setToolTip("A block. Double-click to open it and see its nodes.")
        else:
            node = BackdropNode()
            self.add_node(node, selected=False, push_undo=False)
            node.view.setZValue(-100)
            node.set_property("color", (60, 80, 110, 255), push_undo=False)
            node.view.setToolTip("An open block. Double-click its title to close it.")
        node.view.draw_node() if kind != "frame" else None
        self._views[key] = node
        self._keys[node.id] = key
        self._signatures[key] = (kind, signature)

    def _colour_of(self, end: Endpoint, direction: str) -> tuple[int, int, int] | None:
        """The colour of a member's port, for the closed block that shows it."""
        node = self._doc.node(end.node)
        spec = self.registry.get(node.type) if node else None
        port = (spec.input if direction == "in" else spec.output)(end.port) if spec else None
        return port_colour(port.type) if port else None

    def _drop_view(self, key: str) -> None:
        node = self._views.pop(key)
        self._keys.pop(node.id, None)
        self._signatures.pop(key, None)
        self._badges.pop(key, None)
        for port_key in [p for p in self._port_ends if p[0] == key]:
            del self._port_ends[port_key]
        self.remove_node(node, push_undo=False)

    def _sync_links(self, doc: GraphDocument) -> None:
        """Make the drawn pipes exactly the document's links (as routed through blocks)."""
        ends = self._ports_by_end()
        where = {(end, side): port for port, (_, side, end) in ends.items()}
        wanted: set[tuple[Any, Any]] = set()
        for lk in doc.links:
            out_port, in_port = where.get((lk.src, "out")), where.get((lk.dst, "in"))
            # (both ends inside one closed block share a node: that link is not drawn)
            if (
                out_port is not None
                and in_port is not None
                and out_port.node() is not in_port.node()
            ):
                wanted.add((out_port, in_port))
        current = {
            (out_port, in_port)
            for node in self._views.values()
            if not isinstance(node, BackdropNode)
            for out_port in node.output_ports()
            for in_port in out_port.connected_ports()
        }
        for out_port, in_port in current - wanted:
            out_port.disconnect_from(in_port, push_undo=False, emit_signal=False)
        for out_port, in_port in wanted - current:
            out_port.connect_to(in_port, push_undo=False, emit_signal=False)
        for out_port, in_port in wanted & current:  # the viewer may have deleted the pipe item
            if out_port.view not in in_port.view.connected_ports:
                self.viewer().establish_connection(in_port.view, out_port.view)
        feedback = feedback_inputs(doc, self.registry)
        for out_port, in_port in wanted:
            dashed = ends[in_port][2] in feedback
            for pipe in in_port.view.connected_pipes:
                if pipe.output_port is out_port.view:
                    _style_pipe(pipe, tuple(out_port.color), dashed)

    def _ports_by_end(self) -> dict[Any, tuple[str, str, Endpoint]]:
        result: dict[Any, tuple[str, str, Endpoint]] = {}
        for (key, side, name), end in self._port_ends.items():
            node = self._views.get(key)
            if node is None:
                continue
            ports = node.inputs() if side == "in" else node.outputs()
            if name in ports:
                result[ports[name]] = (key, side, end)
        return result

    def _sync_frames(self, doc: GraphDocument) -> None:
        for block in doc.blocks:
            frame = self._views.get(f"frame:{block.id}")
            members = [self._views[n] for n in block.nodes if n in self._views]
            if frame is None or not members:
                continue
            size = frame.view.calc_backdrop_size([m.view for m in members])
            frame.set_property("width", size["width"], push_undo=False)
            frame.set_property("height", size["height"], push_undo=False)
            frame.set_property("pos", list(size["pos"]), push_undo=False)
            _set_name(frame, block.name)

    # -- view -> intents (NodeGraphQt's handlers, redirected) -----------------------------

    def _endpoint(self, port_view: Any) -> tuple[Endpoint, str] | None:
        key = self._keys.get(port_view.node.id)
        side = "in" if port_view.port_type == PortTypeEnum.IN.value else "out"
        end = self._port_ends.get((key or "", side, port_view.name))
        return (end, side) if end is not None else None

    def _link_of(self, a: Any, b: Any) -> Link | None:
        ends = [self._endpoint(a), self._endpoint(b)]
        if None in ends:
            return None
        by_side = {side: end for end, side in ends}  # type: ignore[misc]
        if set(by_side) != {"in", "out"}:
            return None
        return Link(src=by_side["out"], dst=by_side["in"])

    def _on_connection_changed(self, disconnected: list[Any], connected: list[Any]) -> None:
        removed = [lk for lk in (self._link_of(a, b) for a, b in disconnected) if lk]
        added = [lk for lk in (self._link_of(a, b) for a, b in connected) if lk]
        self.links_edited.emit(removed, added)
        self._sync_links(self._doc)  # redraw what the viewer changed, if the edit is refused

    def _on_connection_sliced(self, ports: list[Any]) -> None:
        removed = [lk for lk in (self._link_of(a, b) for a, b in ports) if lk]
        if removed:
            self.links_edited.emit(removed, [])

    def _on_nodes_moved(self, node_data: Any) -> None:
        doc_pos = {n.id: n.pos for n in self._doc.nodes} | {b.id: b.pos for b in self._doc.blocks}
        changed = {k: p for k, p in self.positions().items() if doc_pos.get(k) != p}
        if changed:
            self.moved.emit(changed)

    def _on_node_name_changed(self, node_id: str, name: str) -> None:
        key = self._keys.get(node_id, "")
        if key.startswith(("block:", "frame:")):
            self.block_renamed.emit(key.partition(":")[2], name.removeprefix("▣ ").strip())
        elif key:
            self.renamed.emit(key, name)
        node = self._views.get(key)
        if node is not None:  # show the document's name: the edit redraws it if it was taken
            node.view.name = node.model.name

    def _on_node_double_clicked(self, node_id: str) -> None:
        key = self._keys.get(node_id, "")
        if key.startswith(("block:", "frame:")):
            # after the item has handled its click: toggling removes it from the scene, and
            # NodeGraphQt's backdrop goes on to read its scene (a traceback, bug 4 of issue 12)
            block_id = key.partition(":")[2]
            QtCore.QTimer.singleShot(0, self, lambda: self.block_toggled.emit(block_id))

    def _on_search_triggered(self, node_type: str, pos: tuple[float, float]) -> None:
        type_id = self._spec_by_class.get(node_type)
        if type_id is not None:
            self.node_requested.emit(type_id, (float(pos[0]), float(pos[1])))

    def _on_node_data_dropped(self, mimedata: QtCore.QMimeData, pos: QtCore.QPoint) -> None:
        where = (float(pos.x()), float(pos.y()))
        if mimedata.hasFormat(NODE_MIME):
            text = bytes(mimedata.data(NODE_MIME).data()).decode(errors="replace")
            for class_type in re.findall(r"node:([\w.]+)", text.removeprefix(URN_SCHEME)):
                type_id = self._spec_by_class.get(class_type)
                if type_id is not None:
                    self.node_requested.emit(type_id, where)
        elif mimedata.hasUrls():
            paths = [u.toLocalFile() for u in mimedata.urls() if u.isLocalFile()]
            if paths:
                self.files_dropped.emit(paths, where)

    def _on_insert_node(self, *args: Any) -> None:
        """Dropping a node onto a pipe does not splice it in (pipe collision is off)."""

    def _on_selection(self, *_: Any) -> None:
        self.selection_ids_changed.emit(self.selected_ids())

    def class_type(self, type_id: str) -> str:
        """The NodeGraphQt class type (for drag and drop) of a spec type id."""
        return str(self._classes[type_id].type_)


def node_mime(class_types: list[str]) -> QtCore.QMimeData:
    """Mime data that drops nodes of the given class types onto the canvas."""
    data = QtCore.QMimeData()
    text = URN_SCHEME + ";".join(f"node:{t}" for t in class_types)
    data.setData(NODE_MIME, QtCore.QByteArray(text.encode()))
    return data


def _style_pipe(pipe: Any, colour: tuple[int, ...], dashed: bool) -> None:
    """Colour a pipe like its output port; dash the ones read at the next step (feedback)."""
    style = PipeEnum.DRAW_TYPE_DASHED.value if dashed else PipeEnum.DRAW_TYPE_DEFAULT.value
    rgba = (*colour[:3], 255)
    if (pipe.color, pipe.style) != (rgba, style):
        pipe.color, pipe.style = rgba, style
        pipe.reset()


def _set_name(node: Any, text: str) -> None:
    """Show a title without NodeGraphQt making it unique (the core warns about duplicates)."""
    if node.model.name != text:
        node.model.name = text
        node.view.name = text


def _first_pos(doc: GraphDocument, ids: list[str]) -> Position | None:
    positions = [n.pos for n in doc.nodes if n.id in ids and n.pos is not None]
    return positions[0] if positions else None
