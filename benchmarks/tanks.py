"""The tank arena: how fast the scene steps with its camera, and how fast the example learns.

Two measurements in one run:

1. Throughput: the arena with the agent's camera (``--rays`` rays), a scripted wanderer, the
   example's status sensor and rewards, stepped through the compiled graph with a fixed move
   (no network), on 1 and on 2 torch threads. Goal (issue 13): ≥ 100,000 env-steps/s at
   1,024 arenas on 2 cores. With ``--before REVISION`` the plug-in as it was at that git
   revision is timed too, taking turns with the code as it is, and the ratio printed.
2. Learning: the shipped PPO example for each ``--opponents`` level (``tanks_camera_ppo``
   against the wanderer, ``tanks_hunter_ppo`` against the hunter) trained from the camera
   for ``--budget`` seconds of training on one thread, tested every ``--test-every`` seconds
   on ``--games`` fresh fights with the greedy network (the clock paused while testing).
   Prints the win rate over time and the time to the issue's goals (90% against the
   wanderer, 60% against the hunter), and draws the curves into ``--chart``.
3. Difficulty: each trained network against its opponent again at five difficulty levels of
   play mode's handicap (late moves, lapses; ``nodes/scenes/tanks/play.py``), ``--games``
   fights each. Goal (issue 13): against the hunter the win rate falls monotonically as the
   difficulty is lowered, over at least 60 percentage points.

With ``--sees image`` (or ``both``, side by side) the camera's picture goes into the NN
Factory's convolution layers instead of its strip into the perceptron. With ``--self-play S``
the self-play example trains for S seconds and is then tested against each scripted opponent.

    .venv/bin/python benchmarks/tanks.py [--instances 1024] [--rays 64] [--seconds 3]
        [--before REVISION]
        [--opponents wanderer hunter] [--sees strip|image|both] [--self-play SECONDS]
        [--budget 600] [--test-every 30] [--games 200]
        [--chart docs/images/tanks-learning.png] [--json PATH]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from code_at import package_at
from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.core.document import Endpoint, GraphDocument
from atrap_studio.core.editing import connect, disconnect
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes import builtin_registry
from atrap_studio.nodes.scenes.tanks.play import Handicap
from atrap_studio.nodes.specs import CATALOGUE
from atrap_studio.runtime.pipeline import Pipeline

GOALS = {"wanderer": 0.9, "hunter": 0.6, "idle": 0.9}
DIFFICULTIES = (1.0, 0.75, 0.5, 0.25, 0.0)
COLOURS = {"wanderer": "#3a78c2", "hunter": "#d9452b", "idle": "#4a9a4a"}


#: The shipped example that learns against each opponent.
EXAMPLES = {
    "wanderer": "tanks_camera_ppo",
    "hunter": "tanks_hunter_ppo",
    "idle": "tanks_camera_ppo",
}


def example(
    opponent: str, instances: int | None = None, rays: int | None = None, *, sees: str = "strip"
) -> GraphDocument:
    """The example for ``opponent``; ``sees="image"`` links the camera's picture into the
    factory's convolution layers instead of its strip into the perceptron."""
    doc = load_graph(example_path(EXAMPLES[opponent]))
    if sees == "image":
        registry = builtin_registry()
        doc = disconnect(
            doc, Endpoint(node="eye", port="value"), Endpoint(node="brain", port="state")
        )
        doc = connect(
            doc, registry, Endpoint(node="eye", port="image"), Endpoint(node="brain", port="image")
        )
    arena, camera = doc.node("arena"), doc.node("eye")
    assert arena is not None and camera is not None
    arena.props["opponent"] = opponent
    if instances is not None:
        arena.props["instances"] = instances
    if rays is not None:
        camera.props["rays"] = rays
    return doc


PLUGIN = "atrap_studio.nodes.scenes.tanks"


