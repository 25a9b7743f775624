"""The speed/accuracy frontier of learned IK: networks of several depths and widths beside
batched DLS, FABRIK and ikpy on the same reachable targets of the default 6-DOF arm.

Each candidate network is made the way a user would make it, on a bounded budget:

- ``--method direct`` (default): the ``robot_arm_reach`` example with its hidden layers (and,
  for ``:target`` candidates, its inputs) changed, trained by its own direct trainer for
  ``--steps`` updates (at most ``--budget-s`` seconds). The graph goes to
  ``OUT/NAME/graph.yaml``, so ``atrap run OUT/NAME/graph.yaml`` makes the same network.
- ``--method distill``: a student of the example's own trained network (3 x 128), taught by
  the merge code (``atrap merge --method distill``'s teacher) for ``--steps`` steps.

The example's network is measured beside them: ``--teacher NET``, or, without it, the example
trained by its own budget into ``OUT/example/`` first (reused by later runs).

Every network is then measured through :class:`atrap_studio.ik.LearnedIK` (the solver behind
``atrap ik``): alone (one batched forward pass, input building and output mapping included),
and with 1, 2 and 3 DLS steps from its answer; beside batched DLS and FABRIK from a cold start
(the same calls as benchmarks/ik.py) and ikpy on a subset. Errors are our float64 forward
kinematics of the returned angles. The batched contenders are timed interleaved, one call each
per round, for ``--rounds`` rounds (median), so load from elsewhere falls on all alike.

Goals (issue 16): a network alone at median <= 5 mm with >= 20x the solves/s of batched DLS;
network + at most 3 DLS steps at median <= 0.01 mm, >= 99.5% within 1 mm and >= 2x DLS.

    .venv/bin/python benchmarks/ik_frontier.py [--sizes 1x64,2x64,3x64,...,4x64:target]
        [--method direct|distill] [--teacher NET] [--steps 6000] [--lr 0.02]
        [--budget-s 90] [--targets 10000] [--seed 0] [--threads 1] [--ikpy-targets 50]
        [--rounds 7] [--out runs/ik-frontier] [--chart docs/images/ik-frontier.png] [--json PATH]

A size is DEPTHxWIDTH; ``:target`` after it makes a network that reads the target only (the
example's reads the joint angles too). A candidate whose folder already holds a network made
from the same graph and budget is measured again without training (``--retrain`` forces it).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import shlex
import shutil
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from ik import error_mm
from torch import Tensor

from atrap_studio.ik.chain import ArmChain, ArmGeometry
from atrap_studio.ik.dls import solve_dls
from atrap_studio.ik.fabrik import solve_fabrik
from atrap_studio.ik.learned import LearnedIK

WITHIN_MM = 1.0
REFINE_STEPS = (1, 2, 3)
DLS_NAME = "DLS (cold start)"
#: The candidates of the run in docs/benchmarks.md.
DEFAULT_SIZES = "1x64,2x64,3x64,4x64,2x128,3x96,3x128,2x64:target,3x64:target,4x64:target"
FEATURES = {"": "joint angles + target", "target": "target only"}
#: The issue's goals.
ALONE_MEDIAN_MM, ALONE_SPEEDUP = 5.0, 20.0
REFINED_MEDIAN_MM, REFINED_WITHIN, REFINED_SPEEDUP = 0.01, 0.995, 2.0
#: Learning rates: the example's (3 x 128) for training (on 2 x 128 for 90 s, 0.02 gave 13-19 mm
#: median, 0.006 24 mm and 0.04 31 mm); the merge code's default for distilling.
TRAIN_LR, DISTILL_LR = 0.02, 3e-3


@dataclass(frozen=True)
class Size:
    """A candidate's shape: hidden layers of one width, and what the network reads."""

    depth: int
    width: int
    features: str = ""  # "" (joint angles + target, as the example) or "target"

    @property
    def name(self) -> str:
        return f"{self.depth}x{self.width}" + (f":{self.features}" if self.features else "")

    @classmethod
    def parse(cls, text: str) -> Size:
        shape, _, features = text.strip().partition(":")
        depth, _, width = shape.partition("x")
        if features not in FEATURES or not depth.isdigit() or not width.isdigit():
            raise argparse.ArgumentTypeError(
                f"{text!r}: a size is DEPTHxWIDTH, optionally ':target' (e.g. 2x128:target)"
            )
        if not (1 <= int(depth) <= 16 and 1 <= int(width) <= 4096):
            raise argparse.ArgumentTypeError(f"{text!r}: depth 1..16, width 1..4096")
        return cls(int(depth), int(width), features)


