"""Claiming a run's output folder: one run per folder, checked and locked before training starts.

A run writes ``metrics.csv``, ``network.atrapnet`` and ``checkpoints/``; a second run into the
same folder would overwrite the first's network and metrics and have its own checkpoints
deleted by the first's rotation, so a folder holding a previous run is refused (or a numbered
sibling is taken), and an advisory lock (``flock``) keeps a second process out while a run
writes. The folder is created and written to here, so a read-only folder or a path that is a
file fails at once, not at the first checkpoint.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from atrap_studio.core.errors import AtrapError

LOCK_NAME = ".atrap-run.lock"
#: What a folder that held a run contains (checkpoints are looked for inside ``checkpoints/``).
RUN_FILES = ("metrics.csv", "network.atrapnet")
#: Temp files our atomic writers leave when killed between creating and renaming them.
_TEMP = re.compile(r"^\.(metrics\.csv|network\.atrapnet|ckpt-\d+\.atrapckpt)\..+\.tmp$")
#: How many numbered siblings (``name-2`` ... ) are tried before giving up.
MAX_SIBLINGS = 10_000

WhenUsed = Literal["refuse", "sibling"]


@dataclass
class RunFolder:
    """A claimed output folder; the lock is held until :meth:`release` (or the process ends)."""

    path: Path
    _handle: IO[str] | None

    def release(self) -> None:
        """Let other runs into the folder (idempotent)."""
        if self._handle is not None:
            self._handle.close()  # closing the descriptor drops the flock
            self._handle = None


def claim_run_folder(
    wanted: Path, *, when_used: WhenUsed, resume_from: Path | None = None
) -> RunFolder:
    """Create, check and lock the folder a run writes into.

    Args:
        wanted: the folder asked for.
        when_used: what to do when ``wanted`` holds a previous run (or another run is writing
            there): refuse, or take the first free numbered sibling (``wanted-2``, ...).
        resume_from: the checkpoint the run continues; a folder is not "used" for a run that
            resumes from a checkpoint inside it (it continues that run).

    Raises:
        AtrapError: the folder is a file, cannot be created or written, holds another run or
            is locked by a running one (``when_used="refuse"``).
    """
    candidate = wanted
    for number in range(2, MAX_SIBLINGS + 2):
        folder = _try_claim(candidate, resume_from, refuse=when_used == "refuse")
        if folder is not None:
            return folder
        candidate = wanted.with_name(f"{wanted.name}-{number}")
    raise AtrapError(f"{wanted}: no free numbered folder beside it (tried {MAX_SIBLINGS:,})")


def previous_run(folder: Path) -> list[str]:
    """What of a previous run ``folder`` holds (file names, "N checkpoints"); empty if none."""
    found = [name for name in RUN_FILES if (folder / name).exists()]
    checkpoints = folder / "checkpoints"
    count = len(list(checkpoints.glob("ckpt-*.atrapckpt"))) if checkpoints.is_dir() else 0
    if count:
        found.append(f"{count} checkpoint(s)")
    return found


def numbered_siblings(wanted: Path) -> list[Path]:
    """``wanted`` and the numbered folders beside it (``wanted-2``, ...) that exist, in order."""
    pattern = re.compile(rf"^{re.escape(wanted.name)}-(\d+)$")
    numbered: list[tuple[int, Path]] = []
    if wanted.parent.is_dir():
        for entry in wanted.parent.iterdir():
            found = pattern.match(entry.name)
            if found and entry.is_dir():
                numbered.append((int(found.group(1)), entry))
    return [wanted, *(path for _, path in sorted(numbered))]


def newest_checkpoint(wanted: Path) -> Path | None:
    """The checkpoint written last by any run in ``wanted`` or its numbered siblings.

    A run that found ``wanted`` used went to ``wanted-2`` (or further), so the run to offer to
    resume may be in any of them: the one that wrote last is the one the person remembers.
    """
    found: list[tuple[int, int, str, Path]] = []
    for rank, folder in enumerate(numbered_siblings(wanted)):
        for path in (folder / "checkpoints").glob("ckpt-*.atrapckpt"):
            try:
                written = path.stat().st_mtime_ns
            except OSError:  # removed by a run's rotation meanwhile
                continue
            found.append((written, rank, path.name, path))
    return max(found)[-1] if found else None


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Delete the temp files a killed run left (only ours, only while holding the lock)."""
    removed = []
    for place in (folder, folder / "checkpoints"):
        if not place.is_dir():
            continue
        for entry in place.iterdir():
            if _TEMP.match(entry.name) and entry.is_file():
                entry.unlink(missing_ok=True)
                removed.append(entry)
    return removed


def _try_claim(folder: Path, resume_from: Path | None, *, refuse: bool) -> RunFolder | None:
    """The claimed folder, or None when it is taken and a sibling may be tried."""
    if folder.exists() and not folder.is_dir():
        if refuse:
            raise AtrapError(f"{folder}: is a file, not a folder; choose another --out")
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / LOCK_NAME, "a+", encoding="utf-8")  # noqa: SIM115 (held on)
    except OSError as exc:
        raise AtrapError(
            f"{folder}: cannot be used as the run's folder: {exc.strerror or exc}; "
            "choose another --out"
        ) from None
    holder = _lock(handle)
    if holder is not None:
        handle.close()
        if refuse:
            raise AtrapError(
                f"{folder}: another run is writing there ({holder}); wait for it to end or "
                "choose another --out"
            )
        return None
    claimed = RunFolder(folder, handle)
    used = previous_run(folder)
    if used and not _continues(folder, resume_from):
        claimed.release()
        if refuse:
            newest = sorted((folder / "checkpoints").glob("ckpt-*.atrapckpt"))[-1:]
            how = f"resume it with --resume {newest[0]}, " if newest else ""
            raise AtrapError(
                f"{folder}: holds a previous run ({', '.join(used)}); {how}choose another "
                "--out, or add --new-folder to start a numbered folder beside it"
            )
        return None
    try:
        _mark(handle)
        if not os.access(folder, os.W_OK):
            raise OSError(13, "Permission denied")
    except OSError as exc:
        claimed.release()
        raise AtrapError(
            f"{folder}: cannot be written: {exc.strerror or exc}; choose another --out"
        ) from None
    remove_stale_temp_files(folder)
    return claimed


def _continues(folder: Path, resume_from: Path | None) -> bool:
    """Whether the run resumes from a checkpoint of the run already in ``folder``."""
    if resume_from is None:
        return False
    return resume_from.resolve().parent == (folder / "checkpoints").resolve()


def _lock(handle: IO[str]) -> str | None:
    """Take the folder's lock without waiting; None when taken, else who holds it."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no advisory locks, the folder checks still apply
        return None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read(32).strip()
        return f"process {pid}" if pid.isdigit() else "another process"
    return None


def _mark(handle: IO[str]) -> None:
    """Write our process id into the lock file (it names the holder in others' messages)."""
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
