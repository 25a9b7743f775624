"""The graph being edited as a file: where it lives, whether it is saved, and its commands.

Open, save, save as, recent files, examples, the autosave copy and the offer to recover one,
and the question before unsaved edits are lost. The editor holds the document itself; the
session holds what makes it a file, and tells the window when that changes.
"""

from __future__ import annotations

import errno
import re
import time
from pathlib import Path

from PySide6 import QtCore, QtWidgets
from ruamel.yaml.comments import CommentedMap

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import AtrapError
from atrap_studio.core.yaml_io import load_graph, save_graph
from atrap_studio.core.yaml_roundtrip import load_graph_with_layout, save_graph_into
from atrap_studio.examples import DEFAULT_EXAMPLE, example_path
from atrap_studio.ui.dialogs import ExamplesDialog
from atrap_studio.ui.editor import Editor
from atrap_studio.ui.messages import Messages
from atrap_studio.ui.session_files import AppPaths, Autosave, Autosaver, RecentFiles

GRAPH_FILTER = "ATRAP graphs (*.yaml *.yml);;All files (*)"
Buttons = QtWidgets.QMessageBox.StandardButton


class DocumentSession(QtCore.QObject):
    """The editor's document as a file: its path, the example it came from, its saved state.

    Signals:
        adopted(): another document became the graph (the window clears what showed the old).
        changed(): the file, the example or the saved state changed (the window's title).
    """

    adopted = QtCore.Signal()
    changed = QtCore.Signal()

    def __init__(
        self,
        editor: Editor,
        paths: AppPaths,
        settings: QtCore.QSettings,
        messages: Messages,
        *,
        autosave_ms: int = 60_000,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.editor = editor
        self.settings = settings
        self.messages = messages
        self.path: Path | None = None
        self.example: str | None = None
        self.layout: CommentedMap | None = None  # the file's comments and text, kept for saving
        self.recent = RecentFiles(settings)
        self.autosaver = Autosaver(paths.autosave_dir)
        self._autosave_failing = False  # said in the log once per run of failures
        self._autosave_timer = QtCore.QTimer(self)
        self._autosave_timer.setInterval(autosave_ms)
        self._autosave_timer.timeout.connect(self.autosave)
        self._autosave_timer.start()

    # -- state --------------------------------------------------------------------------------

    @property
    def modified(self) -> bool:
        return not self.editor.undo_stack.isClean()

    def title(self) -> str:
        """What the window's title calls the graph (without the modified mark)."""
        if self.path is not None:
            return self.path.name
        if self.example is not None:
            return f"{self.editor.doc.name} (example)"
        return f"{self.editor.doc.name} (not saved)"

    def folder(self) -> Path:
        """Where file dialogs start: the graph's folder, else the home folder."""
        return self.path.parent if self.path else Path.home()

    def _mark_modified(self) -> None:
        """Make the document count as unsaved (recovered or example-derived content)."""
        self.editor.undo_stack.resetClean()
        self.changed.emit()

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
            self.messages.window(),
            "Recover unsaved work?",
            f"ATRAP Studio ended without saving {what}. An autosaved copy from {when} "
            "was found.\n\nRecover it?",
            Buttons.Yes | Buttons.Discard,
        )
        more = len(orphans) - 1
        if more:  # the others are offered at the next starts, one at a time
            self.messages.log(
                f"{more} more autosaved cop{'ies' if more > 1 else 'y'} will be offered later."
            )
        if answer != Buttons.Yes:
            Autosaver.remove(newest)
            return False
        try:
            doc = load_graph(newest.copy)
        except AtrapError as exc:
            Autosaver.remove(newest)  # a copy that cannot be read is not offered again
            self.messages.error_dialog("Cannot recover", str(exc))
            return False
        Autosaver.remove(newest)
        self.adopt(doc, Path(newest.source) if newest.source else None, example=None)
        self.editor.undo_stack.resetClean()  # recovered edits are not saved yet
        self._mark_modified()
        self.messages.log(f"Recovered the autosaved copy of {what} from {when}.")
        return True

    # -- opening ------------------------------------------------------------------------------

    def new_graph(self) -> bool:
        if not self.maybe_save():
            return False
        self.adopt(GraphDocument(name="Untitled"), None, example=None)
        self.settings.remove("last_file")
        return True

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        name, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.messages.window(), "Open graph", str(self.folder()), GRAPH_FILTER
        )
        if name:
            self.open_file(Path(name), ask=False)

    def open_file(self, path: Path, *, ask: bool = True, quiet: bool = False) -> bool:
        """Open a graph; a broken file leaves the current graph and its edits untouched."""
        if ask and not self.maybe_save():
            return False
        try:
            doc, layout = load_graph_with_layout(path)
        except AtrapError as exc:
            if not quiet:
                self.messages.error_dialog("Cannot open the graph", str(exc))
            self.messages.say(f"Could not open {path.name}; nothing was changed.")
            return False
        self.adopt(doc, path, example=None, layout=layout)
        self.recent.add(path)
        self.settings.setValue("last_file", str(path.resolve()))
        self.messages.say(f"Opened {path}.")
        return True

    def open_example(self, name: str) -> bool:
        """Open a shipped example as a new, unsaved graph (Save asks where to keep it)."""
        try:
            doc, layout = load_graph_with_layout(example_path(name))
        except (AtrapError, FileNotFoundError) as exc:
            self.messages.error_dialog("Cannot open the example", str(exc))
            return False
        self.adopt(doc, None, example=name, layout=layout)  # its explanations are saved too
        return True

    def examples_dialog(self) -> None:
        dialog = ExamplesDialog(self.messages.window())
        if dialog.exec() and dialog.chosen() and self.maybe_save():
            self.open_example(str(dialog.chosen()))

    def adopt(
        self,
        doc: GraphDocument,
        path: Path | None,
        *,
        example: str | None = None,
        layout: CommentedMap | None = None,
    ) -> None:
        """Make a loaded document the graph (a clean undo history); ``layout`` is its file's
        round-trip tree, whose comments saving keeps."""
        self.autosaver.discard()
        self.path, self.example, self.layout = path, example, layout
        self.editor.load(doc)
        self.adopted.emit()
        self.changed.emit()

    def fill_recent_menu(self, menu: QtWidgets.QMenu) -> None:
        """The Open Recent menu, filled as it opens."""
        menu.clear()
        for text in self.recent.paths():
            action = menu.addAction(text)
            action.triggered.connect(lambda *_, p=text: self._open_recent(p))
        if not self.recent.paths():
            menu.addAction("(none)").setEnabled(False)

    def _open_recent(self, text: str) -> None:
        if not Path(text).is_file():
            self.recent.remove(text)
            self.messages.say(f"{text} no longer exists; removed from the recent files.")
            return
        self.open_file(Path(text))

    # -- saving ---------------------------------------------------------------------------------

    def save(self) -> bool:
        if self.path is None:
            return self.save_as_dialog()
        return self.save_to(self.path)

    def save_as_dialog(self) -> bool:
        suggested = self.path or Path.home() / f"{_slug(self.editor.doc.name)}.yaml"
        name, _ = QtWidgets.QFileDialog.getSaveFileName(
            self.messages.window(), "Save graph as", str(suggested), GRAPH_FILTER
        )
        return bool(name) and self.save_to(Path(name))

    def save_to(self, path: Path) -> bool:
        """Write the graph atomically; on failure the edits stay and the person is told why."""
        try:
            if self.layout is not None:
                save_graph_into(self.editor.doc, self.layout, path)
            else:
                save_graph(self.editor.doc, path)
        except OSError as exc:
            self.messages.error_dialog("Cannot save", f"{path}: {exc.strerror or exc}")
            return False
        self.path, self.example = path, None
        self.editor.undo_stack.setClean()
        self.autosaver.discard()
        self.recent.add(path)
        self.settings.setValue("last_file", str(path.resolve()))
        self.changed.emit()
        self.messages.say(f"Saved {path}.")
        return True

    def maybe_save(self) -> bool:
        """Before the graph is replaced: True to go on (saved or discarded), False to stay."""
        if not self.modified:
            return True
        answer = QtWidgets.QMessageBox.question(
            self.messages.window(),
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
        """Write the autosave copy if there are unsaved edits (the timer calls this).

        A copy that cannot be written (a full disk, a read-only folder) is said in the status
        bar each time and in the log when it starts failing; the edits stay open, the user's
        file is not touched, and the next tick tries again.
        """
        if not self.modified:
            return None
        try:
            copy = self.autosaver.write(self.editor.doc, self.path)
        except OSError as exc:
            full = " (the disk is full)" if exc.errno == errno.ENOSPC else ""
            where = exc.filename or self.autosaver.folder
            text = (
                f"Autosave failed: {where}: {exc.strerror or exc}{full}. Your edits are still "
                "here; save them where there is room."
            )
            self.messages.say(text)
            if not self._autosave_failing:
                self.messages.log(text)
            self._autosave_failing = True
            return None
        if self._autosave_failing:
            self.messages.log(f"Autosave works again ({copy}).")
            self._autosave_failing = False
        return copy


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "graph"
