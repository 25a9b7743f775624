"""Where the editor keeps its own files: settings, recent files, autosaves and run folders.

Autosaves are written every minute while the graph has unsaved edits, beside a small JSON note
of which file they belong to and which process wrote them; at the next start, copies left by a
process that is gone (a crash) are offered back.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from PySide6 import QtCore

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.yaml_io import dump_graph, write_text_atomic

APP_NAME = "atrap-studio"
MAX_RECENT = 10


@dataclass(frozen=True)
class AppPaths:
    """The editor's folders: settings (``config``) and data (autosaves, runs of unsaved graphs)."""

    config: Path
    data: Path

    @classmethod
    def default(cls) -> AppPaths:
        return cls(
            Path(platformdirs.user_config_dir(APP_NAME)), Path(platformdirs.user_data_dir(APP_NAME))
        )

    @property
    def settings_file(self) -> Path:
        return self.config / "studio.ini"

    @property
    def autosave_dir(self) -> Path:
        return self.data / "autosave"


@dataclass(frozen=True)
class Autosave:
    """An autosaved copy found on disk."""

    copy: Path
    source: str | None  # the file it was a copy of, None for a never-saved graph
    saved_at: float
    pid: int


class Autosaver:
    """Writes and finds autosave copies for one editor window."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.current: Path | None = None

    def write(self, doc: GraphDocument, source: Path | None) -> Path:
        """Save a copy of ``doc`` (atomically) and note what it is a copy of."""
        self.folder.mkdir(parents=True, exist_ok=True)
        key = hashlib.sha1(str(source or f"untitled-{os.getpid()}").encode()).hexdigest()[:16]
        copy = self.folder / f"{key}.yaml"
        if self.current is not None and self.current != copy:
            self.discard()
        write_text_atomic(dump_graph(doc), copy)
        self.current = copy  # discarded on save even if its note below cannot be written
        note = {"source": str(source) if source else None, "saved_at": time.time()}
        write_text_atomic(json.dumps({**note, "pid": os.getpid()}), copy.with_suffix(".json"))
        return copy

    def discard(self) -> None:
        """Remove this window's copy (after a save, or when the edits are thrown away)."""
        if self.current is not None:
            self.current.unlink(missing_ok=True)
            self.current.with_suffix(".json").unlink(missing_ok=True)
            self.current = None

    def orphans(self) -> list[Autosave]:
        """Copies whose writing process has ended without discarding them, newest first."""
        found: list[Autosave] = []
        for note_path in self.folder.glob("*.json"):
            copy = note_path.with_suffix(".yaml")
            try:
                note = json.loads(note_path.read_text(encoding="utf-8"))
                pid = int(note["pid"])
                saved_at = float(note["saved_at"])
                source = note["source"] if isinstance(note["source"], str) else None
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if copy.exists() and pid != os.getpid() and not _alive(pid):
                found.append(Autosave(copy, source, saved_at, pid))
        return sorted(found, key=lambda a: a.saved_at, reverse=True)

    @staticmethod
    def remove(autosave: Autosave) -> None:
        autosave.copy.unlink(missing_ok=True)
        autosave.copy.with_suffix(".json").unlink(missing_ok=True)


def run_folder(paths: AppPaths, doc: GraphDocument, source: Path | None) -> Path:
    """Where a run of this graph writes: ``runs/<file name>`` beside a saved file, else in data."""
    if source is not None:
        return source.parent / "runs" / source.stem
    slug = re.sub(r"[^a-z0-9]+", "-", doc.name.lower()).strip("-") or "untitled"
    return paths.data / "runs" / slug


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RecentFiles:
    """The Open Recent list, newest first, kept in the settings."""

    def __init__(self, settings: QtCore.QSettings) -> None:
        self._settings = settings

    def paths(self) -> list[str]:
        value = self._settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value or [] if isinstance(v, str)][:MAX_RECENT]

    def add(self, path: Path) -> None:
        text = str(path.resolve())
        paths = [text, *(p for p in self.paths() if p != text)][:MAX_RECENT]
        self._settings.setValue("recent_files", paths)

    def remove(self, path: str) -> None:
        paths = [p for p in self.paths() if p != path]
        self._settings.setValue("recent_files", paths)
