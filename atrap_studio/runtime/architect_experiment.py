"""Does the NN Architect earn its keep? Growing networks against fixed ones, at equal updates.

Every contender trains the same graph (the arm example by default; any graph with an NN
Factory) for the same number of updates over several seeds, differing only in its network:
three fixed sizes, a network that grows on a schedule (every ``every`` updates) and one that
the Kalman architect grows and shrinks. Each is tested every ``test_every`` updates on the
same fresh episodes; CPU time counts the updates and the architect's decisions, not the tests.

The issue's bar: the architect ends within 10% of the best fixed network's error, with at most
half its parameters and no more CPU time; at the least it matches the medium one.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import AtrapError
from atrap_studio.core.outcome import Outcome
from atrap_studio.core.yaml_io import write_text_atomic
from atrap_studio.nodes import builtin_registry
from atrap_studio.runtime.architect.surgery import hidden_widths
from atrap_studio.runtime.pipeline import Pipeline

#: Test episodes: the same for every contender, seed and test.
TEST_SEED = 13
#: Within this share of the best error counts as as good (the issue's 10%).
TOLERANCE = 0.10


@dataclass(frozen=True)
class Contender:
    name: str
    hidden: tuple[int, ...]
    grow: str  # off, schedule or kalman


@dataclass(frozen=True)
class Setup:
    """The budget every contender gets, and the sizes compared."""

    seeds: int = 3
    updates: int = 3000
    #: Scene instances, when not the graph's.
    instances: int | None = None
    test_every: int = 250
    test_episodes: int = 1024
    final_episodes: int = 4096
    small: tuple[int, ...] = (32, 32)
    medium: tuple[int, ...] = (128, 128)
    #: The arm example's own network: a wider one needs a lower rate than the example's 0.02
    #: ([256, 256, 256] diverged there), and every contender trains at the graph's rate.
    large: tuple[int, ...] = (128, 128, 128)
    #: Updates between two changes of a growing network (the NN Factory's grow_every).
    every: int = 200
    #: The error a growing network aims for, in the scene's units (0: none).
    target: float = 0.0
    #: Share of a layer's width one change adds or removes.
    step: float = 0.25
    #: The widest a growing network's layers may become (None: the large network's widest);
    #: past it a growing network adds a layer, up to the large network's depth.
    max_width: int | None = None

    def contenders(self) -> list[Contender]:
        def words(hidden: tuple[int, ...]) -> str:
            return "[" + ", ".join(str(w) for w in hidden) + "]"

        return [
            Contender(f"fixed small {words(self.small)}", self.small, "off"),
            Contender(f"fixed medium {words(self.medium)}", self.medium, "off"),
            Contender(f"fixed large {words(self.large)}", self.large, "off"),
            Contender(f"schedule from {words(self.small)}", self.small, "schedule"),
            Contender(f"Kalman architect from {words(self.small)}", self.small, "kalman"),
        ]

    def check(self) -> None:
        """Refuse budgets that cannot answer the question, naming the option."""
        if min(self.seeds, self.updates, self.test_every, self.every) < 1:
            raise AtrapError("seeds, updates, test-every and every must each be at least 1")
        if self.every < 3:
            raise AtrapError(f"every must be at least 3 updates, got {self.every}")
        if self.instances is not None and self.instances < 1:
            raise AtrapError(f"instances must be at least 1, got {self.instances}")
        if min(self.test_episodes, self.final_episodes) < 1:
            raise AtrapError("the tests need at least one episode")
        if self.test_every > self.updates:
            raise AtrapError(
                f"test-every ({self.test_every}) is more than the updates ({self.updates})"
            )
        for name in ("small", "medium", "large"):
            hidden = getattr(self, name)
            if not hidden or min(hidden) < 1:
                raise AtrapError(f"the {name} network needs neurons in every layer: {hidden}")
        if not 0.0 < self.step <= 1.0:
            raise AtrapError(f"the step is a share of a layer in (0, 1], got {self.step}")
        if self.max_width is not None and self.max_width < max(self.small):
            raise AtrapError(
                f"max width {self.max_width} is below the small network's {max(self.small)}"
            )
        if not (math.isfinite(self.target) and self.target >= 0):
            raise AtrapError(f"the target error must be 0 or more, got {self.target}")


@dataclass
class Trial:
    """One contender with one seed: its test curve and where it ended."""

    contender: str
    seed: int
    #: (updates, CPU seconds, median score, share succeeded, parameters)
    curve: list[tuple[int, float, float, float, int]] = field(default_factory=list)
    final_median: float = 0.0
    final_success: float = 0.0
    parameters: int = 0
    mean_parameters: float = 0.0
    cpu_s: float = 0.0
    hidden: list[int] = field(default_factory=list)
    changes: int = 0
    #: A growing network's decisions: update, action, reason, what was done, widths after.
    decisions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Summary:
    """A contender over its seeds (means)."""

    contender: str
    final_median: float
    final_success: float
    parameters: float
    mean_parameters: float
    cpu_s: float
    #: CPU seconds until a test first came within 10% of the best fixed network's final error,
    #: over the seeds that got there, and how many did.
    cpu_to_target: float | None
    reached: int
    seeds: int


@dataclass
class Result:
    setup: Setup
    outcome: Outcome
    trials: list[Trial] = field(default_factory=list)

    def _better(self, a: float, b: float) -> bool:
        return a < b if self.outcome.score.better == "lower" else a > b

    def _within(self, value: float, best: float) -> bool:
        """Whether ``value`` is as good as ``best`` up to the tolerance."""
        slack = TOLERANCE * abs(best)
        return (
            value <= best + slack if self.outcome.score.better == "lower" else value >= best - slack
        )

    def best_fixed(self) -> Summary | None:
        fixed = [s for s in self._plain_summaries() if s.contender.startswith("fixed")]
        best = None
        for row in fixed:
            if best is None or self._better(row.final_median, best.final_median):
                best = row
        return best

    def _plain_summaries(self) -> list[Summary]:
        out = []
        for contender in self.setup.contenders():
            mine = [t for t in self.trials if t.contender == contender.name]
            if mine:
                out.append(
                    Summary(
                        contender.name,
                        statistics.mean(t.final_median for t in mine),
                        statistics.mean(t.final_success for t in mine),
                        statistics.mean(t.parameters for t in mine),
                        statistics.mean(t.mean_parameters for t in mine),
                        statistics.mean(t.cpu_s for t in mine),
                        None,
                        0,
                        len(mine),
                    )
                )
        return out

    def summaries(self) -> list[Summary]:
        """Each contender's means, with its CPU time to the best fixed network's error."""
        best = self.best_fixed()
        rows = self._plain_summaries()
        if best is None:
            return rows
        for row in rows:
            times = []
            for trial in (t for t in self.trials if t.contender == row.contender):
                hit = next((c for c in trial.curve if self._within(c[2], best.final_median)), None)
                if hit is not None:
                    times.append(hit[1])
            row.reached = len(times)
            row.cpu_to_target = statistics.mean(times) if times else None
        return rows

    def table(self) -> str:
        """Each contender over its seeds, as a Markdown table."""
        score = self.outcome.score
        unit = f" ({score.unit})" if score.unit else ""
        lines = [
            f"| network | final median {score.name}{unit} | succeeded | parameters at the end "
            "| mean parameters | CPU s | CPU s to the best fixed error (+10%) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for s in self.summaries():
            some = "" if s.reached == s.seeds else f" ({s.reached} of {s.seeds} seeds)"
            to_target = f"{s.cpu_to_target:.1f}{some}" if s.cpu_to_target is not None else "—"
            lines.append(
                f"| {s.contender} | {s.final_median:.2f} | {s.final_success:.1%} | "
                f"{s.parameters:,.0f} | {s.mean_parameters:,.0f} | {s.cpu_s:.1f} | {to_target} |"
            )
        return "\n".join(lines)

    def verdict(self) -> str:
        """Plain sentences on the issue's bar, whatever the numbers say."""
        rows = {s.contender: s for s in self.summaries()}
        contenders = self.setup.contenders()
        best = self.best_fixed()
        kalman = rows.get(contenders[4].name)
        medium = rows.get(contenders[1].name)
        if best is None or kalman is None or medium is None:
            return "Not every contender ran: no verdict."
        unit = f" {self.outcome.score.unit}" if self.outcome.score.unit else ""
        error_ok = self._within(kalman.final_median, best.final_median)
        size_ok = kalman.parameters <= 0.5 * best.parameters
        cpu_ok = kalman.cpu_s <= best.cpu_s
        met = error_ok and size_ok and cpu_ok
        parts = [
            f"The Kalman architect ended at {kalman.final_median:.2f}{unit} against "
            f"{best.final_median:.2f}{unit} for the best fixed network ({best.contender}): "
            f"{'within' if error_ok else 'not within'} 10%",
            f"with {kalman.parameters:,.0f} parameters against {best.parameters:,.0f} "
            f"({'at most' if size_ok else 'more than'} half)",
            f"in {kalman.cpu_s:.1f} CPU s against {best.cpu_s:.1f} "
            f"({'no more' if cpu_ok else 'more'})",
        ]
        head = "The bar is met" if met else "The bar is not met"
        versus_medium = (
            "it matches the medium network"
            if self._within(kalman.final_median, medium.final_median)
            else f"it does not match the medium network ({medium.final_median:.2f}{unit})"
        )
        return f"{head}. " + "; ".join(parts) + f"; {versus_medium}."

    def save(self, folder: Path) -> None:
        data = {
            "setup": asdict(self.setup),
            "trials": [asdict(t) for t in self.trials],
            "summaries": [asdict(s) for s in self.summaries()],
            "verdict": self.verdict(),
        }
        write_text_atomic(json.dumps(data, indent=1), folder / "architect.json")
        write_text_atomic(self.table() + "\n", folder / "architect.md")


