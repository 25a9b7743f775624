"""The editing session: the document, its undo history, and validation after each edit.

Every user action goes through :meth:`Editor.edit`, which applies one of the core's pure edits
(:mod:`atrap_studio.core.editing`, :mod:`atrap_studio.core.blocks`) and pushes the document
before and after onto a ``QUndoStack``: undo and redo are exact for every kind of edit, and a
refused edit changes nothing and says why. Tests and scripts drive the editor through these
methods, the same ones the menus, the canvas and the panels call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.core import blocks, editing
from atrap_studio.core.document import Endpoint, GraphDocument, Link
from atrap_studio.core.errors import AtrapError
from atrap_studio.core.registry import Registry
from atrap_studio.core.validation import Analysis, analyse
from atrap_studio.core.yaml_io import dump_block, parse_block

FRAGMENT_MIME = "application/x-atrap-fragment"
PASTE_OFFSET = (40.0, 40.0)


class DocumentCommand(QtGui.QUndoCommand):
    """One undoable edit: the whole document before and after (documents are small)."""

    def __init__(self, editor: Editor, before: GraphDocument, after: GraphDocument, text: str):
        super().__init__(text)
        self._editor, self._before, self._after = editor, before, after

    def redo(self) -> None:
        self._editor._set_document(self._after)

    def undo(self) -> None:
        self._editor._set_document(self._before)


class Editor(QtCore.QObject):
    """The document being edited, with undo, clipboard and debounced validation.

    Signals:
        document_changed: the document was replaced by an edit, undo, redo or load.
        analysis_changed(Analysis): validation of the current document finished.
        refused(str): an edit was refused; the text says why (for the status bar).
    """

    document_changed = QtCore.Signal()
    analysis_changed = QtCore.Signal(object)
    refused = QtCore.Signal(str)

    def __init__(
        self,
        registry: Registry,
        doc: GraphDocument | None = None,
        parent: QtCore.QObject | None = None,
        *,
        validate_delay_ms: int = 150,
    ) -> None:
        super().__init__(parent)
        self.registry = registry
        self.undo_stack = QtGui.QUndoStack(self)
        self._doc = doc or GraphDocument()
        self._analysis = analyse(self._doc, registry)
        self._timer = QtCore.QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(validate_delay_ms)
        self._timer.timeout.connect(self.validate_now)

    # -- state ------------------------------------------------------------------------------

    @property
    def doc(self) -> GraphDocument:
        return self._doc

    @property
    def analysis(self) -> Analysis:
        """The latest validation result (call :meth:`validate_now` to force a fresh one)."""
        return self._analysis

    def load(self, doc: GraphDocument) -> None:
        """Start editing another document: a fresh, clean undo history."""
        self.undo_stack.clear()
        self._set_document(doc)
        self.undo_stack.setClean()
        self.validate_now()

    def validate_now(self) -> Analysis:
        self._timer.stop()
        self._analysis = analyse(self._doc, self.registry)
        self.analysis_changed.emit(self._analysis)
        return self._analysis

    def _set_document(self, doc: GraphDocument) -> None:
        self._doc = doc
        self.document_changed.emit()
        self._timer.start()

    # -- the one way to change the document ----------------------------------------------

    def edit(self, text: str, change: Callable[[GraphDocument], GraphDocument]) -> bool:
        """Apply ``change`` as one undo step; a refusal is reported and changes nothing."""
        try:
            after = change(self._doc)
        except (AtrapError, ValidationError) as exc:
            self.refused.emit(_reason(exc))
            return False
        if after == self._doc:
            return False
        self.undo_stack.push(DocumentCommand(self, self._doc, after, text))
        return True

    # -- edits ------------------------------------------------------------------------------

    def add_node(self, type_id: str, pos: tuple[float, float] | None = None) -> str | None:
        """Place a node of a known type; returns its id."""
        spec = self.registry.get(type_id)
        if spec is None:
            self.refused.emit(f"there is no node type '{type_id}'")
            return None
        doc, node_id = editing.add_node(self._doc, spec, pos)
        self.edit(f"Add {spec.title}", lambda _: doc)
        return node_id

    def link(self, src: str, dst: str) -> bool:
        """Link ``"node.port"`` to ``"node.port"``."""
        return self.edit_links([], [Link(src=Endpoint.parse(src), dst=Endpoint.parse(dst))])

    def unlink(self, src: str, dst: str) -> bool:
        return self.edit_links([Link(src=Endpoint.parse(src), dst=Endpoint.parse(dst))], [])

    def edit_links(self, removed: list[Link], added: list[Link]) -> bool:
        """Remove and add links as one step (what one drag on the canvas does)."""

        def change(doc: GraphDocument) -> GraphDocument:
            for lk in removed:
                doc = editing.disconnect(doc, lk.src, lk.dst)
            for lk in added:
                doc = editing.connect(doc, self.registry, lk.src, lk.dst)
            return doc

        text = "Connect" if added else _count("Remove {} link", len(removed))
        return self.edit(text, change)

    def delete(self, node_ids: list[str], links: list[Link] | None = None) -> bool:
        """Delete nodes (with their links) and single links, as one step."""
        links = [lk for lk in links or [] if not {lk.src.node, lk.dst.node} & set(node_ids)]
        if not node_ids and not links:
            return False
        if not node_ids:
            return self.edit_links(links, [])
        nodes = _count("Delete {} node", len(node_ids))
        text = f"{nodes} and {_count('{} link', len(links))}" if links else nodes

        def change(doc: GraphDocument) -> GraphDocument:
            for lk in links:
                doc = editing.disconnect(doc, lk.src, lk.dst)
            return editing.remove_nodes(doc, node_ids)

        return self.edit(text, change)

    def move(self, positions: dict[str, tuple[float, float]]) -> bool:
        return self.edit("Move", lambda doc: editing.move(doc, positions))

    def set_prop(self, node_id: str, name: str, value: Any) -> bool:
        node = self._doc.node(node_id)
        if node is not None and node.props.get(name, _MISSING) == value:
            return False
        return self.edit(f"Set {name}", lambda doc: editing.set_prop(doc, node_id, name, value))

    def rename(self, node_id: str, name: str) -> bool:
        return self.edit("Rename", lambda doc: editing.rename(doc, node_id, name))

    def auto_layout(self) -> bool:
        return self.edit("Auto-layout", lambda doc: editing.auto_layout(doc, self.registry))

    # -- blocks -------------------------------------------------------------------------------

    def group(self, node_ids: list[str], name: str = "Block") -> str | None:
        """Group nodes into a block; returns the block's id."""
        try:
            doc, block_id = blocks.group(self._doc, self.registry, node_ids, name)
        except (AtrapError, ValidationError) as exc:
            self.refused.emit(_reason(exc))
            return None
        self.edit(f"Group into {name}", lambda _: doc)
        return block_id

    def ungroup(self, block_id: str) -> bool:
        return self.edit("Ungroup", lambda doc: blocks.ungroup(doc, block_id))

    def set_collapsed(self, block_id: str, collapsed: bool) -> bool:
        text = "Collapse block" if collapsed else "Expand block"
        return self.edit(text, lambda doc: blocks.update_block(doc, block_id, collapsed=collapsed))

    def toggle_block(self, block_id: str) -> bool:
        block = self._doc.block(block_id)
        return block is not None and self.set_collapsed(block_id, not block.collapsed)

    def rename_block(self, block_id: str, name: str) -> bool:
        return self.edit("Rename block", lambda doc: blocks.update_block(doc, block_id, name=name))

    def insert_fragment(
        self, text: str, at: tuple[float, float] | None, *, as_block: bool, source: str
    ) -> list[str]:
        """Insert a fragment (a block file's or the clipboard's YAML); returns the new ids."""
        try:
            fragment = parse_block(text, path=source)
            doc, ids, _ = blocks.insert(self._doc, fragment, at, as_block=as_block)
        except (AtrapError, ValidationError) as exc:
            self.refused.emit(_reason(exc))
            return []
        self.edit(f"Insert {fragment.name}" if as_block else "Paste", lambda _: doc)
        return ids

    # -- clipboard ------------------------------------------------------------------------------

    def copy(self, node_ids: list[str]) -> bool:
        """Put the nodes, the links among them and their blocks on the clipboard."""
        if not node_ids:
            return False
        text = dump_block(blocks.extract(self._doc, node_ids))
        data = QtCore.QMimeData()
        data.setData(FRAGMENT_MIME, QtCore.QByteArray(text.encode()))
        data.setText(text)
        QtWidgets.QApplication.clipboard().setMimeData(data)
        return True

    def cut(self, node_ids: list[str]) -> bool:
        return self.copy(node_ids) and self.delete(node_ids)

    def paste(self, at: tuple[float, float] | None = None) -> list[str]:
        """Insert what was copied (here or in another window); returns the new node ids."""
        data = QtWidgets.QApplication.clipboard().mimeData()
        if data is not None and data.hasFormat(FRAGMENT_MIME):
            text = bytes(data.data(FRAGMENT_MIME).data()).decode("utf-8", errors="replace")
        elif data is not None and data.hasText() and "atrap-block" in data.text():
            text = data.text()
        else:
            self.refused.emit("the clipboard holds no nodes to paste")
            return []
        if at is None:
            at = self._paste_position(text)
        return self.insert_fragment(text, at, as_block=False, source="<clipboard>")

    def duplicate(self, node_ids: list[str]) -> list[str]:
        """Copy and paste in one step, beside the originals."""
        if not node_ids:
            return []
        fragment = blocks.extract(self._doc, node_ids)
        doc, ids, _ = blocks.insert(self._doc, fragment, self._shifted(fragment))
        self.edit("Duplicate", lambda _: doc)
        return ids

    def _paste_position(self, text: str) -> tuple[float, float] | None:
        try:
            return self._shifted(parse_block(text))
        except AtrapError:
            return None

    @staticmethod
    def _shifted(fragment: blocks.BlockFile) -> tuple[float, float] | None:
        positions = [n.pos for n in fragment.nodes if n.pos is not None]
        if not positions:
            return None
        return (
            min(p[0] for p in positions) + PASTE_OFFSET[0],
            min(p[1] for p in positions) + PASTE_OFFSET[1],
        )


_MISSING = object()


def _count(pattern: str, count: int) -> str:
    """``"Remove {} link"`` -> "Remove link" for one, "Remove 3 links" for more."""
    if count == 1:
        return pattern.replace("{} ", "")
    return pattern.format(count) + "s"


def _reason(exc: Exception) -> str:
    """A refusal in words (a value the file format would refuse arrives as a pydantic error)."""
    if isinstance(exc, ValidationError):
        first = exc.errors(include_url=False)[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)