def registry_of(plugin: str | None) -> Registry:
    """The built-in registry, its tank nodes implemented by ``plugin`` (None: as they are)."""
    if plugin is None:
        return builtin_registry()
    return Registry(
        replace(spec, impl=spec.impl.replace(PLUGIN, plugin, 1))
        if spec.impl.startswith(PLUGIN + ".")
        else spec
        for spec in CATALOGUE
    )


class Stepper:
    """The arena, its sensors and rewards stepped through the compiled graph with a fixed move
    (no network): what one env-step of the scene costs."""

    def __init__(self, instances: int, rays: int, registry: Registry) -> None:
        self.pipeline = Pipeline(example("wanderer", instances, rays), registry, seed=0)
        self.instances = instances
        self.move = torch.full((instances, 8), -1.0)
        self.move[:, 5] = 1.0  # forward and left: the tanks keep meeting walls, pillars, shells

    def run(self, seconds: float) -> tuple[int, float]:
        """Steps for ``seconds`` (at least 3), then (env-steps, seconds taken)."""
        pipeline, scene = self.pipeline, self.pipeline.scene
        count, start = 0, time.perf_counter()
        with torch.no_grad():
            while count < 3 or time.perf_counter() - start < seconds:
                scene.begin_step()
                pipeline.observe(scene)
                pipeline.act(scene, self.move)
                pipeline.rewards(scene)
                count += 1
        return count * self.instances, time.perf_counter() - start


def throughput(
    instances: int, rays: int, seconds: float, threads: int, before: str | None = None
) -> tuple[float, float | None]:
    """Env-steps per second now, and with the plug-in package ``before`` (None: not timed).

    The two take turns in six windows each, so that a machine shared with other work loads
    both alike.
    """
    torch.set_num_threads(threads)
    steppers = {"now": Stepper(instances, rays, registry_of(None))}
    if before is not None:
        steppers["before"] = Stepper(instances, rays, registry_of(before))
    rounds = 6 if before is not None else 1
    totals = {name: [0, 0.0] for name in steppers}
    for _ in range(rounds):
        for name, stepper in steppers.items():
            steps, taken = stepper.run(seconds / rounds)
            totals[name][0] += steps
            totals[name][1] += taken
    rates = {name: steps / taken for name, (steps, taken) in totals.items()}
    return rates["now"], rates.get("before")


@dataclass
class Curve:
    opponent: str
    sees: str = "strip"
    points: list[tuple[float, int, float]] = field(default_factory=list)  # seconds, steps, wins
    #: win rate of the trained network at each of DIFFICULTIES
    by_difficulty: list[float] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.opponent if self.sees == "strip" else f"{self.opponent} (CNN)"

    def time_to(self, share: float) -> float | None:
        return next((seconds for seconds, _, wins in self.points if wins >= share), None)


def learn(opponent: str, args: argparse.Namespace, sees: str = "strip") -> Curve:
    torch.set_num_threads(1)
    pipeline = Pipeline(example(opponent, sees=sees), builtin_registry(), seed=0)
    trainer = pipeline.trainer
    trainer.plan(trainer.budget.steps)
    curve = Curve(opponent, sees)
    trained, steps, update, next_test = 0.0, 0, 0, args.test_every
    while trained < args.budget:
        start = time.perf_counter()
        trainer.step(update)
        trained += time.perf_counter() - start
        update += 1
        steps += trainer.env_steps_per_update
        if trained >= next_test or trained >= args.budget:
            next_test += args.test_every
            test = pipeline.evaluate(trainer.policy, args.games, seed=10_000 + update)
            wins = float(test.summary()["success_rate"])
            curve.points.append((round(trained, 1), steps, wins))
            print(f"  {curve.label:<9} {trained:7.1f} s {steps:>11,} steps   wins {wins:6.1%}")
    for difficulty in DIFFICULTIES:
        handicap = Handicap(difficulty, torch.Generator().manual_seed(7))
        test = pipeline.evaluate(
            lambda obs, h=handicap: h(pipeline.network(obs)), args.games, seed=20_000
        )
        curve.by_difficulty.append(float(test.summary()["success_rate"]))
    return curve