@dataclass
class Made:
    """A network measured here: its file and what making it cost."""

    name: str
    path: Path
    parameters: int
    multiply_adds: int  # per solve, the network's linear layers only
    made_by: str  # "direct", "distill" or "given"
    updates: int
    seconds: float  # wall time to make it (0 for a given file)
    command: str  # how to make it again


@dataclass
class Row:
    """One contender's figures on its targets."""

    name: str
    network: str | None  # the Made it belongs to, None for the numerical solvers
    refine: int | None  # DLS steps after the network's guess
    targets: int
    median_mm: float
    p95_mm: float
    within_1mm: float
    seconds: float
    solves_per_s: float
    times: list[float] = field(default_factory=list, repr=False)

    def speedup(self, reference: Row) -> float:
        return self.solves_per_s / reference.solves_per_s


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=lambda text: [Size.parse(part) for part in text.split(",") if part.strip()],
        default=[Size.parse(s) for s in DEFAULT_SIZES.split(",")],
        help="candidates, DEPTHxWIDTH[:target], comma-separated",
    )
    parser.add_argument("--method", choices=("direct", "distill"), default="direct")
    parser.add_argument(
        "--teacher", type=Path, help="the example's trained network (default: train it)"
    )
    parser.add_argument(
        "--teacher-steps", type=int, help="updates to train the example (default: its budget)"
    )
    parser.add_argument("--steps", type=int, default=6000, help="updates per candidate")
    parser.add_argument(
        "--budget-s",
        type=float,
        default=90.0,
        help="most seconds of training per candidate (direct; distill runs its --steps)",
    )
    parser.add_argument(
        "--lr", type=float, help="learning rate (default: 0.02 to train, 3e-3 to distil)"
    )
    parser.add_argument("--train-threads", type=int, default=1, help="torch threads to train")
    parser.add_argument("--retrain", action="store_true", help="make every candidate again")
    parser.add_argument("--targets", type=int, default=10_000, help="reachable targets")
    parser.add_argument("--seed", type=int, default=0, help="seed of targets and start poses")
    parser.add_argument("--threads", type=int, default=1, help="torch threads to measure")
    parser.add_argument("--ikpy-targets", type=int, default=50, help="ikpy's subset (0: skip)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds")
    parser.add_argument("--out", type=Path, default=Path("runs/ik-frontier"))
    parser.add_argument("--chart", type=Path, default=Path("docs/images/ik-frontier.png"))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--redraw", type=Path, help="only draw --chart again from the figures of a --json file"
    )
    args = parser.parse_args(argv)
    if args.steps < 1 or args.targets < 1 or args.rounds < 1:
        parser.error("--steps, --targets and --rounds must be at least 1")
    return args


# -- making the candidates ------------------------------------------------------------------


def example_variant(size: Size, steps: int | None, lr: float | None) -> Any:
    """The robot_arm_reach example with ``size``'s hidden layers and inputs, ``steps`` updates."""
    from atrap_studio.core.yaml_io import load_graph
    from atrap_studio.examples import example_path

    doc = load_graph(example_path("robot_arm_reach")).model_copy(deep=True)
    for node in doc.nodes:
        if node.type == "nn.factory":
            node.props["hidden"] = [size.width] * size.depth
        elif node.type == "trainer.direct":
            if steps is not None:
                node.props["steps"] = steps
            if lr is not None:
                node.props["lr"] = lr
    if size.features == "target":
        dropped = {node.id for node in doc.nodes if node.type == "sensor.joint_angles"}
        doc.nodes = [node for node in doc.nodes if node.id not in dropped]
        doc.links = [link for link in doc.links if not {link.src.node, link.dst.node} & dropped]
    doc.name = f"Robot arm learns to reach ({size.name})"
    return doc


def example_size() -> Size:
    """The shipped example's own network, as its file has it (its layers are of one width)."""
    from atrap_studio.core.yaml_io import load_graph
    from atrap_studio.examples import example_path

    doc = load_graph(example_path("robot_arm_reach"))
    hidden = next(node.props["hidden"] for node in doc.nodes if node.type == "nn.factory")
    return Size(len(hidden), int(hidden[0]))