def contender_graph(doc: GraphDocument, setup: Setup, contender: Contender) -> GraphDocument:
    """``doc`` with the contender's network and the experiment's budget (no early stop)."""
    changed = doc.model_copy(deep=True)
    widest = setup.max_width or max(max(setup.large), max(setup.small))
    for node in changed.nodes:
        if node.type.startswith("scene.") and setup.instances is not None:
            node.props["instances"] = setup.instances
        elif node.type == "nn.factory":
            node.props.update(
                hidden=list(contender.hidden),
                grow=contender.grow,
                grow_every=setup.every,
                grow_target=setup.target,
                grow_step=setup.step,
                grow_max_width=widest,
                grow_max_layers=max(len(setup.large), len(setup.small)),
            )
        elif node.type.startswith("trainer."):
            node.props.update(steps=setup.updates, goal_success_rate=0.0)
    return changed


def run(
    doc: GraphDocument,
    setup: Setup,
    folder: Path,
    say: Callable[[str], None] = print,
) -> Result:
    """Train every contender with every seed; results also go to ``folder`` as they come."""
    setup.check()
    factories = [n for n in doc.nodes if n.type == "nn.factory"]
    if len(factories) != 1:
        raise AtrapError(
            "the architect experiment compares networks an NN Factory builds: give it a graph "
            f"with exactly one NN Factory (this one has {len(factories)})"
        )
    folder.mkdir(parents=True, exist_ok=True)
    registry = builtin_registry()
    result: Result | None = None
    for seed in range(setup.seeds):
        for contender in setup.contenders():
            pipeline = Pipeline(contender_graph(doc, setup, contender), registry, seed=seed)
            if result is None:
                result = Result(setup, pipeline.outcome)
            trial = _train(pipeline, setup, contender.name, seed)
            result.trials.append(trial)
            say(
                f"seed {seed}, {contender.name}: final median {trial.final_median:.2f}, "
                f"{trial.final_success:.1%} succeeded, {trial.parameters:,} parameters "
                f"(hidden {trial.hidden}, {trial.changes} changes), {trial.cpu_s:.1f} CPU s"
            )
            result.save(folder)
    assert result is not None
    return result