def self_play(seconds: float, games: int) -> dict[str, float]:
    """Train ``tanks_self_play_ppo`` (the enemy: the network's own past copies) for ``seconds``
    on one thread, then test it against each scripted opponent: what fighting itself taught."""
    torch.set_num_threads(1)
    doc = load_graph(example_path("tanks_self_play_ppo"))
    pipeline = Pipeline(doc, builtin_registry(), seed=0)
    trainer = pipeline.trainer
    trainer.plan(trainer.budget.steps)
    trained, update = 0.0, 0
    while trained < seconds:
        start = time.perf_counter()
        trainer.step(update)
        trained += time.perf_counter() - start
        update += 1
    weights = pipeline.network.state_dict()
    wins = {}
    for opponent in ("idle", "wanderer", "hunter"):
        test_doc = doc.model_copy(deep=True)
        arena = test_doc.node("arena")
        assert arena is not None
        arena.props["opponent"] = opponent
        judge = Pipeline(test_doc, builtin_registry(), seed=0)
        judge.network.load_state_dict(weights)
        test = judge.evaluate(judge.trainer.policy, games, seed=30_000)
        wins[opponent] = float(test.summary()["success_rate"])
    print(
        f"self-play for {trained:.1f} s ({update} updates), then against "
        + ", ".join(f"the {name} {share:.1%}" for name, share in wins.items())
    )
    return wins