def train_direct(
    size: Size,
    folder: Path,
    *,
    steps: int | None,
    budget_s: float,
    lr: float | None,
    threads: int,
    retrain: bool,
) -> Made:
    """Train the example's variant with its own trainer for ``steps`` updates (None: the
    example's budget), stopped after ``budget_s`` seconds."""
    from atrap_studio.core.yaml_io import dump_graph
    from atrap_studio.nodes import builtin_registry
    from atrap_studio.runtime.pipeline import Pipeline
    from atrap_studio.runtime.runner import Runner

    graph_text = dump_graph(example_variant(size, steps, lr))
    key = {"graph": graph_text, "budget_s": budget_s, "threads": threads}
    graph = folder / "graph.yaml"
    command = shlex.join([".venv/bin/atrap", "run", str(graph), "--threads", str(threads)])
    reused = _reused(folder, key, retrain)
    if reused is None:
        _fresh(folder)
        graph.write_text(graph_text)
        from atrap_studio.core.yaml_io import load_graph

        torch.set_num_threads(threads)
        pipeline = Pipeline(load_graph(graph), builtin_registry(), source=str(graph))
        runner = Runner(pipeline, out_dir=folder / "run")
        timer = threading.Timer(budget_s, runner.request_stop)
        started = time.perf_counter()
        timer.start()
        try:
            result = runner.run()
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
        if result.network_path is None:
            sys.exit(f"training {size.name} failed: {result.error or 'no network was saved'}")
        reused = {"updates": result.step, "seconds": seconds, "reason": result.reason}
        _remember(folder, key, reused)
    return _made(size.name, folder / "run" / "network.atrapnet", "direct", reused, command)


def train_distill(size: Size, args: argparse.Namespace, folder: Path, teacher_path: Path) -> Made:
    """A student of the example's network taught by the merge code on its own scene."""
    from atrap_studio.core.yaml_io import parse_graph
    from atrap_studio.nodes import builtin_registry
    from atrap_studio.runtime.merge import Source, distill, merged_manifest, scene_pipeline
    from atrap_studio.runtime.netfile import load_network, save_network
    from atrap_studio.runtime.networks import mlp

    if size.features:
        sys.exit(f"{size.name}: a distilled student reads what its teacher reads; drop ':target'")
    lr = args.lr or DISTILL_LR
    key = {
        "teacher": str(teacher_path.resolve()),
        "teacher_bytes": teacher_path.stat().st_size,
        "size": size.name,
        "steps": args.steps,
        "lr": lr,
    }
    hidden = [str(size.width)] * size.depth
    out = folder / "network.atrapnet"
    command = shlex.join(
        [
            *(".venv/bin/atrap", "merge", str(teacher_path), str(teacher_path)),
            *("--method", "distill", "--hidden", *hidden, "--activation", "silu"),
            *("--steps", str(args.steps), "--lr", f"{lr:g}", "-o", str(out)),
        ]
    )
    reused = _reused(folder, key, args.retrain)
    if reused is None:
        _fresh(folder)
        torch.set_num_threads(args.train_threads)
        teacher = load_network(teacher_path)
        if not teacher.manifest.graph:
            sys.exit(f"{teacher_path} carries no graph: it cannot teach")
        doc = parse_graph(teacher.manifest.graph, path=f"{teacher_path} (its graph)")
        source = Source(
            teacher_path, teacher, scene_pipeline(doc, builtin_registry(), str(teacher_path))
        )
        first = teacher.manifest.architecture
        student = mlp(first.inputs, [size.width] * size.depth, first.outputs, activation="silu")
        done = [0]

        def progress(step: int, _loss: float) -> None:
            done[0] = step

        started = time.perf_counter()
        module, loss, lineage = distill(
            [source], student, steps=args.steps, lr=lr, progress=progress
        )
        seconds = time.perf_counter() - started
        training = {"merged": "distill", "distill_steps": done[0], "distill_loss": loss}
        manifest = merged_manifest([source], student, lineage, "merged-distill", training)
        save_network(out, module, manifest)
        reused = {"updates": done[0], "seconds": seconds, "reason": "completed"}
        _remember(folder, key, reused)
    return _made(size.name, out, "distill", reused, command)


