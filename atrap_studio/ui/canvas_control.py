"""What the person does on the canvas becomes edits of the document.

The canvas only draws the document and reports intents (a link dragged, nodes moved, a name
typed, a palette entry dropped); the controller turns them, and the commands that act on the
selection (cut, paste, rename, group, save a block, the right-click menu, Tab), into the
editor's undoable edits, and keeps the Properties dock on what is selected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.core.blocks import block_file
from atrap_studio.core.errors import AtrapError
from atrap_studio.core.yaml_io import save_block
from atrap_studio.ui.canvas import Canvas
from atrap_studio.ui.editor import Editor
from atrap_studio.ui.messages import Messages
from atrap_studio.ui.properties import QtProperties
from atrap_studio.ui.quick_add import QtQuickAdd
from atrap_studio.ui.wire_feedback import WireFeedback

BLOCK_FILTER = "ATRAP blocks (*.block.yaml *.yaml);;All files (*)"


class CanvasController(QtCore.QObject):
    """Connects the canvas's intent signals to the editor and runs the selection's commands.

    Args:
        editor: applies the edits (one undo step each).
        canvas: the view of the document; its selection is what the commands act on.
        properties: the dock that follows the selection.
        quick_add: the add-node search (Tab, right click).
        actions: the window's actions by key, for the right-click menu (read when it opens).
        messages: the status bar, error boxes and the window dialogs belong to.
        folder: where block files are suggested (the graph's folder).
    """

    def __init__(
        self,
        editor: Editor,
        canvas: Canvas,
        properties: QtProperties,
        quick_add: QtQuickAdd,
        actions: Mapping[str, QtGui.QAction],
        messages: Messages,
        folder: Callable[[], Path],
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.editor = editor
        self.canvas = canvas
        self.properties = properties
        self.quick_add = quick_add
        self.actions = actions
        self.messages = messages
        self.folder = folder
        canvas.links_edited.connect(editor.edit_links)
        canvas.moved.connect(editor.move)
        canvas.renamed.connect(editor.rename)
        canvas.block_renamed.connect(editor.rename_block)
        canvas.block_toggled.connect(editor.toggle_block)
        canvas.node_requested.connect(self.add_node_at)
        canvas.selection_ids_changed.connect(self._selection_changed)
        quick_add.chosen.connect(self.add_node_at)
        self.wire_feedback = WireFeedback(canvas, messages.say, parent=self)
        viewer = canvas.viewer()
        viewer.viewport().installEventFilter(self)
        tab = QtGui.QShortcut(QtGui.QKeySequence("Tab"), viewer)
        tab.setContext(QtCore.Qt.ShortcutContext.WidgetShortcut)
        tab.activated.connect(lambda: self.quick_add_at_cursor())

    # -- adding and showing nodes -------------------------------------------------------------

    def add_node_at(self, type_id: str, pos: tuple[float, float] | None = None) -> str | None:
        """Add a node (in the middle of the view without ``pos``), select it and show it."""
        if pos is None:
            center = self.canvas.viewer().mapToScene(
                self.canvas.viewer().viewport().rect().center()
            )
            pos = (center.x(), center.y())
        node_id = self.editor.add_node(type_id, pos)
        if node_id:
            self.canvas.select_ids([node_id])
            self.properties.show_node(node_id)
        return node_id

    def show_node(self, node_id: str) -> None:
        """Select and frame a node (from the Problems dock)."""
        if self.editor.doc.node(node_id) is None:
            return
        self.canvas.select_ids([node_id])
        self.canvas.frame_ids([node_id])
        self.properties.show_node(node_id)

    def _selection_changed(self, ids: list[str]) -> None:
        keys = self.canvas.selected_keys()
        if len(keys) == 1 and keys[0].startswith(("block:", "frame:")):
            self.properties.show_block(keys[0].partition(":")[2])
        else:
            self.properties.show_node(ids[0] if len(ids) == 1 else None)

    # -- the right-click menu and Tab --------------------------------------------------------

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        """A right click on the canvas opens the editing menu (NodeGraphQt's own is off); with
        Ctrl held it cuts wires instead (Ctrl+right-drag), so no menu opens."""
        viewer = self.canvas.viewer()
        if watched is viewer.viewport() and isinstance(event, QtGui.QContextMenuEvent):
            if viewer.cutting or event.modifiers() & QtCore.Qt.KeyboardModifier.ControlModifier:
                return True
            viewer.RMB_state = False
            self.canvas_menu(event.pos()).popup(event.globalPos())
            return True
        return super().eventFilter(watched, event)

    def canvas_menu(self, at: QtCore.QPoint) -> QtWidgets.QMenu:
        """The canvas's context menu for a point of the view (the node under it is selected)."""
        viewer = self.canvas.viewer()
        scene = viewer.mapToScene(at)
        under = self.canvas.key_at(scene)
        if under is not None and under not in self.canvas.selected_keys():
            self.canvas.select_keys([under])
        menu = QtWidgets.QMenu(self.messages.window())
        wire = self.canvas.link_at(scene) if under is None else None
        if wire is not None:
            self.canvas.select_link(wire)
            menu.addAction("Remove Link", lambda: self.editor.delete([], [wire]))
            menu.addSeparator()
        menu.addAction("Add Node…", lambda: self.quick_add.popup(at, (scene.x(), scene.y())))
        groups = (
            ("cut", "copy", "paste", "duplicate", "delete", "rename"),
            ("group", "ungroup", "toggle_block", "save_block"),
            ("frame", "frame_all", "layout"),
        )
        for names in groups:
            menu.addSeparator()
            for name in names:
                menu.addAction(self.actions[name])
        return menu

    def quick_add_at_cursor(self) -> None:
        """Tab: the add-node search, at the mouse if it is over the canvas, else its middle."""
        viewer = self.canvas.viewer()
        at = viewer.mapFromGlobal(QtGui.QCursor.pos())
        if not viewer.rect().contains(at):
            at = viewer.rect().center()
        scene = viewer.mapToScene(at)
        self.quick_add.popup(at, (scene.x(), scene.y()))

    # -- commands on the selection ----------------------------------------------------------

    def cut(self) -> None:
        self.editor.cut(self.canvas.selected_ids())

    def copy(self) -> None:
        self.editor.copy(self.canvas.selected_ids())

    def delete(self) -> None:
        """Delete the selected nodes and the selected wires' links (one undo step)."""
        self.editor.delete(self.canvas.selected_ids(), self.canvas.selected_links())

    def paste(self) -> None:
        ids = self.editor.paste()
        if ids:
            self.canvas.select_ids(ids)

    def duplicate(self) -> None:
        ids = self.editor.duplicate(self.canvas.selected_ids())
        if ids:
            self.canvas.select_ids(ids)

    def frame_selection(self) -> None:
        self.canvas.frame_ids(self.canvas.selected_ids())

    def rename_dialog(self) -> None:
        ids = self.canvas.selected_ids()
        block_id = self.canvas.selected_block()
        parent = self.messages.window()
        if block_id:
            block = self.editor.doc.block(block_id)
            name, ok = QtWidgets.QInputDialog.getText(
                parent, "Rename block", "Name:", text=block.name if block else ""
            )
            if ok:
                self.editor.rename_block(block_id, name)
        elif len(ids) == 1:
            node = self.editor.doc.node(ids[0])
            name, ok = QtWidgets.QInputDialog.getText(
                parent, "Rename node", "Name:", text=(node.name or "") if node else ""
            )
            if ok:
                self.editor.rename(ids[0], name)

    def group_selection(self, name: str | None = None) -> str | None:
        ids = self.canvas.selected_ids()
        if not ids:
            self.messages.say("Select the nodes to group first.")
            return None
        if name is None:
            name, ok = QtWidgets.QInputDialog.getText(
                self.messages.window(), "Group into block", "Block name:", text="Block"
            )
            if not ok:
                return None
        return self.editor.group(ids, name or "Block")

    def ungroup_selection(self) -> None:
        block_id = self.canvas.selected_block()
        if block_id:
            self.editor.ungroup(block_id)
        else:
            self.messages.say("Select a block to ungroup.")

    def toggle_selected_block(self) -> None:
        block_id = self.canvas.selected_block()
        block = self.editor.doc.block(block_id) if block_id else None
        if block is not None and self.editor.toggle_block(block.id):
            self.canvas.select_ids(block.nodes)

    # -- block files ----------------------------------------------------------------------------

    def save_block_dialog(self) -> None:
        block_id = self.canvas.selected_block()
        block = self.editor.doc.block(block_id) if block_id else None
        if block is None:
            self.messages.say("Select a block to save.")
            return
        suggested = self.folder() / f"{block.id}.block.yaml"
        name, _ = QtWidgets.QFileDialog.getSaveFileName(
            self.messages.window(), "Save block as", str(suggested), BLOCK_FILTER
        )
        if name:
            self.save_block_to(block.id, Path(name))

    def save_block_to(self, block_id: str, path: Path) -> bool:
        try:
            save_block(block_file(self.editor.doc, block_id), path)
        except (OSError, AtrapError) as exc:
            self.messages.error_dialog("Cannot save the block", f"{path}: {exc}")
            return False
        self.messages.say(f"Saved block to {path}.")
        return True

    def insert_block_dialog(self) -> None:
        name, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.messages.window(), "Insert block", str(self.folder()), BLOCK_FILTER
        )
        if name:
            self.insert_block_file(Path(name))

    def insert_block_file(self, path: Path, at: tuple[float, float] | None = None) -> list[str]:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.messages.error_dialog("Cannot insert the block", f"{path}: {exc}")
            return []
        return self.editor.insert_fragment(text, at, as_block=True, source=str(path))