def chart(curves: list[Curve], budget: float, path: Path) -> None:
    """Win rate against training time, one line per opponent, goals dashed."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    del app
    width, height, left, bottom, top, right = 900, 420, 70, 50, 40, 160
    image = QtGui.QImage(width, height, QtGui.QImage.Format.Format_RGB32)
    image.fill(QtGui.QColor("white"))
    painter = QtGui.QPainter(image)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    plot = QtCore.QRectF(left, top, width - left - right, height - top - bottom)

    def at(seconds: float, share: float) -> QtCore.QPointF:
        x = plot.left() + plot.width() * seconds / max(budget, 1e-9)
        return QtCore.QPointF(x, plot.bottom() - plot.height() * share)

    painter.setPen(QtGui.QColor("black"))
    painter.drawText(
        QtCore.QRectF(0, 8, width, 24),
        QtCore.Qt.AlignmentFlag.AlignCenter,
        "Tanks from the camera (PPO): share of fights won against training time, 1 thread",
    )
    painter.drawRect(plot)
    for tick in range(0, 101, 20):
        point = at(0, tick / 100)
        painter.drawText(
            QtCore.QRectF(0, point.y() - 10, left - 8, 20),
            QtCore.Qt.AlignmentFlag.AlignRight,
            f"{tick}%",
        )
    for tick in range(5):
        seconds = budget * tick / 4
        point = at(seconds, 0)
        painter.drawText(
            QtCore.QRectF(point.x() - 40, plot.bottom() + 4, 80, 20),
            QtCore.Qt.AlignmentFlag.AlignCenter,
            f"{seconds:.0f} s",
        )
    for index, curve in enumerate(curves):
        colour = QtGui.QColor(COLOURS.get(curve.opponent, "#555555"))
        goal = GOALS.get(curve.opponent)
        if goal is not None:
            painter.setPen(QtGui.QPen(colour, 1, QtCore.Qt.PenStyle.DashLine))
            painter.drawLine(at(0, goal), at(budget, goal))
        style = (
            QtCore.Qt.PenStyle.SolidLine if curve.sees == "strip" else QtCore.Qt.PenStyle.DotLine
        )
        painter.setPen(QtGui.QPen(colour, 2.5, style))
        points = [at(0, 0.0)] + [at(seconds, wins) for seconds, _, wins in curve.points]
        painter.drawPolyline(points)
        painter.drawText(
            QtCore.QPointF(plot.right() + 12, top + 20 + 22 * index),
            f"against the {curve.label}",
        )
    painter.end()
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1024)
    parser.add_argument("--rays", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=3.0, help="per throughput measurement")
    parser.add_argument(
        "--before",
        metavar="REVISION",
        help="also time the tank plug-in as it was at this git revision, taking turns with "
        "the code as it is, and print how many times faster it is now",
    )
    parser.add_argument(
        "--opponents",
        nargs="*",
        default=["wanderer", "hunter"],
        choices=["idle", "wanderer", "hunter"],
    )
    parser.add_argument(
        "--sees",
        choices=["strip", "image", "both"],
        default="strip",
        help="the camera's strip into the perceptron (as shipped), its picture into "
        "convolution layers, or both side by side",
    )
    parser.add_argument("--budget", type=float, default=600.0, help="training seconds each")
    parser.add_argument(
        "--self-play",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="also train the self-play example this long and test it against each opponent",
    )
    parser.add_argument("--test-every", type=float, default=30.0)
    parser.add_argument("--games", type=int, default=200)
    parser.add_argument("--chart", type=Path, default=Path("docs/images/tanks-learning.png"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"arena + {args.rays}-ray camera at {args.instances:,} arenas, graph step, no network"
        f" (load average {load} on {os.cpu_count()} cores)"
    )
    speeds, speeds_before = {}, {}
    with tempfile.TemporaryDirectory(prefix="atrap-tanks-") as folder:
        before = None
        if args.before is not None:
            before = package_at(
                args.before, Path(folder), "nodes/scenes/tanks/", PLUGIN, "tanks_at_"
            )
            print(f"  {'':<9} {'now':>11}              {args.before:>11} (as it was)   now/then")
        for threads in (1, 2):
            now, then = throughput(args.instances, args.rays, args.seconds, threads, before)
            speeds[threads] = now
            label = f"{threads} thread{'s' if threads > 1 else ''}"
            line = f"  {label:<9} {now:>11,.0f} env-steps/s"
            if then is not None:
                speeds_before[threads] = then
                line += f" {then:>11,.0f} env-steps/s {now / then:>14.2f}x"
            print(line)
    verdict = "PASS" if speeds[2] >= 100_000 else "MISS"
    print(f"  {verdict} goal >= 100,000 env-steps/s at 1,024 arenas on 2 cores (2 threads)")

    curves = []
    kinds = ["strip", "image"] if args.sees == "both" else [args.sees]
    for opponent in args.opponents:
        for sees in kinds:
            network = "PPO example" if sees == "strip" else "PPO example, picture into a CNN"
            print(f"learning against the {opponent} ({network}, 1 thread):")
            curves.append(learn(opponent, args, sees))
    for curve in curves:
        goal = GOALS[curve.opponent]
        reached = curve.time_to(goal)
        last = curve.points[-1][2] if curve.points else 0.0
        shown = f"{reached:.1f} s" if reached is not None else "not reached"
        print(f"{curve.label}: {goal:.0%} wins after {shown}; last test {last:.1%}")
    print("difficulty  " + "".join(f"{d:>8.2f}" for d in DIFFICULTIES))
    for curve in curves:
        rates = curve.by_difficulty
        falls = all(a >= b for a, b in itertools.pairwise(rates))
        span = (rates[0] - rates[-1]) * 100
        print(
            f"{curve.label:<11} "
            + "".join(f"{rate:>8.1%}" for rate in rates)
            + f"   {'monotonic' if falls else 'not monotonic'}, span {span:.0f} points"
        )
    trained_by_itself = self_play(args.self_play, args.games) if args.self_play > 0 else {}
    if curves:
        chart(curves, args.budget, args.chart)
        print(f"chart: {args.chart}")
    if args.json:
        record = {
            "throughput": speeds,
            "throughput_before": speeds_before,
            "before": args.before,
            "load_average": os.getloadavg(),
            "curves": [asdict(c) for c in curves],
            "self_play": trained_by_itself,
        }
        args.json.write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
