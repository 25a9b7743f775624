"""The main window: canvas in the middle, docks around it, menus, toolbar and status bar.

It composes the parts and wires them together: the editor (the document and its undo
history), the document session (the graph as a file), the canvas controller (the canvas's
intents as edits), the panels, the network files and the run controller, whose Run toolbar
it owns. The parts know nothing of each other.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.events import Event
from atrap_studio.core.registry import Registry
from atrap_studio.core.validation import Analysis, Issue
from atrap_studio.runtime.run_folder import newest_checkpoint
from atrap_studio.ui import window_layout
from atrap_studio.ui.canvas import Canvas, node_mime
from atrap_studio.ui.canvas_control import CanvasController
from atrap_studio.ui.crowd_panel import QtCrowdPanel
from atrap_studio.ui.dialogs import HelpDialog
from atrap_studio.ui.document_session import DocumentSession
from atrap_studio.ui.editor import Editor
from atrap_studio.ui.live_views import LiveViews
from atrap_studio.ui.network_files import NetworkFiles, is_network_file
from atrap_studio.ui.palette import QtPalette
from atrap_studio.ui.plain_words import PlainWords, network_meanings
from atrap_studio.ui.problems import QtProblems
from atrap_studio.ui.properties import QtProperties
from atrap_studio.ui.quick_add import QtQuickAdd
from atrap_studio.ui.run_compare import comparison
from atrap_studio.ui.run_control import RunController
from atrap_studio.ui.run_speed import SpeedWatch, ThreadChoice
from atrap_studio.ui.run_summary import run_summary
from atrap_studio.ui.session_files import AppPaths, run_folder
from atrap_studio.ui.tank_play import PlayAction
from atrap_studio.ui.window_layout import shrinkable

Buttons = QtWidgets.QMessageBox.StandardButton
TRAINING = "Training… (Pause F6, Stop Shift+F5)"


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
        paths.config.mkdir(parents=True, exist_ok=True)
        self.settings = QtCore.QSettings(
            str(paths.settings_file), QtCore.QSettings.Format.IniFormat
        )

        self.editor = Editor(registry, parent=self)
        self.session = DocumentSession(
            self.editor, paths, self.settings, self, autosave_ms=autosave_ms, parent=self
        )
        self.canvas = Canvas(registry, parent=self)
        self.node_palette = QtPalette(
            registry, lambda types: node_mime([self.canvas.class_type(t) for t in types])
        )
        self.properties = QtProperties(self.editor)
        self.problems = QtProblems()
        self.quick_add = QtQuickAdd(registry, self.canvas.viewer())
        self.log_view = QtWidgets.QPlainTextEdit(readOnly=True)
        self.log_view.setMaximumBlockCount(5000)
        self.acts: dict[str, QtGui.QAction] = {}
        self.canvas_control = CanvasController(
            self.editor,
            self.canvas,
            self.properties,
            self.quick_add,
            self.acts,
            self,
            self.session.folder,
            parent=self,
        )
        self.runs = RunController(registry, parent=self)
        self.thread_choice = ThreadChoice(self.settings, threads, self.say, parent=self)
        self.speed = SpeedWatch(self.settings, parent=self)
        self.networks = NetworkFiles(self)
        self.crowd_panel = QtCrowdPanel(
            lambda: self.session.path, lambda p: self.networks.use_files([p]), log=self.log
        )

        self._build_status_bar()
        self.live = LiveViews(self.runs, self.run_label, self.progress, parent=self)
        self.scene_view = self.live.scene_view
        self.neuron_view = self.live.neuron_view
        self.curves = self.live.curves
        self.setCentralWidget(self.canvas.widget)
        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        self._dock("Palette", self.node_palette)
        self._dock("Properties", self.properties)
        self._dock("Scene", self.live.scene_stack)
        self._dock("Neurons", self.neuron_view)
        self._dock("Problems", self.problems)
        self._dock("Log", self.log_view)
        self._dock("Curves", self.curves)
        self._dock("Crowd", shrinkable(self.crowd_panel))
        window_layout.place_docks(self, self.docks)
        self._default_state = self.saveState()

        self._build_actions()
        self._build_menus_and_toolbar()
        self._wire()

        self.resize(1400, 860)
        self._restore_layout()
        self._update_title()
        self._update_run_actions()

    # -- construction ---------------------------------------------------------------------

    def _dock(self, title: str, widget: QtWidgets.QWidget) -> None:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(window_layout.area_of(title), dock)
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
        session, control = self.session, self.canvas_control
        a("new", "&New", session.new_graph, key.New, sp.SP_FileIcon, "Start an empty graph")
        a("open", "&Open…", session.open_dialog, key.Open, sp.SP_DialogOpenButton, "Open a graph")
        a("examples", "&Examples…", session.examples_dialog, None, None, "Open a shipped example")
        a("save", "&Save", session.save, key.Save, sp.SP_DialogSaveButton, "Save the graph")
        a("save_as", "Save &As…", session.save_as_dialog, key.SaveAs)
        a(
            "save_block",
            "Save &Block As…",
            control.save_block_dialog,
            None,
            None,
            "Write the selected block to a file to re-use in other graphs",
        )
        a(
            "insert_block",
            "&Insert Block…",
            control.insert_block_dialog,
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
        a("cut", "Cu&t", control.cut, key.Cut)
        a("copy", "&Copy", control.copy, key.Copy)
        a("paste", "&Paste", control.paste, key.Paste)
        a("duplicate", "&Duplicate", control.duplicate, "Ctrl+D")
        a(
            "delete",
            "De&lete",
            control.delete,
            [QtGui.QKeySequence.StandardKey.Delete, "Backspace"],
        )
        a("select_all", "Select &All", self.canvas.select_all, key.SelectAll)
        a("rename", "Re&name…", control.rename_dialog, "F2")
        a(
            "group",
            "&Group into Block",
            control.group_selection,
            "Ctrl+G",
            None,
            "Fold the selected nodes into one block with its own ports",
        )
        a("ungroup", "&Ungroup", control.ungroup_selection, "Ctrl+Shift+G")
        a("toggle_block", "Open/Close Block", control.toggle_selected_block, "Ctrl+E")
        a("layout", "Auto-&Layout", self.editor.auto_layout, "Ctrl+L")
        a("frame", "&Frame Selection", control.frame_selection, "F")
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
        self.recent_menu.aboutToShow.connect(
            lambda: self.session.fill_recent_menu(self.recent_menu)
        )
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
        run.addSeparator()
        self.thread_choice.fill(run.addMenu("&Threads"))
        run.addSeparator()
        self.play = PlayAction(self, lambda: self.editor.doc, lambda: self.runs.out_dir)
        self.play.add_to(run)
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
        space = QtGui.QShortcut(QtGui.QKeySequence("Space"), self.canvas.viewer())
        space.setContext(QtCore.Qt.ShortcutContext.WidgetShortcut)
        space.activated.connect(lambda: self.run())

    def _wire(self) -> None:
        ed, cv = self.editor, self.canvas
        ed.document_changed.connect(lambda: cv.show_document(ed.doc))
        ed.document_changed.connect(self._update_title)
        ed.analysis_changed.connect(self._show_analysis)
        ed.refused.connect(self.say)
        ed.undo_stack.cleanChanged.connect(lambda _: self._update_title())
        self.session.adopted.connect(self._adopted)
        self.session.changed.connect(self._update_title)
        cv.files_dropped.connect(self.drop_files)
        self.node_palette.add_requested.connect(self.canvas_control.add_node_at)
        self.problems.node_clicked.connect(self.canvas_control.show_node)
        # the speed watch sees each event first: its "speed is fine again" at a run's end must
        # not replace the run's summary with "Training…" (bug 6 of issue 12)
        self.runs.event_received.connect(self.speed.on_event)
        self.runs.event_received.connect(self._on_run_event)
        self.runs.state_changed.connect(lambda _: self._update_run_actions())
        self.runs.log.connect(self.log)
        self.runs.speak = lambda text: PlainWords(self.editor.doc, self.registry).text(text)
        self.speed.slow.connect(self._speed_said)

    # -- messages ---------------------------------------------------------------------------

    def say(self, text: str) -> None:
        """A short message in the status bar (refusals, confirmations)."""
        self.status_message.setText(text)
        self.statusBar().setToolTip(text)

    def _speed_said(self, warning: str) -> None:
        """Show the speed watch's warning, or the plain training message once it is fine."""
        if warning:
            self.say(warning)
        elif self.runs.state in ("running", "paused"):
            self.say(TRAINING)

    def log(self, text: str) -> None:
        self.log_view.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")

    def error_dialog(self, title: str, text: str) -> None:
        QtWidgets.QMessageBox.critical(self, title, text)

    # -- the graph's file (the session holds it; these are the window's entry points) ----

    @property
    def path(self) -> Path | None:
        """The graph's file, ``None`` while it is not saved."""
        return self.session.path

    @path.setter
    def path(self, path: Path | None) -> None:
        self.session.path = path

    def start(self, file: str | None = None, *, example: str | None = None) -> None:
        """Offer crash copies; else open ``file``, the ``example``, the last file, or the arm."""
        self.session.start(file, example=example)

    def open_file(self, path: Path, *, ask: bool = True, quiet: bool = False) -> bool:
        return self.session.open_file(path, ask=ask, quiet=quiet)

    def open_example(self, name: str) -> bool:
        return self.session.open_example(name)

    def adopt(self, doc: GraphDocument, path: Path | None, *, example: str | None = None) -> None:
        self.session.adopt(doc, path, example=example)

    def new_graph(self) -> bool:
        return self.session.new_graph()

    def save(self) -> bool:
        return self.session.save()

    def save_to(self, path: Path) -> bool:
        return self.session.save_to(path)

    def autosave(self) -> Path | None:
        return self.session.autosave()

    def _adopted(self) -> None:
        """Another graph: nothing shown of the previous one stays."""
        self.problems.show_run_problem(None)
        self.properties.show_node(None)
        self.canvas.frame_ids(None)
        if not self.runs.active():  # a run still going shows on until it ends
            self.live.clear()
            self.log_view.clear()
            outcome = self.editor.analysis.outcome  # the Scene dock shows this graph's kind
            if outcome is not None and outcome.snapshot != "arm":
                self.live.scene_view_for(outcome.snapshot)

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

    def _show_analysis(self, analysis: Analysis) -> None:
        words = PlainWords(self.editor.doc, self.registry)
        self.canvas.show_issues([words.issue(issue) for issue in analysis.issues])
        self.problems.show_validation(analysis.issues, words)
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
        out_dir = run_folder(self.paths, self.editor.doc, self.session.path)
        checkpoint = newest_checkpoint(out_dir)  # in runs/<name> or a numbered sibling
        if checkpoint is not None and resume is None:
            step = int(re.sub(r"\D", "", checkpoint.stem) or 0)
            answer = QtWidgets.QMessageBox.question(
                self,
                "Resume training?",
                f"A previous run of this graph ({checkpoint.parent.parent.name}) stopped at "
                f"update {step:,}.\n\n"
                "Resume it (Yes), or start over (No)?",
                Buttons.Yes | Buttons.No | Buttons.Cancel,
                Buttons.Yes,
            )
            if answer == Buttons.Cancel:
                return False
            resume = answer == Buttons.Yes
        self.problems.show_run_problem(None)
        self.say(TRAINING)
        scene_id = self.editor.analysis.scene
        if scene_id is not None:
            instances = self.editor.analysis.props[scene_id].get("instances", 1)
            self.live.set_instance_count(int(instances))
        self.progress.setValue(0)
        self.progress.show()
        self.curves.node_names = self.node_names()  # "reward/near" reads "Reward: Distance…"
        self.neuron_view.meanings = network_meanings(
            self.editor.doc, self.editor.analysis, self.registry
        )
        resume_from = checkpoint if resume and checkpoint else None
        threads = self.thread_choice.threads
        self.speed.expect(self.editor.doc, threads)
        self.runs.start(  # a new run goes to a numbered sibling if out_dir holds one; logged
            self.editor.doc,
            resume_from.parent.parent if resume_from else out_dir,
            resume_from=resume_from,
            steps=steps,
            source=str(self.session.path or self.editor.doc.name),
            threads=threads,
        )
        return True

    def node_names(self) -> dict[str, str]:
        """Each node's name as the canvas shows it, by id."""
        names: dict[str, str] = {}
        for node in self.editor.doc.nodes:
            spec = self.registry.get(node.type)
            names[node.id] = node.name or (spec.title if spec else node.id)
        return names

    def pause_or_resume(self) -> None:
        if self.runs.state == "running":
            self.runs.pause()
        elif self.runs.state == "paused":
            self.runs.resume()

    def _why_not_runnable(self, analysis: Analysis) -> str:
        errors = analysis.errors
        words = PlainWords(self.editor.doc, self.registry)
        first = words.issue(errors[0])
        where = f"{words.node(first.node)}: " if first.node else ""
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
            reason, evaluation = str(data.get("reason", "completed")), data.get("evaluation") or {}
            summary = run_summary(
                reason, event.step, evaluation, self.runs.last_test, self.runs.outcome
            )
            self.log(summary)
            previous, doc = self.runs.previous, self.runs.run_doc
            if previous is not None and doc is not None and evaluation and reason != "error":
                judged, lines = comparison(
                    previous, doc, evaluation, event.step, self.runs.outcome, self.registry
                )
                for line in lines:
                    self.log(line)
                then = self.runs.outcome.headline(previous.evaluation)
                if judged == "about the same":
                    summary += f" About the same as the last run ({then})."
                elif judged in ("better", "worse"):
                    summary += f" {judged.capitalize()} than the last run ({then}): see the Log."
            self.say(summary)

    # -- window life cycle ------------------------------------------------------------------

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if not self.session.maybe_save():
            event.ignore()
            return
        if self.runs.active() and self.runs.state != "idle":  # idle: it has finished, ending
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
        self.session.autosaver.discard()
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
            # once the window is up: restored before it is shown, Qt left the tabs of the
            # Problems and Log docks drawn a second time over the palette
            QtCore.QTimer.singleShot(0, lambda: self.restoreState(state))
        else:  # first start: once the window has its size, give the canvas most of it
            QtCore.QTimer.singleShot(0, self._default_dock_sizes)

    def _default_dock_sizes(self) -> None:
        window_layout.default_sizes(self, self.docks)

    def reset_layout(self) -> None:
        self.restoreState(self._default_state)
        for dock in self.docks.values():
            dock.show()
        self._default_dock_sizes()

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.session.title()}[*] — ATRAP Studio")
        self.setWindowModified(self.session.modified)

    def about(self) -> None:
        from atrap_studio import __version__

        QtWidgets.QMessageBox.about(
            self,
            "About ATRAP Studio",
            f"<b>ATRAP Studio</b> {__version__}<p>Compose AI behaviours from nodes, train them "
            "and watch them learn.</p>",
        )
