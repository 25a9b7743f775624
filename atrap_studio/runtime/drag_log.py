"""A person's drags of arm targets during a run, kept in the run folder as ``drags.csv``.

The scene view's Ctrl+drag holds the shown arm's target where the cursor puts it (the editor's
``hold_target`` and ``release_target`` commands). So that this help can be replayed and
measured (``atrap experiment help-the-network --drags``), the editor sends those commands
through a :class:`DragRecorder`, which writes one row each time a hold ends: the update at
which the target was put there, the arm, the point in metres and for how many updates it
stayed. Each row is appended whole as its hold ends, and holds still on when the run ends are
written then, so a stopped run loses nothing; a run without drags writes no file.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from atrap_studio.core.errors import AtrapError, RunError
from atrap_studio.core.yaml_io import write_text_atomic
from atrap_studio.runtime.commands import HoldsTargets, hold_target, release_target
from atrap_studio.runtime.pipeline import Pipeline

DRAGS_FILE = "drags.csv"
COLUMNS = ("update", "instance", "x_m", "y_m", "z_m", "updates_held")
HEADER = ",".join(COLUMNS)
#: Limits a drags file must keep (a person drags a few hundred times an hour, not millions).
MAX_ROWS = 1_000_000
MAX_BYTES = 100 * 2**20
MAX_COUNT = 10**9
_WHOLE = re.compile(r"[0-9]{1,10}")

Position = tuple[float, float, float]


@dataclass(frozen=True)
class Drag:
    """One stretch of updates during which a person held one arm's target at one point."""

    #: Updates done when the target was put there: updates ``update + 1`` onwards train on it.
    update: int
    instance: int
    position: Position
    #: How many updates trained with the target there.
    updates_held: int
    #: The line of the file it was read from (0: not read from a file).
    line: int = 0

    def row(self) -> str:
        x, y, z = self.position
        return f"{self.update},{self.instance},{x:.6f},{y:.6f},{z:.6f},{self.updates_held}\n"