def _reused(folder: Path, key: dict[str, Any], retrain: bool) -> dict[str, Any] | None:
    """What making this candidate cost last time, when its folder holds the same one."""
    note = folder / "made.json"
    if retrain or not note.is_file():
        return None
    try:
        made = json.loads(note.read_text())
    except (OSError, ValueError):
        return None
    return made["made"] if isinstance(made, dict) and made.get("key") == key else None


def _remember(folder: Path, key: dict[str, Any], made: dict[str, Any]) -> None:
    (folder / "made.json").write_text(json.dumps({"key": key, "made": made}, indent=1) + "\n")


def _fresh(folder: Path) -> None:
    """An empty candidate folder (only ever one of ours under --out)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)


def _made(name: str, path: Path, how: str, made: dict[str, Any], command: str) -> Made:
    from atrap_studio.runtime.netfile import load_network

    arch = load_network(path).manifest.architecture
    linear = [layer for layer in arch.layers if layer.kind == "linear"]
    macs = sum((layer.in_features or 0) * (layer.out_features or 0) for layer in linear)
    return Made(
        name=name,
        path=path,
        parameters=arch.parameter_count(),
        multiply_adds=macs,
        made_by=how,
        updates=int(made["updates"]),
        seconds=float(made["seconds"]),
        command=command,
    )


def given(path: Path, name: str) -> Made:
    """A trained network file measured as it is (the example's, say)."""
    return _made(name, path, "given", {"updates": 0, "seconds": 0.0}, "")


# -- measuring ------------------------------------------------------------------------------


def interleaved(contenders: list[tuple[str, Callable[[], Tensor]]], rounds: int) -> dict[str, Any]:
    """Each contender's answer (first call, a warm-up) and its call times: one call of each per
    round, in turn, so a burst of load elsewhere lands on every contender alike."""
    answers = {name: solve() for name, solve in contenders}
    times: dict[str, list[float]] = {name: [] for name, _ in contenders}
    for _ in range(rounds):
        for name, solve in contenders:
            t0 = time.perf_counter()
            solve()
            times[name].append(time.perf_counter() - t0)
    return {"answers": answers, "times": times}


def make_row(
    name: str, network: str | None, refine: int | None, err: Tensor, times: list[float]
) -> Row:
    seconds = statistics.median(times)
    return Row(
        name=name,
        network=network,
        refine=refine,
        targets=err.numel(),
        median_mm=float(err.median()),
        p95_mm=float(torch.quantile(err, 0.95)),
        within_1mm=float((err < WITHIN_MM).double().mean()),
        seconds=seconds,
        solves_per_s=err.numel() / seconds,
        times=times,
    )


def measure_ikpy(
    geometry: ArmGeometry, chain64: ArmChain, targets64: Tensor, count: int
) -> Row | None:
    """ikpy from the cold start, one target per call, on the first ``count`` targets."""
    if count <= 0:
        return None
    sys.path.insert(0, str(Path(__file__).parent))
    import ikpy
    from ik import check_ikpy_chain, ikpy_chain, run_ikpy

    chain = ikpy_chain(geometry)
    check_ikpy_chain(chain, chain64, torch.Generator().manual_seed(1))
    m = min(count, targets64.shape[0])
    q_cold = ((chain64.lower + chain64.upper) / 2).numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ikpy warns per call about details irrelevant here
        q, seconds = run_ikpy(chain, targets64[:m].numpy(), q_cold)
    err = error_mm(chain64, torch.from_numpy(q), targets64[:m])
    return make_row(f"ikpy {ikpy.__version__}", None, None, err, [seconds])


# -- goals and output -----------------------------------------------------------------------


@dataclass
class Verdict:
    """One network against the goals: alone, and with the fewest DLS steps that meet them."""

    network: str
    alone_median_mm: float
    alone_speedup: float
    refine: int
    refined_median_mm: float
    refined_within: float
    refined_speedup: float

    @property
    def alone_met(self) -> bool:
        return self.alone_median_mm <= ALONE_MEDIAN_MM and self.alone_speedup >= ALONE_SPEEDUP

    @property
    def refined_met(self) -> bool:
        return (
            self.refined_median_mm <= REFINED_MEDIAN_MM
            and self.refined_within >= REFINED_WITHIN
            and self.refined_speedup >= REFINED_SPEEDUP
        )


def verdict(name: str, rows: list[Row], dls: Row) -> Verdict:
    mine = {row.refine: row for row in rows if row.network == name}
    alone = mine[0]

    def met(row: Row) -> bool:
        return (
            row.median_mm <= REFINED_MEDIAN_MM
            and row.within_1mm >= REFINED_WITHIN
            and row.speedup(dls) >= REFINED_SPEEDUP
        )

    k = next((k for k in REFINE_STEPS if met(mine[k])), max(REFINE_STEPS))
    return Verdict(
        network=name,
        alone_median_mm=alone.median_mm,
        alone_speedup=alone.speedup(dls),
        refine=k,
        refined_median_mm=mine[k].median_mm,
        refined_within=mine[k].within_1mm,
        refined_speedup=mine[k].speedup(dls),
    )


def frontier(rows: list[Row]) -> list[Row]:
    """The rows no other row beats in both speed and median error, fastest first."""
    best: list[Row] = []
    for row in sorted(rows, key=lambda r: (-r.solves_per_s, r.median_mm)):
        if not best or row.median_mm < best[-1].median_mm:
            best.append(row)
    return best


def print_tables(made: list[Made], rows: list[Row], dls: Row, verdicts: list[Verdict]) -> None:
    head = f"{'network':<12} {'made by':<8} {'params':>8} {'MACs':>7} {'updates':>7} {'made in':>8}"
    print(head)
    print("-" * len(head))
    for m in made:
        print(
            f"{m.name:<12} {m.made_by:<8} {m.parameters:>8,} {m.multiply_adds:>7,} "
            f"{m.updates:>7,} {m.seconds:>7.1f}s"
        )
    print()
    on_front = {id(row) for row in frontier([r for r in rows if r.refine == 0])}
    head = (
        f"{'solver':<28} {'targets':>7} {'median mm':>10} {'p95 mm':>9} {'<=1 mm':>8} "
        f"{'solves/s':>11} {'x DLS':>7}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        mark = " *" if id(r) in on_front else ""
        print(
            f"{r.name:<28} {r.targets:>7,} {r.median_mm:>10.3g} {r.p95_mm:>9.3g} "
            f"{r.within_1mm:>8.2%} {r.solves_per_s:>11,.0f} {r.speedup(dls):>6.2f}x{mark}"
        )
    print("(* the frontier of the networks alone: none faster with a smaller median error)")
    print()
    print(
        f"goals: alone median <= {ALONE_MEDIAN_MM:g} mm at >= {ALONE_SPEEDUP:g}x DLS; "
        f"+ <= 3 DLS steps median <= {REFINED_MEDIAN_MM:g} mm, >= {REFINED_WITHIN:.1%} within "
        f"1 mm at >= {REFINED_SPEEDUP:g}x DLS"
    )
    head = (
        f"{'network':<12} {'alone mm':>9} {'x DLS':>7} {'alone':>5}   {'steps':>5} "
        f"{'median mm':>10} {'<=1 mm':>8} {'x DLS':>7} {'refined':>7}"
    )
    print(head)
    print("-" * len(head))
    for v in verdicts:
        print(
            f"{v.network:<12} {v.alone_median_mm:>9.3g} {v.alone_speedup:>6.2f}x "
            f"{'met' if v.alone_met else 'MISS':>5}   {v.refine:>5} {v.refined_median_mm:>10.3g} "
            f"{v.refined_within:>8.2%} {v.refined_speedup:>6.2f}x "
            f"{'met' if v.refined_met else 'MISS':>7}"
        )


# -- the chart ------------------------------------------------------------------------------

CHART_W, CHART_H = 1400, 720
PANEL_MARGIN = (80, 50, 30, 70)  # left, top, right, bottom inside each half
GOAL_COLOUR = "#c0392b"
ALONE_FLOOR_MM = 0.1


@dataclass
class Point:
    x: float
    y: float
    label: str
    colour: str


def save_chart(rows: list[Row], dls: Row, path: Path) -> None:
    """Two panels on log axes against solves/s: the networks alone by median error (their
    frontier joined), and the networks with 3 DLS steps by the share missed by over 1 mm;
    DLS, FABRIK and ikpy on both; the goals as dashed lines, the goal's corner shaded."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import QtGui, QtWidgets

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    del app  # a QImage needs the application to exist, nothing more
    image = QtGui.QImage(CHART_W, CHART_H, QtGui.QImage.Format.Format_RGB32)
    image.fill(QtGui.QColor("white"))
    painter = QtGui.QPainter(image)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    solvers = [r for r in rows if r.network is None]
    floor = 1e-2  # % missed drawn at the axis' floor when none is
    alone = [Point(r.solves_per_s, r.median_mm, r.name, "#3a78c2") for r in rows if r.refine == 0]
    front = [(r.solves_per_s, r.median_mm) for r in frontier([r for r in rows if r.refine == 0])]
    # The numerical solvers reach ~1e-4 mm: drawn at the floor, so the networks get the room.
    numeric = [
        Point(
            r.solves_per_s,
            max(r.median_mm, ALONE_FLOOR_MM),
            f"{_short(r.name)} ({r.median_mm:.1g} mm)",
            "#222222",
        )
        for r in solvers
    ]
    half = CHART_W / 2
    _panel(
        painter,
        (0, 0, half, CHART_H),
        "Network alone: median error against speed",
        f"median error, mm (below {ALONE_FLOOR_MM:g} drawn at {ALONE_FLOOR_MM:g})",
        alone + numeric,
        [front],
        (ALONE_SPEEDUP * dls.solves_per_s, ALONE_MEDIAN_MM),
        f"goal: <= {ALONE_MEDIAN_MM:g} mm at >= {ALONE_SPEEDUP:g}x DLS",
    )
    steps = max(REFINE_STEPS)
    refined = [
        Point(r.solves_per_s, max(100 * (1 - r.within_1mm), floor), r.network or "", "#2e9e44")
        for r in rows
        if r.refine == steps
    ]
    missed = [
        Point(r.solves_per_s, max(100 * (1 - r.within_1mm), floor), _short(r.name), "#222222")
        for r in solvers
    ]
    _panel(
        painter,
        (half, 0, half, CHART_H),
        f"Network + {steps} DLS steps: share missed against speed",
        "targets missed by > 1 mm, % (0 drawn at 0.01)",
        refined + missed,
        [],
        (REFINED_SPEEDUP * dls.solves_per_s, 100 * (1 - REFINED_WITHIN)),
        f"goal: <= {100 * (1 - REFINED_WITHIN):g}% missed at >= {REFINED_SPEEDUP:g}x DLS",
    )
    painter.end()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(path)):
        sys.exit(f"could not write the chart to {path}")


def _short(name: str) -> str:
    return name.removesuffix(" (cold start)")


def _panel(
    painter: Any,
    box: tuple[float, float, float, float],
    title: str,
    y_label: str,
    points: list[Point],
    paths: list[list[tuple[float, float]]],
    goal: tuple[float, float],
    goal_label: str,
) -> None:
    """One log-log panel: decades as grid lines, points with labels, paths joined."""
    from PySide6 import QtCore, QtGui

    left, top, right, bottom = PANEL_MARGIN
    plot = QtCore.QRectF(box[0] + left, box[1] + top, box[2] - left - right, box[3] - top - bottom)
    xs = [p.x for p in points] + [goal[0]]
    ys = [p.y for p in points] + [goal[1]]
    x0, x1 = math.floor(math.log10(min(xs))), math.ceil(math.log10(2 * max(xs)))
    y0, y1 = math.floor(math.log10(min(ys))), math.ceil(math.log10(1.5 * max(ys)))
    x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)

    def at(x: float, y: float) -> Any:
        u = (math.log10(x) - x0) / (x1 - x0)
        v = (math.log10(y) - y0) / (y1 - y0)
        return QtCore.QPointF(plot.left() + u * plot.width(), plot.bottom() - v * plot.height())

    black, grid = QtGui.QColor("black"), QtGui.QPen(QtGui.QColor("#dddddd"), 1)
    goal_corner = QtCore.QRectF(at(goal[0], goal[1]), plot.bottomRight())
    painter.fillRect(goal_corner.intersected(plot), QtGui.QColor("#eaf6ea"))
    for d in range(x0, x1 + 1):
        painter.setPen(grid)
        painter.drawLine(at(10.0**d, 10.0**y0), at(10.0**d, 10.0**y1))
        painter.setPen(black)
        painter.drawText(
            QtCore.QRectF(at(10.0**d, 10.0**y0).x() - 40, plot.bottom() + 4, 80, 18),
            QtCore.Qt.AlignmentFlag.AlignCenter,
            f"{10.0**d:,.0f}",
        )
    for d in range(y0, y1 + 1):
        painter.setPen(grid)
        painter.drawLine(at(10.0**x0, 10.0**d), at(10.0**x1, 10.0**d))
        painter.setPen(black)
        painter.drawText(
            QtCore.QRectF(box[0] + 4, at(10.0**x0, 10.0**d).y() - 9, left - 10, 18),
            QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter,
            f"{10.0**d:g}",
        )
    painter.setPen(black)
    painter.drawRect(plot)
    painter.drawText(
        QtCore.QRectF(box[0], box[1] + 10, box[2], 22), QtCore.Qt.AlignmentFlag.AlignCenter, title
    )
    painter.drawText(
        QtCore.QRectF(plot.left(), plot.bottom() + 24, plot.width(), 20),
        QtCore.Qt.AlignmentFlag.AlignCenter,
        "solves per second, one thread (log)",
    )
    painter.save()
    painter.translate(box[0] + 14, plot.center().y())
    painter.rotate(-90)
    painter.drawText(
        QtCore.QRectF(-plot.height() / 2, -10, plot.height(), 20),
        QtCore.Qt.AlignmentFlag.AlignCenter,
        y_label + " (log)",
    )
    painter.restore()
    dashed = QtGui.QPen(QtGui.QColor(GOAL_COLOUR), 1, QtCore.Qt.PenStyle.DashLine)
    painter.setPen(dashed)
    painter.drawLine(at(goal[0], 10.0**y0), at(goal[0], 10.0**y1))
    painter.drawLine(at(10.0**x0, goal[1]), at(10.0**x1, goal[1]))
    painter.drawText(
        QtCore.QRectF(plot.left(), plot.bottom() + 44, plot.width(), 20),
        QtCore.Qt.AlignmentFlag.AlignCenter,
        "dashed red: " + goal_label + " (shaded: both)",
    )
    for path_points in paths:
        painter.setPen(QtGui.QPen(QtGui.QColor("#999999"), 1.5))
        for a, b in itertools.pairwise(path_points):
            painter.drawLine(at(*a), at(*b))
    metrics = painter.fontMetrics()
    taken: list[Any] = []
    for p in points:
        colour = QtGui.QColor(p.colour)
        centre = at(p.x, p.y)
        painter.setPen(colour)
        painter.setBrush(colour)
        painter.drawEllipse(centre, 4.0, 4.0)
        taken.append(QtCore.QRectF(centre.x() - 4, centre.y() - 4, 8, 8))
    for p in points:
        if not p.label:
            continue
        # The first place beside the point that no point or label takes yet (else the first).
        centre, w, h = at(p.x, p.y), metrics.horizontalAdvance(p.label), metrics.height()
        places = [
            QtCore.QRectF(centre.x() + dx, centre.y() + dy, w, h)
            for dx, dy in ((7, -h), (7, 0), (-w - 7, -h), (-w - 7, 0), (7, -2 * h), (7, h))
        ]
        place = next((r for r in places if not any(r.intersects(t) for t in taken)), places[0])
        taken.append(place)
        painter.setPen(QtGui.QColor(p.colour))
        painter.drawText(place, QtCore.Qt.AlignmentFlag.AlignLeft, p.label)
    painter.setBrush(QtGui.QBrush())


def reproduce_command(argv: list[str]) -> str:
    python = Path(sys.executable)
    if python.is_relative_to(Path.cwd()):
        python = python.relative_to(Path.cwd())
    return shlex.join([str(python), "benchmarks/ik_frontier.py", *argv])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.redraw is not None:
        try:
            rows = [Row(**row) for row in json.loads(args.redraw.read_text())["rows"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            sys.exit(f"{args.redraw}: not the figures of a --json file ({exc})")
        save_chart(rows, next(r for r in rows if r.name == DLS_NAME), args.chart)
        print(f"chart: {args.chart}")
        return
    load = os.getloadavg()
    print(
        f"torch {torch.__version__}, measured on {args.threads} thread(s), {os.cpu_count()} "
        f"CPU(s), load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the start"
    )
    geometry = ArmGeometry.industrial(6)

    # -- the candidates --------------------------------------------------------------------
    made: list[Made] = []
    if args.teacher is not None:
        teacher = given(args.teacher, "example")
    else:
        print("no --teacher: training the robot_arm_reach example first ...", flush=True)
        teacher = train_direct(
            example_size(),
            args.out / "example",
            steps=args.teacher_steps,
            budget_s=math.inf,
            lr=None,
            threads=args.train_threads,
            retrain=args.retrain,
        )
        teacher.name = "example"
        teacher.command = ".venv/bin/atrap run --example robot_arm_reach"
    print(f"  the example's network: {teacher.path}", flush=True)
    made.append(teacher)
    for size in args.sizes:
        print(f"making {size.name} ({FEATURES[size.features]}) by {args.method} ...", flush=True)
        folder = args.out / size.name.replace(":", "-")
        if args.method == "direct":
            m = train_direct(
                size,
                folder,
                steps=args.steps,
                budget_s=args.budget_s,
                lr=args.lr or TRAIN_LR,
                threads=args.train_threads,
                retrain=args.retrain,
            )
        else:
            m = train_distill(size, args, folder, teacher.path)
        print(f"  {m.updates:,} updates in {m.seconds:.1f} s: {m.path}", flush=True)
        made.append(m)

    # -- targets and start poses: drawn as benchmarks/ik.py draws them -------------------
    torch.set_num_threads(args.threads)
    chain32 = ArmChain(geometry, dtype=torch.float32)
    chain64 = ArmChain(geometry, dtype=torch.float64)
    generator = torch.Generator().manual_seed(args.seed)
    targets64, _ = chain64.sample_targets(args.targets, generator)
    q_start64 = chain64.sample_q(args.targets, generator)
    targets32, q_start32 = targets64.float(), q_start64.float()

    contenders: list[tuple[str, Callable[[], Tensor]]] = []
    owner: dict[str, tuple[str | None, int | None]] = {}
    for m in made:
        learned = LearnedIK.from_file(m.path, geometry=geometry)
        contenders.append((m.name, partial(learned.guess, targets32, q_start32)))
        owner[m.name] = (m.name, 0)
        for k in REFINE_STEPS:
            name = f"{m.name} + {k} DLS"

            def refined(learned: LearnedIK = learned, k: int = k) -> Tensor:
                return learned.solve(targets32, refine=k, q_start=q_start32).q

            contenders.append((name, refined))
            owner[name] = (m.name, k)
    contenders.append((DLS_NAME, lambda: solve_dls(chain32, targets32).q))
    contenders.append(("FABRIK (cold start)", lambda: solve_fabrik(chain32, targets32).q))
    owner[DLS_NAME] = owner["FABRIK (cold start)"] = (None, None)
    print(
        f"measuring {len(contenders)} contenders on {args.targets:,} reachable targets "
        f"(seed {args.seed}), {args.rounds} interleaved rounds ...",
        flush=True,
    )
    with torch.inference_mode():
        timing = interleaved(contenders, args.rounds)
    rows = [
        make_row(
            name,
            *owner[name],
            error_mm(chain64, timing["answers"][name], targets64),
            timing["times"][name],
        )
        for name, _ in contenders
    ]
    dls = next(row for row in rows if row.name == DLS_NAME)
    ikpy_row = measure_ikpy(geometry, chain64, targets64, args.ikpy_targets)
    if ikpy_row is not None:
        rows.append(ikpy_row)
    verdicts = [verdict(m.name, rows, dls) for m in made]

    print()
    print_tables(made, rows, dls, verdicts)
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end")
    smallest = [v for v in verdicts if v.alone_met or v.refined_met]
    for v in smallest:
        m = next(m for m in made if m.name == v.network)
        goals = " and ".join(
            what
            for what, met in (("alone", v.alone_met), (f"+ {v.refine} DLS", v.refined_met))
            if met
        )
        print(f"{m.name} meets the goals {goals}; made by: {m.command or m.path}")
    if not smallest:
        print("no network here meets the goals alone or refined")

    save_chart(rows, dls, args.chart)
    print(f"chart: {args.chart}")
    command = reproduce_command(argv)
    print(f"reproduce: {command}")
    if args.json:
        document = {
            "command": command,
            "torch": torch.__version__,
            "threads": args.threads,
            "cpu_count": os.cpu_count(),
            "targets": args.targets,
            "seed": args.seed,
            "made": [asdict(m) | {"path": str(m.path)} for m in made],
            "rows": [asdict(r) for r in rows],
            "verdicts": [
                asdict(v) | {"alone_met": v.alone_met, "refined_met": v.refined_met}
                for v in verdicts
            ],
            "frontier": [r.name for r in frontier([r for r in rows if r.refine == 0])],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
