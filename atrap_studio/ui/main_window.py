"""The main window: canvas in the middle, docks around it, menus, toolbar and status bar.

It wires the parts together and owns the file life cycle (open, save, autosave, ask before
losing edits) and the Run toolbar; the parts themselves (editor, canvas, panels, run
controller) know nothing of each other.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.core.blocks import block_file
from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import AtrapError
from atrap_studio.core.events import Event
from atrap_studio.core.registry import Registry
from atrap_studio.core.validation import Analysis, Issue
from atrap_studio.core.yaml_io import load_graph, save_block, save_graph
from atrap_studio.examples import DEFAULT_EXAMPLE, example_path
from atrap_studio.ui.canvas import Canvas, node_mime
from atrap_studio.ui.crowd_panel import QtCrowdPanel
from atrap_studio.ui.dialogs import ExamplesDialog, HelpDialog
from atrap_studio.ui.editor import Editor
from atrap_studio.ui.live_views import LiveViews
from atrap_studio.ui.network_files import NetworkFiles, is_network_file
from atrap_studio.ui.palette import QtPalette
from atrap_studio.ui.problems import QtProblems
from atrap_studio.ui.properties import QtProperties
from atrap_studio.ui.quick_add import QtQuickAdd
from atrap_studio.ui.run_control import RunController, latest_checkpoint
from atrap_studio.ui.session_files import AppPaths, Autosave, Autosaver, RecentFiles, run_folder

GRAPH_FILTER = "ATRAP graphs (*.yaml *.yml);;All files (*)"
BLOCK_FILTER = "ATRAP blocks (*.block.yaml *.yaml);;All files (*)"
Buttons = QtWidgets.QMessageBox.StandardButton


class MainWindow(QtWidgets.QMainWindow):
    """ATRAP Studio's window. Construct it, then :meth:`start` (or :meth:`open_file`)."""

    def __init__(
        self,
        registry: Registry,
        paths: AppPaths,
        *,
        autosave_ms: int = 60_000,
        threads: int | None = None,
    ) -> None:
        super().__init__()
        self.registry = registry
        self.paths = paths
        self.threads = threads
        self.path: Path | None = None
        self.example: str | None = None
        paths.config.mkdir(parents=True, exist_ok=True)
        self.settings = QtCore.QSettings(
            str(paths.settings_file), QtCore.QSettings.Format.IniFormat
        )
        self.recent = RecentFiles(self.settings)
        self.autosaver = Autosaver(paths.autosave_dir)

        self.editor = Editor(registry, parent=self)
        self.canvas = Canvas(registry, parent=self)
        self.node_palette = QtPalette(
            registry, lambda types: node_mime([self.canvas.class_type(t) for t in types])
        )
        self.properties = QtProperties(self.editor)
        self.problems = QtProblems()
        self.quick_add = QtQuickAdd(registry, self.canvas.viewer())
        self.log_view = QtWidgets.QPlainTextEdit(readOnly=True)
        self.log_view.setMaximumBlockCount(5000)
        self.runs = RunController(registry, parent=self)
        self.networks = NetworkFiles(self)
        self.crowd_panel = QtCrowdPanel(lambda: self.path, lambda p: self.networks.use_files([p]))

        self._build_status_bar()
        self.live = LiveViews(self.runs, self.run_label, self.progress, parent=self)
        self.scene_view = self.live.scene_view
        self.neuron_view = self.live.neuron_view
        self.curves = self.live.curves
        self.setCentralWidget(self.canvas.widget)
        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        area = QtCore.Qt.DockWidgetArea
        self._dock("Palette", self.node_palette, area.LeftDockWidgetArea)
        self._dock("Properties", self.properties, area.RightDockWidgetArea)
        self._dock("Scene", self.live.scene_stack, area.RightDockWidgetArea)
        self._dock("Neurons", self.neuron_view, area.RightDockWidgetArea)
        self._dock("Problems", self.problems, area.BottomDockWidgetArea)
        self._dock("Log", self.log_view, area.BottomDockWidgetArea)
        self._dock("Curves", self.curves, area.BottomDockWidgetArea)
        self._dock("Crowd", self.crowd_panel, area.BottomDockWidgetArea)
        self.tabifyDockWidget(self.docks["Scene"], self.docks["Neurons"])
        self.tabifyDockWidget(self.docks["Problems"], self.docks["Log"])
        self.tabifyDockWidget(self.docks["Problems"], self.docks["Curves"])
        self.tabifyDockWidget(self.docks["Problems"], self.docks["Crowd"])
        self.docks["Problems"].raise_()
        self.docks["Scene"].raise_()
        self._default_state = self.saveState()

        self.acts: dict[str, QtGui.QAction] = {}
        self._build_actions()
        self._build_menus_and_toolbar()
        self._wire()

        self._autosave_timer = QtCore.QTimer(self)
        self._autosave_timer.setInterval(autosave_ms)
        self._autosave_timer.timeout.connect(self.autosave)
        self._autosave_timer.start()
        self.resize(1400, 860)
        self._restore_layout()
        self._update_title()
        self._update_run_actions()

    # -- construction ---------------------------------------------------------------------

    def _dock(self, title: str, widget: QtWidgets.QWidget, where: Any) -> None:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(where, dock)
        self.docks[title] = dock

    def _build_status_bar(self) -> None:
        self.status_message = QtWidgets.QLabel()
        self.run_label = QtWidgets.QLabel()
        self.progress = QtWidgets.QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.progress.hide()
        bar = self.statusBar()
        bar.addWidget(self.status_message, 1)
        bar.addPermanentWidget(self.run_label)
        bar.addPermanentWidget(self.progress)

    def _action(
        self,
        key: str,
        text: str,
        slot: Any,
        shortcut: Any = None,
        icon: QtWidgets.QStyle.StandardPixmap | None = None,
        tip: str = "",
    ) -> QtGui.QAction:
        action = QtGui.QAction(text, self)
        if shortcut is not None:
            shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QtGui.QKeySequence(s) for s in shortcuts])
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        action.triggered.connect(lambda *_: slot())
        self.addAction(action)
        self.acts[key] = action
        return action

    def _build_actions(self) -> None:
        sp = QtWidgets.QStyle.StandardPixmap
        key = QtGui.QKeySequence.StandardKey
        a = self._action
        a("new", "&New", self.new_graph, key.New, sp.SP_FileIcon, "Start an empty graph")
        a("open", "&Open…", self.open_dialog, key.Open, sp.SP_DialogOpenButton, "Open a graph")
        a("examples", "&Examples…", self.examples_dialog, None, None, "Open a shipped example")
        a("save", "&Save", self.save, key.Save, sp.SP_DialogSaveButton, "Save the graph")
        a("save_as", "Save &As…", self.save_as_dialog, key.SaveAs)
        a(
            "save_block",
            "Save &Block As…",
            self.save_block_dialog,
            None,
            None,
            "Write the selected block to a file to re-use in other graphs",
        )
        a(
            "insert_block",
            "&Insert Block…",
            self.insert_block_dialog,
            None,
            None,
            "Add a saved block to this graph",
        )
        a(
            "use_network",
            "Use &Network File…",
            self.networks.import_dialog,
            None,
            None,
            "Train on from a network file (one: Load network; several: Merge networks)",
        )
        a(
            "export_network",
            "E&xport Network…",
            self.networks.export_dialog,
            None,
            None,
            "Write the trained network as a web page, ONNX, JSON or a network file",
        )
        a("quit", "&Quit", self.close, key.Quit)
        undo = self.editor.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcuts(QtGui.QKeySequence.keyBindings(key.Undo))
        undo.setIcon(self.style().standardIcon(sp.SP_ArrowBack))
        redo = self.editor.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts([QtGui.QKeySequence("Ctrl+Shift+Z"), QtGui.QKeySequence("Ctrl+Y")])
        redo.setIcon(self.style().standardIcon(sp.SP_ArrowForward))
        self.addAction(undo)
        self.addAction(redo)
        self.acts["undo"], self.acts["redo"] = undo, redo
        a("cut", "Cu&t", lambda: self.editor.cut(self.canvas.selected_ids()), key.Cut)
        a("copy", "&Copy", lambda: self.editor.copy(self.canvas.selected_ids()), key.Copy)
        a("paste", "&Paste", self.paste, key.Paste)
        a("duplicate", "&Duplicate", self.duplicate, "Ctrl+D")
        a(
            "delete",
            "De&lete",
            lambda: self.editor.delete(self.canvas.selected_ids()),
            [QtGui.QKeySequence.StandardKey.Delete, "Backspace"],
        )
        a("select_all", "Select &All", self.canvas.select_all, key.SelectAll)
        a("rename", "Re&name…", self.rename_dialog, "F2")
        a(
            "group",
            "&Group into Block",
            self.group_selection,
            "Ctrl+G",
            None,
            "Fold the selected nodes into one block with its own ports",
        )
        a("ungroup", "&Ungroup", self.ungroup_selection, "Ctrl+Shift+G")
        a("toggle_block", "Open/Close Block", self.toggle_selected_block, "Ctrl+E")
        a("layout", "Auto-&Layout", self.editor.auto_layout, "Ctrl+L")
        a(
            "frame",
            "&Frame Selection",
            lambda: self.canvas.frame_ids(self.canvas.selected_ids()),
            "F",
        )
        a("frame_all", "Frame &All", lambda: self.canvas.frame_ids(None), "Shift+F")
        a("reset_layout", "&Reset Window Layout", self.reset_layout)
        a("run", "&Run", self.run, "F5", sp.SP_MediaPlay, "Train the graph (F5)")
        a("pause", "&Pause", self.pause_or_resume, "F6", sp.SP_MediaPause, "Pause or resume")
        a(
            "step",
            "S&tep",
            self.runs.step_once,
            "F7",
            sp.SP_MediaSkipForward,
            "Make one update while paused",
        )
        a(
            "stop",
            "S&top",
            self.runs.stop,
            "Shift+F5",
            sp.SP_MediaStop,
            "Stop, keeping a checkpoint to resume from",
        )
        a("quick_start", "&Quick Start", lambda: HelpDialog.quick_start(self).exec(), "F1")
        a(
            "reference",
            "&Node Reference",
            lambda: HelpDialog.node_reference(self.registry, self).exec(),
        )
        a("about", "&About", self.about)

    def _build_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        acts = self.acts
        file_menu = bar.addMenu("&File")
        for name in ("new", "open"):
            file_menu.addAction(acts[name])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addAction(acts["examples"])
        file_menu.addSeparator()
        for name in ("save", "save_as"):
            file_menu.addAction(acts[name])
        file_menu.addSeparator()
        for name in ("save_block", "insert_block"):
            file_menu.addAction(acts[name])
        file_menu.addSeparator()
        for name in ("use_network", "export_network"):
            file_menu.addAction(acts[name])
        file_menu.addSeparator()
        file_menu.addAction(acts["quit"])
        edit = bar.addMenu("&Edit")
        for group in (
            ("undo", "redo"),
            ("cut", "copy", "paste", "duplicate", "delete"),
            ("select_all", "rename"),
            ("group", "ungroup", "toggle_block"),
            ("layout",),
        ):
            for name in group:
                edit.addAction(acts[name])
            edit.addSeparator()
        view = bar.addMenu("&View")
        view.addAction(acts["frame"])
        view.addAction(acts["frame_all"])
        view.addSeparator()
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        view.addAction(acts["reset_layout"])
        run = bar.addMenu("&Run")
        for name in ("run", "pause", "step", "stop"):
            run.addAction(acts[name])
        help_menu = bar.addMenu("&Help")
        for name in ("quick_start", "reference", "about"):
            help_menu.addAction(acts[name])

        tools = self.addToolBar("Main")
        tools.setObjectName("toolbar_main")
        tool_groups: tuple[tuple[str, ...], ...] = (
            ("new", "open", "save"),
            ("undo", "redo"),
            ("run", "pause", "step", "stop"),
        )
        for tool_group in tool_groups:
            for name in tool_group:
                tools.addAction(acts[name])
            tools.addSeparator()
        tools.addAction(acts["frame_all"])
        tools.addAction(acts["layout"])
        self.canvas.viewer().viewport().installEventFilter(self)
        for keys, slot in (("Tab", self.quick_add_at_cursor), ("Space", self.run)):
            shortcut = QtGui.QShortcut(QtGui.QKeySequence(keys), self.canvas.viewer())
            shortcut.setContext(QtCore.Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(lambda slot=slot: slot())

    def _wire(self) -> None:
        ed, cv = self.editor, self.canvas
        ed.document_changed.connect(lambda: cv.show_document(ed.doc))
        ed.document_changed.connect(self._update_title)
        ed.analysis_changed.connect(self._show_analysis)
        ed.refused.connect(self.say)
        ed.undo_stack.cleanChanged.connect(lambda _: self._update_title())
        cv.links_edited.connect(ed.edit_links)
        cv.moved.connect(ed.move)
        cv.renamed.connect(ed.rename)
        cv.block_renamed.connect(ed.rename_block)
        cv.block_toggled.connect(ed.toggle_block)
        cv.node_requested.connect(self.add_node_at)
        cv.files_dropped.connect(self.drop_files)
        cv.selection_ids_changed.connect(self._selection_changed)
        self.node_palette.add_requested.connect(self.add_node_at)
        self.quick_add.chosen.connect(self.add_node_at)
        self.problems.node_clicked.connect(self.show_node)
        self.runs.event_received.connect(self._on_run_event)
        self.runs.state_changed.connect(lambda _: self._update_run_actions())
        self.runs.log.connect(self.log)

    # -- messages ---------------------------------------------------------------------------

    def say(self, text: str) -> None:
        """A short message in the status bar (refusals, confirmations)."""
        self.status_message.setText(text)
        self.statusBar().setToolTip(text)

    def log(self, text: str) -> None:
        self.log_view.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")

    def error_dialog(self, title: str, text: str) -> None:
        QtWidgets.QMessageBox.critical(self, title, text)

    # -- startup ----------------------------------------------------------------------------

    def start(self, file: str | None = None, *, example: str | None = None) -> None:
        """Offer crash copies; else open ``file``, the ``example``, the last file, or the arm."""
        if self._offer_autosaves():
            return
        if file is not None and self.open_file(Path(file)):
            return
        if example is not None and self.open_example(example):
            return
        last = self.settings.value("last_file")
        if (
            file is None
            and isinstance(last, str)
            and Path(last).is_file()
            and self.open_file(Path(last), quiet=True)
        ):
            return
        self.open_example(DEFAULT_EXAMPLE)

    def _offer_autosaves(self) -> bool:
        orphans = self.autosaver.orphans()
        if not orphans:
            return False
        newest: Autosave = orphans[0]
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(newest.saved_at))
        what = newest.source or "an unsaved graph"
        answer = QtWidgets.QMessageBox.question(
            self,
            "Recover unsaved work?",
            f"ATRAP Studio ended without saving {what}. An autosaved copy from {when} "
            "was found.\n\nRecover it?",
            Buttons.Yes | Buttons.Discard,
        )
        more = len(orphans) - 1
        if more:  # the others are offered at the next starts, one at a time
            self.log(
                f"{more} more autosaved cop{'ies' if more > 1 else 'y'} will be offered later."
            )
        if answer != Buttons.Yes:
            Autosaver.remove(newest)
            return False
        try:
            doc = load_graph(newest.copy)
        except AtrapError as exc:
            Autosaver.remove(newest)  # a copy that cannot be read is not offered again
            self.error_dialog("Cannot recover", str(exc))
            return False
        Autosaver.remove(newest)
        self.adopt(doc, Path(newest.source) if newest.source else None, example=None)
        self.editor.undo_stack.resetClean()  # recovered edits are not saved yet
        self._mark_modified()
        self.log(f"Recovered the autosaved copy of {what} from {when}.")
        return True

    # -- files --------------------------------------------------------------------------------

    @property
    def modified(self) -> bool:
        return not self.editor.undo_stack.isClean()

    def _mark_modified(self) -> None:
        """Make the document count as unsaved (recovered or example-derived content)."""
        self.editor.undo_stack.resetClean()
        self._update_title()

    def new_graph(self) -> bool:
        if not self.maybe_save():
            return False
        self.adopt(GraphDocument(name="Untitled"), None, example=None)
        self.settings.remove("last_file")
        return True

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        start = str(self.path.parent) if self.path else str(Path.home())
        name, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open graph", start, GRAPH_FILTER)
        if name:
            self.open_file(Path(name), ask=False)

    def open_file(self, path: Path, *, ask: bool = True, quiet: bool = False) -> bool:
        """Open a graph; a broken file leaves the current graph and its edits untouched."""
        if ask and not self.maybe_save():
            return False
        try:
            doc = load_graph(path)
        except AtrapError as exc:
            if not quiet:
                self.error_dialog("Cannot open the graph", str(exc))
            self.say(f"Could not open {path.name}; nothing was changed.")
            return False
        self.adopt(doc, path, example=None)
        self.recent.add(path)
        self.settings.setValue("last_file", str(path.resolve()))
        self.say(f"Opened {path}.")
        return True

    def open_example(self, name: str) -> bool:
        """Open a shipped example as a new, unsaved graph (Save asks where to keep it)."""
        try:
            doc = load_graph(example_path(name))
        except (AtrapError, FileNotFoundError) as exc:
            self.error_dialog("Cannot open the example", str(exc))
            return False
        self.adopt(doc, None, example=name)
        return True

    def examples_dialog(self) -> None:
        dialog = ExamplesDialog(self)
        if dialog.exec() and dialog.chosen() and self.maybe_save():
            self.open_example(str(dialog.chosen()))

    def adopt(self, doc: GraphDocument, path: Path | None, *, example: str | None = None) -> None:
        """Show a loaded document as the window's graph (a clean undo history)."""
        self.autosaver.discard()
        self.path, self.example = path, example
        self.problems.show_run_problem(None)
        self.editor.load(doc)
        self.properties.show_node(None)
        self.canvas.frame_ids(None)
        self._update_title()

    def save(self) -> bool:
        if self.path is None:
            return self.save_as_dialog()
        return self.save_to(self.path)

    def save_as_dialog(self) -> bool:
        suggested = self.path or Path.home() / f"{_slug(self.editor.doc.name)}.yaml"
        name, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save graph as", str(suggested), GRAPH_FILTER
        )
        return bool(name) and self.save_to(Path(name))

    def save_to(self, path: Path) -> bool:
        """Write the graph atomically; on failure the window keeps the edits and says why."""
        try:
            save_graph(self.editor.doc, path)
        except OSError as exc:
            self.error_dialog("Cannot save", f"{path}: {exc.strerror or exc}")
            return False
        self.path, self.example = path, None
        self.editor.undo_stack.setClean()
        self.autosaver.discard()
        self.recent.add(path)
        self.settings.setValue("last_file", str(path.resolve()))
        self._update_title()
        self.say(f"Saved {path}.")
        return True

    def maybe_save(self) -> bool:
        """Before the graph is replaced: True to go on (saved or discarded), False to stay."""
        if not self.modified:
            return True
        answer = QtWidgets.QMessageBox.question(
            self,
            "Unsaved changes",
            f"'{self.editor.doc.name}' has unsaved changes. Save them first?",
            Buttons.Save | Buttons.Discard | Buttons.Cancel,
            Buttons.Save,
        )
        if answer == Buttons.Save:
            return self.save()
        if answer == Buttons.Discard:
            self.autosaver.discard()
            return True
        return False

    def autosave(self) -> Path | None:
        """Write the autosave copy if there are unsaved edits (the timer calls this)."""
        if not self.modified:
            return None
        try:
            return self.autosaver.write(self.editor.doc, self.path)
        except OSError as exc:
            self.say(f"Autosave failed: {exc}")
            return None

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for text in self.recent.paths():
            action = self.recent_menu.addAction(text)
            action.triggered.connect(lambda *_, p=text: self._open_recent(p))
        if not self.recent.paths():
            self.recent_menu.addAction("(none)").setEnabled(False)

    def _open_recent(self, text: str) -> None:
        if not Path(text).is_file():
            self.recent.remove(text)
            self.say(f"{text} no longer exists; removed from the recent files.")
            return
        self.open_file(Path(text))

    def drop_files(self, paths: list[str], at: tuple[float, float]) -> None:
        """A graph dropped on the canvas opens; a block file is inserted where it fell; network
        files become the graph's network (several are merged)."""
        networks = [Path(name) for name in paths if is_network_file(Path(name))]
        if networks:
            self.networks.use_files(networks, at)
        for name in paths:
            path = Path(name)
            if path in networks:
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                self.say(f"Cannot read {path.name}: {exc}")
                continue
            if re.search(r"^format:\s*atrap-block\b", text, re.MULTILINE):
                self.editor.insert_fragment(text, at, as_block=True, source=str(path))
            elif self.open_file(path):  # a broken file is refused there, with its reason
                return

    # -- editing from menus ---------------------------------------------------------------

    def add_node_at(self, type_id: str, pos: tuple[float, float] | None = None) -> str | None:
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

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        """A right click on the canvas opens the editing menu (NodeGraphQt's own is off)."""
        viewer = self.canvas.viewer()
        if watched is viewer.viewport() and isinstance(event, QtGui.QContextMenuEvent):
            viewer.RMB_state = False
            self.canvas_menu(event.pos()).popup(event.globalPos())
            return True
        return super().eventFilter(watched, event)

    def canvas_menu(self, at: QtCore.QPoint) -> QtWidgets.QMenu:
        """The canvas's context menu for a point of the view (the node under it is selected)."""
        viewer = self.canvas.viewer()
        under = self.canvas.key_at(viewer.mapToScene(at))
        if under is not None and under not in self.canvas.selected_keys():
            self.canvas.select_keys([under])
        menu = QtWidgets.QMenu(self)
        scene = viewer.mapToScene(at)
        menu.addAction("Add Node…", lambda: self.quick_add.popup(at, (scene.x(), scene.y())))
        groups = (
            ("cut", "copy", "paste", "duplicate", "delete", "rename"),
            ("group", "ungroup", "toggle_block", "save_block"),
            ("frame", "frame_all", "layout"),
        )
        for names in groups:
            menu.addSeparator()
            for name in names:
                menu.addAction(self.acts[name])
        return menu

    def quick_add_at_cursor(self) -> None:
        """Tab: the add-node search, at the mouse if it is over the canvas, else its middle."""
        viewer = self.canvas.viewer()
        at = viewer.mapFromGlobal(QtGui.QCursor.pos())
        if not viewer.rect().contains(at):
            at = viewer.rect().center()
        scene = viewer.mapToScene(at)
        self.quick_add.popup(at, (scene.x(), scene.y()))

    def paste(self) -> None:
        ids = self.editor.paste()
        if ids:
            self.canvas.select_ids(ids)

    def duplicate(self) -> None:
        ids = self.editor.duplicate(self.canvas.selected_ids())
        if ids:
            self.canvas.select_ids(ids)

    def rename_dialog(self) -> None:
        ids = self.canvas.selected_ids()
        block_id = self.canvas.selected_block()
        if block_id:
            block = self.editor.doc.block(block_id)
            name, ok = QtWidgets.QInputDialog.getText(
                self, "Rename block", "Name:", text=block.name if block else ""
            )
            if ok:
                self.editor.rename_block(block_id, name)
        elif len(ids) == 1:
            node = self.editor.doc.node(ids[0])
            name, ok = QtWidgets.QInputDialog.getText(
                self, "Rename node", "Name:", text=(node.name or "") if node else ""
            )
            if ok:
                self.editor.rename(ids[0], name)

    def group_selection(self, name: str | None = None) -> str | None:
        ids = self.canvas.selected_ids()
        if not ids:
            self.say("Select the nodes to group first.")
            return None
        if name is None:
            name, ok = QtWidgets.QInputDialog.getText(
                self, "Group into block", "Block name:", text="Block"
            )
            if not ok:
                return None
        return self.editor.group(ids, name or "Block")

    def ungroup_selection(self) -> None:
        block_id = self.canvas.selected_block()
        if block_id:
            self.editor.ungroup(block_id)
        else:
            self.say("Select a block to ungroup.")

    def toggle_selected_block(self) -> None:
        block_id = self.canvas.selected_block()
        block = self.editor.doc.block(block_id) if block_id else None
        if block is not None and self.editor.toggle_block(block.id):
            self.canvas.select_ids(block.nodes)

    def save_block_dialog(self) -> None:
        block_id = self.canvas.selected_block()
        block = self.editor.doc.block(block_id) if block_id else None
        if block is None:
            self.say("Select a block to save.")
            return
        suggested = (self.path.parent if self.path else Path.home()) / f"{block.id}.block.yaml"
        name, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save block as", str(suggested), BLOCK_FILTER
        )
        if name:
            self.save_block_to(block.id, Path(name))

    def save_block_to(self, block_id: str, path: Path) -> bool:
        try:
            save_block(block_file(self.editor.doc, block_id), path)
        except (OSError, AtrapError) as exc:
            self.error_dialog("Cannot save the block", f"{path}: {exc}")
            return False
        self.say(f"Saved block to {path}.")
        return True

    def insert_block_dialog(self) -> None:
        start = str(self.path.parent) if self.path else str(Path.home())
        name, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Insert block", start, BLOCK_FILTER)
        if name:
            self.insert_block_file(Path(name))

    def insert_block_file(self, path: Path, at: tuple[float, float] | None = None) -> list[str]:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.error_dialog("Cannot insert the block", f"{path}: {exc}")
            return []
        return self.editor.insert_fragment(text, at, as_block=True, source=str(path))

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

    def _show_analysis(self, analysis: Analysis) -> None:
        self.canvas.show_issues(analysis.issues)
        self.problems.show_validation(analysis.issues)
        errors = len(analysis.errors)
        warnings = len(analysis.issues) - errors
        title = "Problems" + (f" ({len(analysis.issues)})" if analysis.issues else "")
        self.docks["Problems"].setWindowTitle(title)
        if self.runs.state != "running":
            self.say(
                "Ready to run."
                if not analysis.issues
                else f"{errors} error(s), {warnings} warning(s): see the Problems panel."
            )
        self._update_run_actions()

    # -- running -------------------------------------------------------------------------------

    def run(self, *, resume: bool | None = None, steps: int | None = None) -> bool:
        """Start training (or resume a paused run). ``resume``: None asks when it can."""
        if self.runs.state == "paused":
            self.runs.resume()
            return True
        if self.runs.state != "idle":
            return False
        analysis = self.editor.validate_now()
        if not analysis.ok:
            self.say(self._why_not_runnable(analysis))
            self.docks["Problems"].raise_()
            return False
        out_dir = run_folder(self.paths, self.editor.doc, self.path)
        checkpoint = latest_checkpoint(out_dir)
        if checkpoint is not None and resume is None:
            step = int(re.sub(r"\D", "", checkpoint.stem) or 0)
            answer = QtWidgets.QMessageBox.question(
                self,
                "Resume training?",
                f"A previous run of this graph stopped at update {step:,}.\n\n"
                "Resume it (Yes), or start over (No)?",
                Buttons.Yes | Buttons.No | Buttons.Cancel,
                Buttons.Yes,
            )
            if answer == Buttons.Cancel:
                return False
            resume = answer == Buttons.Yes
        self.problems.show_run_problem(None)
        self.say("Training… (Pause F6, Stop Shift+F5)")
        scene_id = self.editor.analysis.scene
        if scene_id is not None:
            instances = self.editor.analysis.props[scene_id].get("instances", 1)
            self.live.set_instance_count(int(instances))
        self.progress.setValue(0)
        self.progress.show()
        self.log(f"Run folder: {out_dir}")
        self.runs.start(
            self.editor.doc,
            out_dir,
            resume_from=checkpoint if resume and checkpoint else None,
            steps=steps,
            source=str(self.path or self.editor.doc.name),
            threads=self.threads,
        )
        return True

    def pause_or_resume(self) -> None:
        if self.runs.state == "running":
            self.runs.pause()
        elif self.runs.state == "paused":
            self.runs.resume()

    def _why_not_runnable(self, analysis: Analysis) -> str:
        errors = analysis.errors
        first = errors[0]
        where = f"node '{first.node}': " if first.node else ""
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return f"Cannot run yet: {where}{first.message}{more}."

    def _update_run_actions(self) -> None:
        state = self.runs.state
        acts = self.acts
        runnable = self.editor.analysis.ok
        acts["run"].setEnabled(state == "paused" or (state == "idle" and runnable))
        if state == "idle" and not runnable:
            acts["run"].setToolTip(self._why_not_runnable(self.editor.analysis))
        elif state == "paused":
            acts["run"].setToolTip("Resume training (F5)")
        else:
            acts["run"].setToolTip("Train the graph (F5)")
        acts["pause"].setEnabled(state in ("running", "paused"))
        acts["step"].setEnabled(state == "paused")
        acts["stop"].setEnabled(state in ("starting", "running", "paused"))
        if state == "idle":
            self.progress.setVisible(self.progress.value() > 0)

    def _on_run_event(self, event: Event) -> None:
        data = event.data
        if event.kind == "error":
            message = str(data.get("message", "the run failed"))
            node = data.get("node")
            node = node if node is not None and self.editor.doc.node(node) is not None else None
            self.problems.show_run_problem(
                Issue(
                    "run.error",
                    message,
                    "the graph is unchanged; fix the cause and run again",
                    node=node,
                )
            )
            self.docks["Problems"].raise_()
            self.say("The run stopped on an error: see the Problems panel.")
        elif event.kind == "finished":
            reason = data.get("reason", "completed")
            evaluation = data.get("evaluation") or {}
            summary = f"Run {reason} at update {event.step:,}"
            headline = self.runs.outcome.headline(evaluation)
            if headline:
                summary += f": {headline}"
            self.say(summary + ".")
            self.log(summary + ".")

    # -- window life cycle ------------------------------------------------------------------

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if not self.maybe_save():
            event.ignore()
            return
        if self.runs.active():
            answer = QtWidgets.QMessageBox.question(
                self,
                "Training is running",
                "Stop training (a checkpoint is kept to resume from) and close?",
                Buttons.Yes | Buttons.Cancel,
                Buttons.Yes,
            )
            if answer != Buttons.Yes:
                event.ignore()
                return
            self.runs.stop()
            self.runs.wait(60.0)
        if self.crowd_panel.running():  # its processes must not outlive the window
            self.crowd_panel.stop()
            self.crowd_panel.wait(60.0)
        self.autosaver.discard()
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()
        event.accept()

    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geometry, QtCore.QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QtCore.QByteArray):
            self.restoreState(state)
        else:  # first start: once the window has its size, give the canvas most of it
            QtCore.QTimer.singleShot(0, self._default_dock_sizes)

    def _default_dock_sizes(self) -> None:
        horizontal, vertical = QtCore.Qt.Orientation.Horizontal, QtCore.Qt.Orientation.Vertical
        self.resizeDocks([self.docks["Palette"], self.docks["Properties"]], [230, 340], horizontal)
        self.resizeDocks([self.docks["Problems"]], [150], vertical)

    def reset_layout(self) -> None:
        self.restoreState(self._default_state)
        for dock in self.docks.values():
            dock.show()
        self._default_dock_sizes()

    def _update_title(self) -> None:
        if self.path is not None:
            where = self.path.name
        elif self.example is not None:
            where = f"{self.editor.doc.name} (example)"
        else:
            where = f"{self.editor.doc.name} (not saved)"
        self.setWindowTitle(f"{where}[*] — ATRAP Studio")
        self.setWindowModified(self.modified)

    def about(self) -> None:
        from atrap_studio import __version__

        QtWidgets.QMessageBox.about(
            self,
            "About ATRAP Studio",
            f"<b>ATRAP Studio</b> {__version__}<p>Compose AI behaviours from nodes, train them "
            "and watch them learn.</p>",
        )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "graph"