def _train(pipeline: Pipeline, setup: Setup, name: str, seed: int) -> Trial:
    """One run, tested every ``test_every`` updates; CPU time counts updates and decisions."""
    trainer, architect = pipeline.trainer, pipeline.architect
    key = pipeline.outcome.summary_keys()[0]
    trial = Trial(name, seed)
    trainer.plan(setup.updates)
    cpu = 0.0
    weighted = 0.0
    for step in range(setup.updates):
        started = time.process_time()
        metrics = trainer.step(step)
        if architect is not None:
            architect.after_update(metrics)
        cpu += time.process_time() - started
        weighted += pipeline.owner.parameters
        done = step + 1
        if done % setup.test_every == 0 or done == setup.updates:
            test = pipeline.evaluate(trainer.policy, setup.test_episodes, TEST_SEED).summary()
            count = pipeline.owner.parameters
            trial.curve.append((done, cpu, test[key], test["success_rate"], count))
    final = pipeline.evaluate(trainer.policy, setup.final_episodes, TEST_SEED).summary()
    trial.final_median = final[key]
    trial.final_success = final["success_rate"]
    trial.parameters = pipeline.owner.parameters
    trial.mean_parameters = weighted / setup.updates
    trial.cpu_s = cpu
    trial.hidden = hidden_widths(pipeline.architecture)
    trial.changes = pipeline.owner.revision
    trial.decisions = list(architect.changes) if architect is not None else []
    return trial