class DragRecorder:
    """Writes the targets a person held during a run to ``path``, a row as each hold ends.

    It counts the run's updates as one of its helpers (:meth:`after_update`, on the training
    thread), and the editor's hold and release commands go through :meth:`hold` and
    :meth:`release`, which record what the scene holds once the command is applied: every row's
    update is the exact one at which the target was put, and its point the one the network
    trained on (pulled inside the arm's reach by the scene). A point held for no update (a drag
    moves the target again before the next update) trained nothing and is not written.

    Args:
        path: the run folder's ``drags.csv`` (appended to, its header written first).
        updates: the updates done when the run starts (a resumed run's checkpoint).
    """

    def __init__(self, path: Path, updates: int = 0) -> None:
        self.path = path
        self.updates = updates
        self.written = 0
        self._open: dict[int, tuple[int, Position]] = {}

    def keep_to_start(self) -> None:
        """A resumed run: keep only what the updates up to its checkpoint trained with, as the
        runner does with metrics.csv (the run before may have gone on past its last checkpoint
        and then died: its later rows belong to updates that are done again)."""
        if not self.path.exists():
            return
        kept = [
            replace(drag, updates_held=min(drag.updates_held, self.updates - drag.update))
            for drag in read_drags(self.path)
            if drag.update < self.updates
        ]
        try:
            write_text_atomic(HEADER + "\n" + "".join(d.row() for d in kept), self.path)
        except OSError as exc:
            raise _unwritable(self.path, exc) from exc

    def after_update(self, step: int, folder: Path, write: Callable[[Path], None]) -> None:
        """The runner's helper hook: ``step`` updates are done."""
        self.updates = step

    def hold(self, instance: int, point: Sequence[float]) -> Callable[[Pipeline], None]:
        """The editor's :func:`~atrap_studio.runtime.commands.hold_target`, recorded."""
        command = hold_target(instance, point)

        def apply(pipeline: Pipeline) -> None:
            command(pipeline)
            self._follow(pipeline, instance)

        return apply

    def release(self, instance: int) -> Callable[[Pipeline], None]:
        """The editor's :func:`~atrap_studio.runtime.commands.release_target`, recorded (a
        user-driven scene keeps the target: its row goes on until it is moved again)."""
        command = release_target(instance)

        def apply(pipeline: Pipeline) -> None:
            command(pipeline)
            self._follow(pipeline, instance)

        return apply

    def finish(self) -> None:
        """The run ended: write the holds still on, up to the last update."""
        for instance in sorted(self._open):
            self._close(instance)

    def _follow(self, pipeline: Pipeline, instance: int) -> None:
        scene = pipeline.scene
        held = None
        if isinstance(scene, HoldsTargets) and 0 <= instance < scene.instances:
            held = scene.held_target(instance)
        before = self._open.get(instance)
        if before is not None and before[1] == held:
            return
        if before is not None:
            self._close(instance)
        if held is not None:
            self._open[instance] = (self.updates, held)

    def _close(self, instance: int) -> None:
        update, position = self._open.pop(instance)
        if self.updates > update:
            self._append(Drag(update, instance, position, self.updates - update))

    def _append(self, drag: Drag) -> None:
        """One whole row in one write, the header first in a new file."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fresh = not self.path.exists() or self.path.stat().st_size == 0
            with self.path.open("a", encoding="utf-8", newline="") as file:
                file.write((HEADER + "\n" if fresh else "") + drag.row())
        except OSError as exc:
            raise _unwritable(self.path, exc) from exc
        self.written += 1


def _unwritable(path: Path, exc: OSError) -> RunError:
    return RunError(f"the drags could not be written to {path}: {exc.strerror or exc}")


def read_drags(path: Path) -> list[Drag]:
    """The drags a file holds, in its order; anything else is refused naming the file's line.

    Only plain numbers are read: whole updates, arms and durations (at most ``MAX_COUNT``), and
    finite coordinates. Whether they fit an experiment (its arm's reach, its budget) is the
    experiment's to check, with the lines kept in :attr:`Drag.line`.
    """
    try:
        if path.stat().st_size > MAX_BYTES:
            raise AtrapError(
                f"{path}: {path.stat().st_size:,} bytes is too large for a drags file "
                f"(at most {MAX_BYTES // 2**20} MiB)"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AtrapError(f"{path}: no such drags file") from None
    except UnicodeDecodeError:
        raise AtrapError(f"{path}: not a drags file (not UTF-8 text)") from None
    except OSError as exc:
        raise AtrapError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    lines = text.splitlines()
    if not lines or lines[0].strip().lstrip("\ufeff") != HEADER:
        first = repr(lines[0][:80]) if lines else "nothing"
        raise AtrapError(f"{path}, line 1: expected the header {HEADER!r}, found {first}")
    if len(lines) - 1 > MAX_ROWS:
        raise AtrapError(f"{path}: more than {MAX_ROWS:,} drags; cut it into a shorter file")
    drags = []
    for number, values in enumerate(csv.reader(lines[1:]), start=2):
        if not values or all(not v.strip() for v in values):
            continue
        drags.append(_parse(values, f"{path}, line {number}", number))
    return drags


def _parse(values: list[str], where: str, line: int) -> Drag:
    if len(values) != len(COLUMNS):
        raise AtrapError(f"{where}: expected {len(COLUMNS)} values ({HEADER}), got {len(values)}")
    update, instance, held = (_count(values[i], COLUMNS[i], where) for i in (0, 1, 5))
    if held < 1:
        raise AtrapError(f"{where}: updates_held must be at least 1, got {held}")
    coordinates = []
    for name, text in zip(COLUMNS[2:5], values[2:5], strict=True):
        try:
            value = float(text)
        except ValueError:
            raise AtrapError(f"{where}: {name} must be a number of metres, got {text!r}") from None
        if not math.isfinite(value):
            raise AtrapError(f"{where}: {name} must be a finite number of metres, got {text!r}")
        coordinates.append(value)
    x, y, z = coordinates
    return Drag(update, instance, (x, y, z), held, line)


def _count(text: str, name: str, where: str) -> int:
    if not _WHOLE.fullmatch(text.strip()) or int(text) > MAX_COUNT:
        raise AtrapError(
            f"{where}: {name} must be a whole number from 0 to {MAX_COUNT:,}, got {text!r}"
        )
    return int(text)
