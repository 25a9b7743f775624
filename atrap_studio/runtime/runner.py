"""Running a pipeline: the training loop, its events, checkpoints, metrics and stopping rules.

The runner never prints: the CLI's progress bar and (later) the editor observe its events.
Pause and stop may be requested from any thread; the loop honours them between updates.
"""

from __future__ import annotations

import csv
import errno
import io
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import torch

from atrap_studio.core.errors import AtrapError, RunError
from atrap_studio.core.events import Event, EventBus, EventKind
from atrap_studio.core.yaml_io import write_text_atomic
from atrap_studio.runtime.checkpoint import SUFFIX, Checkpoint, restore, save_checkpoint
from atrap_studio.runtime.context import derive_seed
from atrap_studio.runtime.contracts import Curriculum
from atrap_studio.runtime.netfile import save_network
from atrap_studio.runtime.pipeline import Agent, Pipeline

Reason = Literal["completed", "goal", "stopped", "error"]


@dataclass
class RunResult:
    """How a run ended and what it left on disk."""

    reason: Reason
    step: int
    env_steps: int
    elapsed_s: float
    evaluation: dict[str, float] | None = None
    network_path: Path | None = None
    checkpoint: Path | None = None
    error: str | None = None
    last_metrics: dict[str, float] = field(default_factory=dict)
    #: Every agent's network file by its trainer's id (``network_path`` is the first's).
    network_paths: dict[str, Path] = field(default_factory=dict)


