"""Training from the editor: the runtime in a worker thread, its events as queued signals.

The worker compiles and trains a *copy* of the document, so the graph stays editable and
untouched whatever the run does; the GUI thread only ever receives events (Qt queues a signal
emitted from another thread) and never waits for the worker.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from PySide6 import QtCore

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import AtrapError, RunError
from atrap_studio.core.events import Event
from atrap_studio.core.network_changes import describe_change
from atrap_studio.core.outcome import GENERIC, Outcome
from atrap_studio.core.registry import Registry
from atrap_studio.ui.run_compare import PreviousRun, find_previous_run

if TYPE_CHECKING:
    from atrap_studio.runtime.drag_log import DragRecorder

State = Literal["idle", "starting", "running", "paused", "stopping"]


class RunController(QtCore.QObject):
    """Starts, pauses, steps and stops one run at a time.

    Signals:
        event_received(Event): every runtime event, delivered on the GUI thread.
        state_changed(str): one of ``idle``, ``starting``, ``running``, ``paused``, ``stopping``.
        log(str): a line for the Log dock.
    """

    event_received = QtCore.Signal(object)
    state_changed = QtCore.Signal(str)
    log = QtCore.Signal(str)
    _relay = QtCore.Signal(object)

    def __init__(self, registry: Registry, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.state: State = "idle"
        self.runner: Any = None
        self.result: Any = None
        #: The folder the run writes into: the one asked for, then the one claimed (a numbered
        #: sibling when the one asked for holds a previous run).
        self.out_dir: Path | None = None
        self.threads: int | None = None
        #: How the running graph's scene judges its episodes (from the ``started`` event).
        self.outcome: Outcome = GENERIC
        #: The last test the run reported: (update, its evaluation summary), None before one.
        self.last_test: tuple[int, dict[str, float]] | None = None
        #: The graph the current (or last) run trains: a copy, unchanged by later edits.
        self.run_doc: GraphDocument | None = None
        #: The last run of the same graph, to compare with (None: none, or a resumed run).
        self.previous: PreviousRun | None = None
        #: Writes the targets a person holds to the run folder's drags.csv (set with the runner).
        self.drags: DragRecorder | None = None
        #: Rewrites the runtime's messages in the person's words (node names for ids).
        self.speak: Callable[[str], str] = str
        self._thread: threading.Thread | None = None
        self._shown: list[int] = [0]
        self._snapshot_pending = False
        self._relay.connect(self._deliver, QtCore.Qt.ConnectionType.QueuedConnection)

    # -- control ------------------------------------------------------------------------------

    def start(
        self,
        doc: GraphDocument,
        out_dir: Path,
        *,
        resume_from: Path | None = None,
        steps: int | None = None,
        source: str = "<editor>",
        threads: int | None = None,
    ) -> None:
        """Compile and train ``doc`` in a worker thread (it must not already be running)."""
        if self.state != "idle":
            raise RuntimeError("a run is already in progress")
        self.out_dir, self.threads = Path(out_dir), threads
        self.result = None
        self.last_test = None
        self._snapshot_pending = False
        self._set_state("starting")
        snapshot = doc.model_copy(deep=True)
        self.run_doc, self.previous = snapshot, None
        self._thread = threading.Thread(
            target=self._work,
            args=(snapshot, self.out_dir, resume_from, steps, source, threads),
            name="atrap-training",
            daemon=True,
        )
        self._thread.start()

    def pause(self) -> None:
        if self.runner is not None and self.state == "running":
            self.runner.pause()

    def resume(self) -> None:
        if self.runner is not None and self.state == "paused":
            self.runner.resume()

    def step_once(self) -> None:
        """One update while paused."""
        if self.runner is not None and self.state == "paused":
            self.runner.step_once()

    def stop(self) -> None:
        """Finish the current update, keep a checkpoint, end the run."""
        if self.state in ("running", "paused", "starting"):
            self._set_state("stopping")  # the worker checks this once its runner exists
            if self.runner is not None:
                self.runner.request_stop()

    def request_snapshot(self) -> bool:
        """Ask the run for one snapshot, unless one is already on its way (views coalesce)."""
        runner = self.runner
        if runner is None or self._snapshot_pending or self.state not in ("running", "paused"):
            return False
        self._snapshot_pending = True
        runner.request_snapshot()
        return True

    def set_shown_instances(self, instances: list[int]) -> None:
        """Which scene instances snapshots carry (the scene view's choice)."""
        self._shown = list(instances) or [0]
        if self.runner is not None:
            self.runner.shown_instances = list(self._shown)

    def hold_target(self, instance: int, position: Any) -> bool:
        """Put a scene instance's target at ``position`` and keep it there (whatever the scene's
        target mode) until :meth:`release_target`; applied on the training thread."""
        runner, drags = self.runner, self.drags
        if runner is None or drags is None:
            return False
        runner.submit(drags.hold(instance, tuple(float(v) for v in position)))
        return True

    def release_target(self, instance: int) -> bool:
        """Let a held target go: the instance's episodes draw targets as the scene says again."""
        runner, drags = self.runner, self.drags
        if runner is None or drags is None:
            return False
        runner.submit(drags.release(instance))
        self.log.emit(f"Target of arm {instance} is no longer held.")
        return True

    def announce_hold(self, instance: int, position: Any, seconds: float) -> None:
        """Log where a person let a held target go, and for how long it stays held."""
        if self.runner is None:
            return
        x, y, z = (float(v) for v in position)
        self.log.emit(
            f"Target of arm {instance} moved to ({x:.2f}, {y:.2f}, {z:.2f}) m and held there "
            f"for {seconds:.0f} s (a user-driven scene keeps it until it is moved again)."
        )

    def active(self) -> bool:
        """Whether a training thread is alive (its last events may still be on their way)."""
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout_s: float = 30.0) -> bool:
        """Block until the worker has ended (for closing the window); True if it did."""
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    # -- the worker thread ------------------------------------------------------------------

    def _work(
        self,
        doc: GraphDocument,
        out_dir: Path,
        resume_from: Path | None,
        steps: int | None,
        source: str,
        threads: int | None,
    ) -> None:
        from atrap_studio.runtime.drag_log import DRAGS_FILE, DragRecorder
        from atrap_studio.runtime.run_setup import prepare_run
        from atrap_studio.runtime.runner import configure_threads

        try:
            prepared = prepare_run(
                doc,
                self.registry,
                source=source,
                out_dir=out_dir,
                resume_from=resume_from,
                steps=steps,
                threads=threads,
            )
            if resume_from is None:  # read on the GUI thread once "finished" arrives
                self.previous = find_previous_run(out_dir, prepared.out_dir)
            self.out_dir = prepared.out_dir  # read on the GUI thread once "started" arrives
            self.threads = configure_threads()  # what this (training) thread really uses
            prepared.events.subscribe(self._relay.emit)
            prepared.runner.shown_instances = list(self._shown)
            start = prepared.checkpoint.step if prepared.checkpoint is not None else 0
            drags = DragRecorder(prepared.out_dir / DRAGS_FILE, start)
            if prepared.checkpoint is not None:
                drags.keep_to_start()
            prepared.pipeline.hooks.append(drags)  # it counts the updates, to date each drag
            self.drags = drags
            self.runner = prepared.runner
            if self.state == "stopping":
                self.runner.request_stop()
            try:
                self.result = prepared.run()
            finally:
                self._finish_drags(drags)
            if self.result.reason == "error":  # the runner reported the error; close the run
                self._relay.emit(Event("finished", self.result.step, {"reason": "error"}))
        except AtrapError as exc:
            self._relay.emit(Event("error", 0, {"message": str(exc), "checkpoint": None}))
            self._relay.emit(Event("finished", 0, {"reason": "error"}))
        except Exception as exc:  # a failing node must not take the editor down
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            message = f"the run failed unexpectedly: {detail}"
            self._relay.emit(Event("error", 0, {"message": message, "checkpoint": None}))
            self._relay.emit(Event("finished", 0, {"reason": "error"}))

    def _finish_drags(self, drags: DragRecorder) -> None:
        """Write the holds still on when the run ended (on the training thread, after it)."""
        try:
            drags.finish()
        except RunError as exc:
            self.log.emit(f"Error: {exc}")
        if drags.written:
            self.log.emit(f"Where you held targets, and for how long: {drags.path}")

    # -- back on the GUI thread ------------------------------------------------------------

    def _deliver(self, event: Event) -> None:
        kind = event.kind
        if kind == "snapshot":
            self._snapshot_pending = False
        elif kind == "started":
            self._set_state("running" if self.state != "stopping" else "stopping")
            self.outcome = event.data.get("outcome") or GENERIC
            resumed = event.data.get("resumed_from")
            how = f"resumed from {resumed}" if resumed else "started"
            self.log.emit(f"Run folder: {self.out_dir}")
            on = f" on {self.threads} thread(s)" if self.threads else ""
            self.log.emit(f"Training {how}: {event.data.get('steps', 0):,} updates{on}.")
        elif kind == "paused":
            if self.state != "stopping":
                self._set_state("paused")
            self.log.emit(f"Paused at update {event.step:,}.")
        elif kind == "resumed":
            self._set_state("running")
        elif kind == "checkpoint":
            self.log.emit(f"Checkpoint at update {event.step:,}: {event.data.get('path')}")
        elif kind == "architecture":
            self.log.emit(describe_change(event.step, event.data))
        elif kind == "episode":
            self.last_test = (event.step, dict(event.data))
            headline = self.outcome.headline(event.data)
            if headline:
                self.log.emit(f"Test at update {event.step:,}: {headline}.")
            self._log_other_agents(event)
        elif kind == "error":
            self.log.emit(f"Error: {self.speak(str(event.data.get('message')))}")
        elif kind == "finished":
            self.runner = None
            reason = event.data.get("reason", "completed")
            self.log.emit(f"Run ended ({reason}) at update {event.step:,}.")
        self.event_received.emit(event)
        if kind == "finished":
            self._set_state("idle")

    def _log_other_agents(self, event: Event) -> None:
        """A test of a graph of several agents: each other agent's side of the same episodes
        (its figures after its trainer's id), named as the person named the trainer."""
        for trainer in dict.fromkeys(k.partition(":")[0] for k in event.data if ":" in k):
            prefix = f"{trainer}:"
            theirs = {k[len(prefix) :]: v for k, v in event.data.items() if k.startswith(prefix)}
            said = self.outcome.headline(theirs)
            if said:
                self.log.emit(self.speak(f"Test at update {event.step:,}, '{trainer}': {said}."))

    def _set_state(self, state: State) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)
