"""Does helping the network help? Ways of choosing an arm's targets, at equal budgets.

Every contender trains the same graph (the arm example by default) for the same number of
updates on the same instances, over several seeds; only where the targets come from differs:
anywhere in reach (the baseline), near the tip first and wider as the run goes (the scene's
``near_effector`` curriculum), placed by a scripted person who drags them near the tip and
further as the network succeeds (:class:`~atrap_studio.runtime.dragging_helper.DraggingHelper`),
and, given a run's ``drags.csv``, held where a real person held them in the editor, at the same
updates (:class:`~atrap_studio.runtime.drag_replay.DragReplay`). All are tested on the same
fresh targets from anywhere in reach.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import AtrapError
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import write_text_atomic
from atrap_studio.nodes import builtin_registry
from atrap_studio.runtime.arm_scene import ArmScene
from atrap_studio.runtime.drag_log import Drag, read_drags
from atrap_studio.runtime.drag_replay import DragReplay
from atrap_studio.runtime.dragging_helper import DraggingHelper
from atrap_studio.runtime.pipeline import Pipeline

REPLAYED = "person's drags (replayed)"
#: The contenders, in the order they are run and shown: name, scene target mode, whose hand
#: moves targets (none, the scripted helper, or the replayed drags: only given a drags file).
CONTENDERS = (
    ("random targets", "random_in_reach", None),
    ("near-effector curriculum", "near_effector", None),
    ("scripted helper", "random_in_reach", "helper"),
    (REPLAYED, "random_in_reach", "drags"),
)
#: What a run without a drags file leaves out.
NO_DRAGS = (
    "a person's drags: no drags file given (--drags RUN_FOLDER/drags.csv replays those the "
    "editor recorded while a person Ctrl+dragged targets during a run)"
)
#: Test targets: the same for every contender, seed and test.
TEST_SEED = 11


@dataclass(frozen=True)
class Setup:
    """The budget every contender gets, and how often it is tested."""

    seeds: int = 3
    updates: int = 3000
    instances: int = 1024
    test_every: int = 100
    test_episodes: int = 1024
    final_episodes: int = 4096
    goal: float = 0.9
    #: The network's hidden layers, when not the graph's (a smaller one to fit a slow machine).
    hidden: tuple[int, ...] | None = None
    #: What counts as reached, when not the graph's own success radius (mm).
    success_mm: float | None = None
    #: A run's ``drags.csv`` to replay as a contender (``None``: that contender is left out).
    drags: str | None = None

    def check(self) -> None:
        """Refuse budgets that cannot answer the question, naming the option."""
        if min(self.seeds, self.updates, self.instances, self.test_every) < 1:
            raise AtrapError("seeds, updates, instances and test-every must each be at least 1")
        if min(self.test_episodes, self.final_episodes) < 1:
            raise AtrapError("the tests need at least one episode")
        if not 0 < self.goal <= 1:
            raise AtrapError(f"the goal is a share of targets reached in (0, 1], got {self.goal}")
        if self.success_mm is not None and not 0 < self.success_mm <= 10_000:
            raise AtrapError(f"the success radius must be in (0, 10000] mm, got {self.success_mm}")
        if self.hidden is not None and (not self.hidden or min(self.hidden) < 1):
            raise AtrapError(f"hidden layers need at least one neuron each, got {self.hidden}")
        if self.test_every > self.updates:
            raise AtrapError(
                f"test-every ({self.test_every}) is more than the updates ({self.updates}): the "
                "run would be tested only at its end, so no time to the goal could be measured"
            )


@dataclass
class Trial:
    """One contender with one seed: its test curve and where it ended."""

    contender: str
    seed: int
    #: (updates, training seconds, share of test targets reached, median error in mm)
    curve: list[tuple[int, float, float, float]] = field(default_factory=list)
    updates_to_goal: int | None = None
    seconds_to_goal: float | None = None
    final_median_mm: float = 0.0
    final_p95_mm: float = 0.0
    final_success: float = 0.0
    seconds: float = 0.0
    helper_seconds: float = 0.0
    note: str = ""


@dataclass
class Summary:
    """A contender over all seeds; times to the goal are means over the seeds that reached it."""

    contender: str
    reached: int
    seeds: int
    mean_updates_to_goal: float | None
    mean_seconds_to_goal: float | None
    final_median_mm: float
    final_success: float


@dataclass
class Result:
    setup: Setup
    trials: list[Trial] = field(default_factory=list)

    @property
    def left_out(self) -> str | None:
        return NO_DRAGS if self.setup.drags is None else None

    def summaries(self) -> list[Summary]:
        out = []
        for name, _, _ in CONTENDERS:
            mine = [t for t in self.trials if t.contender == name]
            if not mine:
                continue
            hits = [t for t in mine if t.updates_to_goal is not None]
            out.append(
                Summary(
                    name,
                    len(hits),
                    len(mine),
                    statistics.mean(t.updates_to_goal or 0 for t in hits) if hits else None,
                    statistics.mean(t.seconds_to_goal or 0.0 for t in hits) if hits else None,
                    statistics.mean(t.final_median_mm for t in mine),
                    statistics.mean(t.final_success for t in mine),
                )
            )
        return out

    def table(self) -> str:
        """Each contender over its seeds, as a Markdown table."""
        goal = f"{self.setup.goal:.0%}"
        lines = [
            f"| targets | seeds reaching {goal} | updates to {goal} | seconds to {goal} | "
            "final median error (mm) | final within success radius |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for s in self.summaries():
            some = "" if s.reached == s.seeds else f" ({s.reached} of {s.seeds} seeds)"
            updates = f"{s.mean_updates_to_goal:,.0f}{some}" if s.mean_updates_to_goal else "—"
            seconds = f"{s.mean_seconds_to_goal:.1f}{some}" if s.mean_seconds_to_goal else "—"
            lines.append(
                f"| {s.contender} | {s.reached} of {s.seeds} | {updates} | {seconds} | "
                f"{s.final_median_mm:.2f} | {s.final_success:.1%} |"
            )
        return "\n".join(lines)

    def verdict(self) -> str:
        """One plain sentence, whatever the numbers say."""
        rows = self.summaries()
        base, others = rows[0], rows[1:]
        goal = f"{self.setup.goal:.0%} of the test targets"
        if self.setup.success_mm is not None:
            goal += f" within {self.setup.success_mm:g} mm"
        clauses, better, worse = [], 0, 0
        for row in others:
            sign, clause = _compare(row, base, goal)
            better += sign > 0
            worse += sign < 0
            clauses.append(clause)
        if better and not worse:
            head = "Yes, helping helped"
        elif worse and not better:
            head = "No, helping did not help"
        elif better:
            head = "It depends on the help"
        else:
            head = "Helping made no clear difference"
        seeds = self.setup.seeds
        over = f"{seeds} seeds each, equal updates" if seeds > 1 else "one seed, equal updates"
        return f"{head}: " + "; ".join(clauses) + f" ({over})."

    def save(self, folder: Path) -> None:
        data = {
            "setup": asdict(self.setup),
            "left_out": self.left_out,
            "trials": [asdict(t) for t in self.trials],
            "summaries": [asdict(s) for s in self.summaries()],
            "verdict": self.verdict() if len(self.summaries()) > 1 else None,
        }
        write_text_atomic(json.dumps(data, indent=1), folder / "help-the-network.json")
        write_text_atomic(self.table() + "\n", folder / "help-the-network.md")


def _compare(row: Summary, base: Summary, goal: str) -> tuple[int, str]:
    """Whether ``row`` did better (+1), worse (-1) or about as well (0) as ``base``, and why.

    Time to the goal decides when both reached it with every seed; else reaching it more
    often; else the final error. Within 10% counts as the same.
    """
    name = row.contender
    ended = (
        f"ended at {row.final_median_mm:.1f} mm median error against {base.final_median_mm:.1f} mm"
    )
    every = row.reached == row.seeds and base.reached == base.seeds
    if every and row.mean_updates_to_goal and base.mean_updates_to_goal:
        ratio = row.mean_updates_to_goal / base.mean_updates_to_goal
        sign = 1 if ratio < 0.9 else -1 if ratio > 1.1 else 0
        return sign, (
            f"the {name} reached {goal} in {row.mean_updates_to_goal:,.0f} updates against "
            f"{base.mean_updates_to_goal:,.0f} for random targets, and {ended}"
        )
    if row.reached != base.reached:
        sign = 1 if row.reached > base.reached else -1
        return sign, (
            f"the {name} reached {goal} with {row.reached} of {row.seeds} seeds against "
            f"{base.reached} for random targets, and {ended}"
        )
    ratio = row.final_median_mm / base.final_median_mm
    sign = 1 if ratio < 0.9 else -1 if ratio > 1.1 else 0
    return sign, f"the {name} {ended} for random targets"


def contender_graph(doc: GraphDocument, setup: Setup, target: str) -> GraphDocument:
    """``doc`` with the experiment's budget and target mode (no early stop, no files)."""
    changed = doc.model_copy(deep=True)
    for node in changed.nodes:
        if node.type == "scene.robot_arm":
            node.props.update(instances=setup.instances, target=target)
            if setup.success_mm is not None:
                node.props["success_mm"] = setup.success_mm
        elif node.type == "nn.factory" and setup.hidden:
            node.props["hidden"] = list(setup.hidden)
        elif node.type.startswith("trainer."):
            explore = node.props.get("explore_steps", 300)
            node.props.update(steps=setup.updates, goal_success_rate=0.0)
            if isinstance(explore, int):  # random moves for at most a tenth of the budget
                node.props["explore_steps"] = min(explore, setup.updates // 10)
    return changed


def run(
    doc: GraphDocument,
    setup: Setup,
    folder: Path,
    say: Callable[[str], None] = print,
) -> Result:
    """Train every contender with every seed; results also go to ``folder`` as they come.

    Everything is checked first (the graph, and the drags file against its arm and the budget),
    so that nothing is trained or written for an experiment that cannot be answered.
    """
    setup.check()
    arms = [n for n in doc.nodes if n.type == "scene.robot_arm"]
    trainers = [n for n in doc.nodes if n.type.startswith("trainer.")]
    if not arms or not trainers or trainers[0].type != "trainer.direct":
        raise AtrapError(
            "help-the-network compares ways of choosing a robot arm's targets: give it a graph "
            "with a robot arm and the direct trainer (the default is the shipped example)"
        )
    regions = arms[0].props.get("regions", 1)
    if isinstance(regions, int) and regions > 1:
        raise AtrapError(
            f"the arm '{arms[0].id}' trains on a region of its workspace; the experiment needs "
            "the whole world (regions: 1)"
        )
    registry = builtin_registry()
    drags = [] if setup.drags is None else _drags_for(doc, setup, Path(setup.drags), registry)
    folder.mkdir(parents=True, exist_ok=True)
    result = Result(setup)
    for seed in range(setup.seeds):
        for name, target, hand in CONTENDERS:
            if hand == "drags" and not drags:
                continue
            pipeline = Pipeline(contender_graph(doc, setup, target), registry, seed=seed)
            trial = _train(pipeline, setup, name, seed, hand, drags)
            result.trials.append(trial)
            reached = (
                f"{setup.goal:.0%} at update {trial.updates_to_goal:,} "
                f"({trial.seconds_to_goal:.1f} s)"
                if trial.updates_to_goal is not None
                else f"{setup.goal:.0%} not reached"
            )
            say(
                f"seed {seed}, {name}: {reached}; final {trial.final_median_mm:.2f} mm median, "
                f"{trial.final_success:.1%} reached"
            )
            result.save(folder)
    return result


def _drags_for(doc: GraphDocument, setup: Setup, path: Path, registry: Registry) -> list[Drag]:
    """The drags file's rows, refused by line if one cannot be replayed in this experiment."""
    drags = read_drags(path)
    if not drags:
        raise AtrapError(f"{path} holds no drags: there is nothing to replay")
    scene = Pipeline(contender_graph(doc, setup, "random_in_reach"), registry).scene
    assert isinstance(scene, ArmScene)  # checked by run(): the graph's scene is the arm
    reach = scene.geometry.reach
    for drag in drags:
        where = f"{path}, line {drag.line}"
        if drag.update >= setup.updates:
            raise AtrapError(
                f"{where}: the target was put at update {drag.update:,}, beyond the "
                f"experiment's {setup.updates:,} updates (give --updates {drag.update + 1} or "
                "more, or leave out the later rows)"
            )
        distance = math.hypot(*drag.position)
        if distance > reach:
            x, y, z = drag.position
            raise AtrapError(
                f"{where}: the target ({x:g}, {y:g}, {z:g}) m is {distance:.3g} m from the "
                f"arm's base, beyond its reach of {reach:.3g} m (recorded with another arm?)"
            )
    return drags


def _train(
    pipeline: Pipeline, setup: Setup, name: str, seed: int, hand: str | None, drags: list[Drag]
) -> Trial:
    """One training run, tested every ``test_every`` updates.

    Seconds count the trainer's updates only: not the tests, and not the placing of targets by
    the scripted person or the replayed drags (a person's hand costs the network nothing; it
    is kept apart in ``helper_seconds``).
    """
    scene, trainer = pipeline.scene, pipeline.trainer
    assert isinstance(scene, ArmScene)  # checked by run(): the graph's scene is the arm
    helper = (
        DraggingHelper(pipeline, let_go_m=scene.geometry.reach, seed=seed)
        if hand == "helper"
        else None
    )
    replay = DragReplay(pipeline, drags, setup.updates) if hand == "drags" else None
    curriculum = scene.target_mode == "near_effector"
    trial = Trial(name, seed)
    trainer.plan(setup.updates)
    training = 0.0
    for step in range(setup.updates):
        if curriculum:
            scene.progress = step / setup.updates
        started = time.perf_counter()
        if helper is not None:
            helper.before_update()
        if replay is not None:
            replay.before_update(step)
        trial.helper_seconds += time.perf_counter() - started
        started = time.perf_counter()
        metrics = trainer.step(step)
        training += time.perf_counter() - started
        if helper is not None:
            helper.after_update(step + 1, float(metrics["scene/success_rate"]))
        done = step + 1
        if done % setup.test_every == 0 or done == setup.updates:
            test = pipeline.evaluate(trainer.policy, setup.test_episodes, TEST_SEED).summary()
            trial.curve.append((done, training, test["success_rate"], test["median_error_mm"]))
            if trial.updates_to_goal is None and test["success_rate"] >= setup.goal:
                trial.updates_to_goal, trial.seconds_to_goal = done, training
    final = pipeline.evaluate(trainer.policy, setup.final_episodes, TEST_SEED).summary()
    trial.final_median_mm = final["median_error_mm"]
    trial.final_p95_mm = final["p95_error_mm"]
    trial.final_success = final["success_rate"]
    trial.seconds = training
    if helper is not None:
        let_go = f"let go at update {helper.let_go_at:,}" if helper.let_go_at else "never let go"
        trial.note = f"moved targets further {len(helper.widened_at)} times, {let_go}"
    if replay is not None:
        share = replay.held_arm_updates / (setup.updates * setup.instances)
        trial.note = (
            f"replayed {len(drags):,} held targets on {len(replay.arms)} of "
            f"{setup.instances:,} arms: {replay.held_arm_updates:,} arm-updates held, "
            f"{share:.2%} of all"
        )
    return trial