class Runner:
    """Trains a compiled pipeline.

    Args:
        pipeline: the compiled graph.
        out_dir: where ``network.atrapnet``, ``metrics.csv`` and ``checkpoints/`` go; ``None``
            runs without writing anything (tests, benchmarks).
        events: the bus observers subscribe to.
        keep_checkpoints: how many of the newest checkpoints this run wrote to keep (older
            files in the folder, of a run resumed from, are never removed).
    """

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        out_dir: str | os.PathLike[str] | None = None,
        events: EventBus | None = None,
        keep_checkpoints: int = 3,
    ) -> None:
        self.pipeline = pipeline
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.events = events or EventBus()
        self.keep_checkpoints = max(1, keep_checkpoints)
        self.eval_seed = derive_seed(pipeline.seed, "evaluation")
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._single_step = threading.Event()
        self._snapshot_wanted = threading.Event()
        self._commands: queue.SimpleQueue[Callable[[Pipeline], None]] = queue.SimpleQueue()
        #: Scene instances that snapshots show (the views choose them).
        self.shown_instances: list[int] = [0]
        self.rows: list[dict[str, Any]] = []
        self.last_checkpoint: Path | None = None
        #: The checkpoints this runner wrote, oldest first: the only ones rotation removes.
        self._written: list[Path] = []

    # -- control from other threads ---------------------------------------------------

    def request_stop(self) -> None:
        """Finish the current update, keep a checkpoint and end the run."""
        self._stop.set()
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._single_step.clear()
        self._running.set()

    def step_once(self) -> None:
        """Let a paused run make exactly one more update, then pause again."""
        self._single_step.set()
        self._running.set()

    def request_snapshot(self) -> None:
        """Ask for one ``snapshot`` event after the current update (or at once when paused).

        Requests do not queue up: a view asks again once it has drawn the last one, so a slow
        view gets fewer frames and training never waits for it.
        """
        self._snapshot_wanted.set()

    def submit(self, command: Callable[[Pipeline], None]) -> None:
        """Run ``command(pipeline)`` on the training thread between two updates.

        This is how the GUI changes a running scene (moving a target) without racing the
        trainer; it is served while paused too.
        """
        self._commands.put(command)

    # -- the loop ------------------------------------------------------------------------

    def run(self, steps: int | None = None, *, resume: Checkpoint | None = None) -> RunResult:
        """Train until the step budget, the goal, a stop request or an error."""
        pipeline, trainer = self.pipeline, self.pipeline.trainer
        budget = trainer.budget
        total = steps if steps is not None else budget.steps
        step, env_steps, elapsed_before = 0, 0, 0.0
        if resume is not None:
            restore(pipeline, resume)
            step, env_steps, elapsed_before = resume.step, resume.env_steps, resume.elapsed_s
            self.last_checkpoint = resume.path
            self._reload_metrics(step)
        for agent in pipeline.agents:
            agent.trainer.plan(total)
        self._emit(
            "started",
            step,
            steps=total,
            seed=pipeline.seed,
            outcome=pipeline.outcome,
            resumed_from=str(resume.path) if resume else None,
        )
        started = time.perf_counter()
        window_start, window_steps = started, 0
        sums: dict[str, Any] = {}
        count = 0
        reason: Reason = "completed"
        evaluation: dict[str, float] | None = None
        last: dict[str, float] = {}

        def elapsed() -> float:
            return elapsed_before + time.perf_counter() - started

        try:
            while step < total:
                if not self._running.is_set():
                    self._emit("paused", step)
                    while not self._running.wait(0.05):
                        self._serve(step)
                    if not self._stop.is_set():
                        self._emit("resumed", step)
                self._serve(step)
                if self._stop.is_set():
                    reason = "stopped"
                    break
                if isinstance(pipeline.scene, Curriculum):
                    pipeline.scene.progress = step / max(1, total)
                metrics = pipeline.train(step)
                metrics.update(pipeline.scene.metrics())
                for agent in pipeline.agents:
                    # an off-policy trainer makes no update until its replay buffer has a batch
                    loss = float(metrics.get(agent.metric("loss/total"), 0.0))
                    if not math.isfinite(loss):
                        raise RunError(
                            f"the loss became {loss} at update {step + 1}: training diverged. "
                            "Lower the trainer's learning rate (lr) or clip gradients harder "
                            "(grad_clip); resume from the last checkpoint",
                            node=agent.trainer_id,
                        )
                step += 1
                env_steps += trainer.env_steps_per_update
                for agent in pipeline.agents:
                    if agent.architect is not None:
                        self._reshape(agent, step, metrics)
                self._run_hooks(step, env_steps, evaluation)
                for key, value in metrics.items():
                    sums[key] = sums.get(key, 0.0) + value
                count += 1
                window_steps += 1
                at_eval = step % budget.eval_every == 0 or step == total
                if step % budget.log_every == 0 or at_eval:
                    now = time.perf_counter()
                    last = {k: float(v) / count for k, v in sums.items()}
                    span = max(now - window_start, 1e-9)
                    last["perf/updates_per_s"] = window_steps / span
                    last["perf/env_steps_per_s"] = (
                        window_steps * trainer.env_steps_per_update / span
                    )
                    sums, count, window_start, window_steps = {}, 0, now, 0
                    if at_eval:
                        evaluation = self.evaluate()
                        last.update({_eval_key(k): v for k, v in evaluation.items()})
                        self._emit("episode", step, **evaluation)
                    self._record(step, env_steps, elapsed(), last)
                    self._emit(
                        "step",
                        step,
                        metrics=last,
                        env_steps=env_steps,
                        total_steps=total,
                        elapsed_s=elapsed(),
                    )
                    goal = budget.goal_success_rate
                    reached = evaluation is not None and evaluation["success_rate"] >= goal
                    if at_eval and goal > 0 and reached:
                        reason = "goal"
                        break
                if step % budget.checkpoint_every == 0:
                    self._checkpoint(step, env_steps, elapsed())
                if self._single_step.is_set():
                    self._single_step.clear()
                    self._running.clear()
        except Exception as exc:  # a failing node or GUI command ends the run, never a crash
            return self._failed(
                exc, f"update {step + 1}", step, env_steps, elapsed(), evaluation, last
            )
        network_path = None
        network_paths: dict[str, Path] = {}
        try:  # the final test and files: a full disk here must not lose the run either
            if evaluation is None or (reason == "stopped" and step > 0):
                evaluation = self.evaluate()
            if self.out_dir is not None and step > 0:
                if self.last_checkpoint is None or not self.last_checkpoint.name.endswith(
                    f"{step:08d}{SUFFIX}"
                ):
                    self._checkpoint(step, env_steps, elapsed())
                for agent in pipeline.agents:
                    path = self.out_dir / network_file(pipeline, agent)
                    self._save_network(path, step, env_steps, evaluation, agent)
                    network_paths[agent.trainer_id] = path
                network_path = network_paths[pipeline.trainer_id]
            self._write_metrics()
        except Exception as exc:
            during = f"the end of the run after update {step}"
            return self._failed(exc, during, step, env_steps, elapsed(), evaluation, last)
        result = RunResult(
            reason,
            step,
            env_steps,
            elapsed(),
            evaluation,
            network_path,
            self.last_checkpoint,
            last_metrics=last,
            network_paths=network_paths,
        )
        self._emit(
            "finished",
            step,
            reason=reason,
            evaluation=evaluation,
            network=str(network_path) if network_path else None,
            networks={name: str(path) for name, path in network_paths.items()},
            elapsed_s=elapsed(),
        )
        return result

    def _failed(
        self,
        exc: Exception,
        during: str,
        step: int,
        env_steps: int,
        elapsed_s: float,
        evaluation: dict[str, float] | None,
        last: dict[str, float],
    ) -> RunResult:
        """End the run on an error: keep the metrics if the disk allows, say what failed."""
        message = (
            str(exc)
            if isinstance(exc, AtrapError)
            else f"{during} failed: {type(exc).__name__}: {exc}"
        )
        with suppress(RunError):  # the metrics file may be what could not be written
            self._write_metrics()
        self._emit(
            "error",
            step,
            message=message,
            node=exc.node if isinstance(exc, RunError) else None,
            checkpoint=str(self.last_checkpoint) if self.last_checkpoint else None,
        )
        return RunResult(
            "error",
            step,
            env_steps,
            elapsed_s,
            evaluation,
            checkpoint=self.last_checkpoint,
            error=message,
            last_metrics=last,
        )

    @contextmanager
    def _writing(self, path: Path, step: int) -> Iterator[None]:
        """Turn a failed write (a full disk, a folder gone read-only) into a clear RunError
        naming the file, the update and the last good checkpoint, which is left intact."""
        try:
            yield
        except OSError as exc:
            full = " (the disk is full)" if exc.errno == errno.ENOSPC else ""
            kept = (
                f"the last good checkpoint is {self.last_checkpoint}"
                if self.last_checkpoint
                else "no checkpoint had been written yet"
            )
            raise RunError(
                f"could not write {path} after update {step:,}: {exc.strerror or exc}{full}; {kept}"
            ) from None

    def _save_network(
        self,
        path: Path,
        step: int,
        env_steps: int,
        evaluation: dict[str, float] | None,
        agent: Agent | None = None,
    ) -> None:
        pipeline = self.pipeline
        agent = agent or pipeline.agents[0]
        if evaluation is not None and agent is not pipeline.agents[0]:
            # its own side of the test (keys after its trainer's id), where the scene told
            prefix = f"{agent.trainer_id}:"
            own = {k[len(prefix) :]: v for k, v in evaluation.items() if k.startswith(prefix)}
            evaluation = own or evaluation
        elif evaluation is not None:
            evaluation = {k: v for k, v in evaluation.items() if ":" not in k}
        training = {
            "trainer": pipeline.analysis.specs[agent.trainer_id].type,
            "steps": step,
            "env_steps": env_steps,
            "seed": pipeline.seed,
            "evaluation": evaluation,
        }
        if agent.owner.history:  # the architect changed it: how, so merges can align it
            training["growth"] = list(agent.owner.history)
        with self._writing(path, step):
            save_network(path, agent.network, pipeline.manifest(training, agent))

    def _reshape(self, agent: Agent, step: int, metrics: dict[str, Any]) -> None:
        """Let an agent's architect grow or shrink its network after this update; say so when
        it did."""
        architect = agent.architect
        assert architect is not None
        change = architect.after_update(agent.own_metrics(metrics))
        if change is None:
            return
        noted = architect.changes[-1]
        extra = {"network": agent.network_id} if len(self.pipeline.agents) > 1 else {}
        self._emit(
            "architecture",
            step,
            **extra,
            description=change.description,
            reason=noted["reason"],
            action=noted["action"],
            hidden=noted["hidden"],
            parameters=noted["parameters"],
            revision=change.revision,
        )

    def _run_hooks(self, step: int, env_steps: int, evaluation: dict[str, float] | None) -> None:
        """Let nodes act between updates; files they name land in the output folder."""
        folder = self.out_dir if self.out_dir is not None else self.pipeline.folder
        for hook in self.pipeline.hooks:
            agent = self.pipeline.agent_of(hook)
            write = partial(
                self._save_network,
                step=step,
                env_steps=env_steps,
                evaluation=evaluation,
                agent=agent,
            )
            hook.after_update(step, folder, write)

    def _serve(self, step: int) -> None:
        """Between updates: apply the GUI's commands, then answer a snapshot request."""
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                break
            command(self.pipeline)
        if self._snapshot_wanted.is_set():
            self._snapshot_wanted.clear()
            self._emit("snapshot", step, **self.pipeline.snapshot(self.shown_instances))

    def evaluate(self, episodes: int | None = None) -> dict[str, float]:
        """Test the network's own actions on fresh episodes (the same ones at every test)."""
        trainer = self.pipeline.trainer
        count = episodes or trainer.budget.eval_episodes
        evaluation = self.pipeline.evaluate(trainer.policy, count, self.eval_seed)
        summary = evaluation.summary()
        for name, theirs in evaluation.agents.items():  # other agents, each from its side
            own = theirs.summary()
            summary.update({f"{name}:{k}": v for k, v in own.items() if k != "episodes"})
        return summary

    # -- outputs ---------------------------------------------------------------------------

    def _emit(self, kind: EventKind, step: int, **data: Any) -> None:
        self.events.emit(Event(kind, step, data))

    def _checkpoint(self, step: int, env_steps: int, elapsed_s: float) -> None:
        if self.out_dir is None:
            return
        folder = self.out_dir / "checkpoints"
        path = folder / f"ckpt-{step:08d}{SUFFIX}"
        # Metrics first: a kill between the two leaves rows past the newest checkpoint, which a
        # resume drops, never a gap before it.
        self._write_metrics()
        with self._writing(path, step):
            folder.mkdir(parents=True, exist_ok=True)
            save_checkpoint(
                path, self.pipeline, step=step, env_steps=env_steps, elapsed_s=elapsed_s
            )
        self.last_checkpoint = path
        if path not in self._written:
            self._written.append(path)
        while len(self._written) > self.keep_checkpoints:  # only ever this run's own files
            self._written.pop(0).unlink(missing_ok=True)
        self._emit("checkpoint", step, path=str(path))

    def _record(
        self, step: int, env_steps: int, elapsed_s: float, metrics: dict[str, float]
    ) -> None:
        self.rows.append(
            {"step": step, "env_steps": env_steps, "elapsed_s": round(elapsed_s, 3), **metrics}
        )

    def _write_metrics(self) -> None:
        if self.out_dir is None or not self.rows:
            return
        fields = list(dict.fromkeys(k for row in self.rows for k in row))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fields)
        writer.writeheader()
        writer.writerows(self.rows)
        path = self.out_dir / "metrics.csv"
        with self._writing(path, int(self.rows[-1]["step"])):
            self.out_dir.mkdir(parents=True, exist_ok=True)
            write_text_atomic(buffer.getvalue(), path)

    def _reload_metrics(self, step: int) -> None:
        """Keep the rows an interrupted run had written up to its checkpoint."""
        path = self.out_dir / "metrics.csv" if self.out_dir else None
        if path is None or not path.is_file():
            return
        with path.open(newline="") as handle:
            self.rows = [
                {k: v for k, v in row.items() if v != ""}
                for row in csv.DictReader(handle)
                if row.get("step", "").isdigit() and int(row["step"]) <= step
            ]


def _eval_key(key: str) -> str:
    """A test's figure as a metric: ``eval/success_rate``; another agent's after its id,
    ``red_teach:eval/success_rate``."""
    agent, colon, figure = key.rpartition(":")
    return f"{agent}{colon}eval/{figure}"


def network_file(pipeline: Pipeline, agent: Agent) -> str:
    """The name of an agent's network file in the run folder: ``network.atrapnet`` for the
    first (the only one, in a graph of one agent), ``network-<its network's id>.atrapnet``
    for each other."""
    if agent is pipeline.agents[0]:
        return "network.atrapnet"
    return f"network-{agent.network_id}.atrapnet"


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads deliberately (one per process is often fastest for
    small networks); returns the count in use."""
    if threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()
