"""Assembling one run from a graph document: the same steps for ``atrap run`` and the editor.

Threads, the checkpoint to resume (checked against the graph before anything is compiled), the
seed, the compiled pipeline, the output folder and the runner with its event bus: the CLI's
progress bar and the editor's run controller then only subscribe to the events and call
:meth:`PreparedRun.run` (on whichever thread trains).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import AtrapError
from atrap_studio.core.events import EventBus
from atrap_studio.core.registry import Registry
from atrap_studio.runtime.checkpoint import Checkpoint, check_same_graph, load_checkpoint
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.run_folder import RunFolder, WhenUsed, claim_run_folder
from atrap_studio.runtime.runner import Runner, RunResult, configure_threads


@dataclass(frozen=True)
class PreparedRun:
    """A compiled graph and its runner, ready to train; observers subscribe to :attr:`events`."""

    pipeline: Pipeline
    runner: Runner
    out_dir: Path
    #: The checkpoint the run resumes from, already read and checked against the graph.
    checkpoint: Checkpoint | None
    #: The update count asked for; ``None`` trains the trainer's own budget.
    steps: int | None
    #: The claimed (locked) output folder; released when :meth:`run` returns.
    folder: RunFolder

    @property
    def events(self) -> EventBus:
        return self.runner.events

    @property
    def total_steps(self) -> int:
        """How many updates the run is to reach (counting those of a resumed checkpoint)."""
        return self.steps if self.steps is not None else self.pipeline.trainer.budget.steps

    def run(self) -> RunResult:
        """Train (blocking) until the budget, the goal, a stop request or an error."""
        try:
            return self.runner.run(self.steps, resume=self.checkpoint)
        finally:
            self.folder.release()

    def release(self) -> None:
        """Give up the output folder without training (when a run is prepared but not started)."""
        self.folder.release()


def prepare_run(
    doc: GraphDocument,
    registry: Registry,
    *,
    source: str,
    out_dir: str | os.PathLike[str] | None = None,
    resume_from: str | os.PathLike[str] | None = None,
    seed: int | None = None,
    steps: int | None = None,
    threads: int | None = None,
    events: EventBus | None = None,
    when_used: WhenUsed = "sibling",
) -> PreparedRun:
    """Compile ``doc`` and make its runner; raises :class:`AtrapError` for what cannot run.

    Args:
        doc: the graph to train (the pipeline keeps it: pass a copy if it may change).
        registry: the node catalogue.
        source: where the graph comes from (a file name), for messages and provenance.
        out_dir: the run folder; ``None`` is the folder of the checkpoint resumed from (the
            parent of its ``checkpoints/``), else ``runs/<source's stem>`` in the working folder.
        resume_from: a checkpoint to continue from; it must have been made with this graph.
        seed: the seed for everything; ``None`` is the graph's own, or the checkpoint's.
        steps: the update count to reach; ``None`` is the trainer's budget.
        threads: torch's threads for this process; ``None`` leaves them as they are.
        events: the bus to emit on; a new one by default (see :attr:`PreparedRun.events`).
        when_used: for a folder that holds a previous run: refuse, or start a numbered sibling
            (``runs/reach-2``); a run never writes over another.
    """
    configure_threads(threads)
    checkpoint = load_checkpoint(resume_from) if resume_from is not None else None
    if checkpoint is not None:
        if seed is not None and seed != checkpoint.seed:
            raise AtrapError(f"{resume_from} was made with seed {checkpoint.seed}; drop --seed")
        check_same_graph(checkpoint, doc)  # before the cost of compiling
        seed = checkpoint.seed
    pipeline = Pipeline(doc, registry, seed=seed, source=source)
    resumed = Path(resume_from) if resume_from is not None else None
    if out_dir is not None:
        wanted = Path(out_dir)
    elif resumed is not None and resumed.parent.name == "checkpoints":
        wanted = resumed.parent.parent
    else:
        wanted = Path("runs") / Path(source).stem
    folder = claim_run_folder(wanted, when_used=when_used, resume_from=resumed)
    runner = Runner(
        pipeline, out_dir=folder.path, events=events if events is not None else EventBus()
    )
    return PreparedRun(pipeline, runner, folder.path, checkpoint, steps, folder)
