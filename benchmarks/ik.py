"""Learned IK vs FABRIK, our DLS and ikpy on the same reachable targets of the default 6-DOF arm.

Every solver gets the same targets (forward kinematics of random in-limit configurations, so all
are reachable) and every error is measured the same way: our float64 forward kinematics of the
angles a solver returns, against the float64 target. The network reads the arm's current joint
angles as well as the target, so each target comes with a random start configuration drawn
like the ones it was trained on; DLS refinement starts from the network's answer (both through
atrap_studio.ik.LearnedIK, the solver behind `atrap ik`); the numerical baselines start cold (the
middle of the limits). Batched rows time one call over all targets (median of repeats after a
warm-up); ikpy solves one target per call, on a subset.

Goals (from the issue): the network alone at median <= 5 mm with >= 20x the solves/s of batched
DLS; network + at most 3 DLS steps at median <= 0.01 mm, >= 99.5% within 1 mm, better than DLS
from a cold start given the same steps, and still >= 2x the solves/s of batched DLS.

    .venv/bin/python benchmarks/ik.py [--targets 10000] [--seed 0] [--network PATH]
        [--threads 1] [--ikpy-targets 200] [--json PATH]

Without --network it trains the robot_arm_reach example first (its own budget) and saves the
network under runs/ik-benchmark/.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import Tensor

from atrap_studio.core.errors import AtrapError
from atrap_studio.ik.chain import ArmChain, ArmGeometry
from atrap_studio.ik.dls import solve_dls
from atrap_studio.ik.fabrik import solve_fabrik
from atrap_studio.ik.learned import LearnedIK
from atrap_studio.ik.result import IKResult
from atrap_studio.runtime.netfile import load_network

T = TypeVar("T")

WITHIN_MM = 1.0
REFINE_STEPS = (1, 2, 3)
# ikpy's chain must agree with ours to this (metres) before its figures mean anything.
FK_AGREEMENT_M = 1e-9


@dataclass
class Row:
    """One solver's figures on its targets."""

    name: str
    dtype: str
    targets: int
    median_mm: float
    p95_mm: float
    max_mm: float
    within_1mm: float
    seconds: float  # one call over all its targets (ikpy: all its solves)
    solves_per_s: float
    iterations: int | None = None


@dataclass
class Goal:
    """One goal check: the measured value against its limit."""

    name: str
    value: float
    limit: float
    higher_is_better: bool
    unit: str

    @property
    def ratio(self) -> float:
        """How far past (>= 1) or short of (< 1) the limit, whatever the direction."""
        if self.higher_is_better:
            return self.value / self.limit if self.limit > 0 else math.inf
        return self.limit / self.value if self.value > 0 else math.inf

    @property
    def passed(self) -> bool:
        return self.value >= self.limit if self.higher_is_better else self.value <= self.limit


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=10_000, help="reachable targets")
    parser.add_argument("--seed", type=int, default=0, help="seed of targets and start poses")
    parser.add_argument("--network", type=Path, help=".atrapnet trained on robot_arm_reach")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--ikpy-targets", type=int, default=200, help="ikpy's subset (0: skip)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--min-time", type=float, default=1.0, help="seconds of repeats per batched row"
    )
    parser.add_argument(
        "--train-out",
        type=Path,
        default=Path("runs/ik-benchmark"),
        help="where to train when no --network is given",
    )
    parser.add_argument(
        "--train-steps", type=int, help="training updates (default: the example's budget)"
    )
    return parser.parse_args()


def reproduce_command(args: argparse.Namespace, network: Path) -> str:
    """The command line that reruns this benchmark on the same network and targets."""
    python = Path(sys.executable)
    if python.is_relative_to(Path.cwd()):
        python = python.relative_to(Path.cwd())
    parts = [str(python), "benchmarks/ik.py", "--targets", str(args.targets)]
    parts += ["--seed", str(args.seed), "--network", str(network)]
    parts += ["--threads", str(args.threads), "--ikpy-targets", str(args.ikpy_targets)]
    parts += ["--min-time", f"{args.min_time:g}"]
    if args.json:
        parts += ["--json", str(args.json)]
    return shlex.join(parts)


def timed(solve: Callable[[], T], min_time: float) -> tuple[T, float]:
    """The answer of `solve` and its median wall time over at least 3 calls after a warm-up.

    The median, not the best, so a burst of load from elsewhere neither flatters nor sinks one
    row; the warm-up keeps allocator and first-call costs out of every row alike.
    """
    result = solve()
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - started < min_time and len(times) < 200):
        t0 = time.perf_counter()
        result = solve()
        times.append(time.perf_counter() - t0)
    return result, statistics.median(times)


def error_mm(chain64: ArmChain, q: Tensor, targets64: Tensor) -> Tensor:
    """Distance (N,) in mm from our float64 FK of q to the targets: one yardstick for all."""
    effector = chain64.effector(q.detach().to(torch.float64))
    distance: Tensor = torch.linalg.vector_norm(effector - targets64, dim=1)
    return distance * 1000.0


def make_row(
    name: str, dtype: torch.dtype, err_mm: Tensor, seconds: float, iterations: int | None = None
) -> Row:
    n = err_mm.numel()
    return Row(
        name=name,
        dtype=str(dtype).removeprefix("torch."),
        targets=n,
        median_mm=float(err_mm.median()),
        p95_mm=float(torch.quantile(err_mm, 0.95)),
        max_mm=float(err_mm.max()),
        within_1mm=float((err_mm < WITHIN_MM).double().mean()),
        seconds=seconds,
        solves_per_s=n / seconds,
        iterations=iterations,
    )


# -- the network ----------------------------------------------------------------------------


def train_example(out: Path, steps: int | None, example: str = "robot_arm_reach") -> Path:
    """Train an arm example with its own budget and seeds; returns the saved network's path."""
    from atrap_studio.core.yaml_io import load_graph
    from atrap_studio.examples import example_path
    from atrap_studio.nodes import builtin_registry
    from atrap_studio.runtime.pipeline import Pipeline
    from atrap_studio.runtime.runner import Runner

    path = example_path(example)
    pipeline = Pipeline(load_graph(path), builtin_registry(), source=str(path))
    budget = steps or pipeline.trainer.budget.steps
    print(f"no --network: training {path.name} ({budget:,} updates at most) into {out}/ ...")
    started = time.perf_counter()
    result = Runner(pipeline, out_dir=out).run(steps)
    took = time.perf_counter() - started
    if result.reason == "error" or result.network_path is None:
        sys.exit(f"training failed: {result.error or 'no network was saved'}")
    print(f"trained in {took:.1f} s: {result.reason} after {result.step:,} updates")
    if result.evaluation:
        ev = result.evaluation
        print(
            f"  its own test on {int(ev['episodes']):,} targets: median "
            f"{ev['median_error_mm']:.2f} mm, p95 {ev['p95_error_mm']:.2f} mm, "
            f"{ev['success_rate']:.1%} within 10 mm"
        )
    return result.network_path


# -- ikpy -----------------------------------------------------------------------------------


def ikpy_chain(geometry: ArmGeometry) -> Any:
    """Our arm as an ikpy Chain: joint i sits at the end of link i - 1 and turns before link i."""
    from ikpy.chain import Chain
    from ikpy.link import OriginLink, URDFLink

    links: list[Any] = [OriginLink()]
    for i, (axis, (lo, hi)) in enumerate(zip(geometry.axes, geometry.limits, strict=True)):
        links.append(
            URDFLink(
                name=f"joint{i}",
                origin_translation=np.array([0.0, 0.0, geometry.link_lengths[i - 1] if i else 0.0]),
                origin_orientation=np.zeros(3),
                rotation=np.eye(3)["xyz".index(axis)],
                bounds=(lo, hi),
            )
        )
    links.append(
        URDFLink(
            name="tip",
            origin_translation=np.array([0.0, 0.0, geometry.link_lengths[-1]]),
            origin_orientation=np.zeros(3),
            joint_type="fixed",
        )
    )
    mask = [False] + [True] * geometry.joints + [False]
    return Chain(links, active_links_mask=mask, name="atrap_default_arm")


def check_ikpy_chain(chain: Any, chain64: ArmChain, generator: torch.Generator) -> float:
    """Largest FK disagreement (m) on random poses; exits if the chains are not the same arm."""
    q = chain64.sample_q(8, generator)
    ours = chain64.effector(q).numpy()
    worst = 0.0
    for qi, pi in zip(q.numpy(), ours, strict=True):
        theirs = chain.forward_kinematics(np.concatenate([[0.0], qi, [0.0]]))[:3, 3]
        worst = max(worst, float(np.abs(theirs - pi).max()))
    if not worst < FK_AGREEMENT_M:
        sys.exit(f"the ikpy chain is not our arm: FK differs by {worst:.3g} m")
    return worst


def run_ikpy(chain: Any, targets: np.ndarray, q_cold: np.ndarray) -> tuple[np.ndarray, float]:
    """ikpy's defaults, one target per call, all from the cold start; returns (q, seconds)."""
    start = np.concatenate([[0.0], q_cold, [0.0]])
    chain.inverse_kinematics(target_position=targets[0], initial_position=start)  # warm-up
    q = np.empty((targets.shape[0], q_cold.shape[0]))
    t0 = time.perf_counter()
    for i, target in enumerate(targets):
        q[i] = chain.inverse_kinematics(target_position=target, initial_position=start)[1:-1]
    return q, time.perf_counter() - t0


# -- output ---------------------------------------------------------------------------------


def print_table(rows: list[Row]) -> None:
    head = (
        f"{'solver':<36} {'dtype':<7} {'targets':>7} {'median mm':>10} {'p95 mm':>10} "
        f"{'max mm':>10} {'<=1 mm':>8} {'solves/s':>11} {'iters':>5}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        iters = "" if r.iterations is None else str(r.iterations)
        print(
            f"{r.name:<36} {r.dtype:<7} {r.targets:>7,} {r.median_mm:>10.3g} {r.p95_mm:>10.3g} "
            f"{r.max_mm:>10.3g} {r.within_1mm:>8.2%} {r.solves_per_s:>11,.0f} {iters:>5}"
        )


def print_goals(goals: list[Goal]) -> None:
    for g in goals:
        sign = ">=" if g.higher_is_better else "<="
        print(
            f"  {'PASS' if g.passed else 'MISS'}  {g.name:<58} {g.value:>10.4g} {g.unit:<4} "
            f"goal {sign} {g.limit:<5g} {g.unit:<4} ratio {g.ratio:>7.2f}x"
        )


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    geometry = ArmGeometry.industrial(6)
    chain32 = ArmChain(geometry, dtype=torch.float32)
    chain64 = ArmChain(geometry, dtype=torch.float64)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s), "
        f"python {platform.python_version()}"
    )

    # -- targets and start poses: one generator, drawn in a fixed order --------------------
    generator = torch.Generator().manual_seed(args.seed)
    targets64, _ = chain64.sample_targets(args.targets, generator)
    q_start64 = chain64.sample_q(args.targets, generator)
    targets32, q_start32 = targets64.float(), q_start64.float()
    print(f"{args.targets:,} reachable targets of the default 6-DOF arm, seed {args.seed}")

    # -- the network: load it, or train the example first ----------------------------------
    network_path = args.network or train_example(args.train_out, args.train_steps)
    try:
        loaded = load_network(network_path)
        # The library's learned IK: the network's guess, then DLS steps from it (float32).
        learned = LearnedIK(loaded, where=str(network_path), geometry=geometry)
    except AtrapError as exc:
        sys.exit(str(exc))
    if loaded.manifest.provenance.scene is None:
        print(f"note: {network_path} does not say which arm it was trained on; assuming ours")
    print(f"network: {network_path} ({loaded.manifest.training.get('steps', '?')} updates)")

    def network_q() -> Tensor:
        return learned.guess(targets32, q_start32)

    rows: list[Row] = []

    # -- learned: the network alone, then with 1-3 DLS steps from its answer ---------------
    q_net, seconds = timed(network_q, args.min_time)
    rows.append(make_row("network", torch.float32, error_mm(chain64, q_net, targets64), seconds))

    def refine(k: int) -> IKResult:
        return learned.solve(targets32, refine=k, q_start=q_start32)

    for k in REFINE_STEPS:
        result, seconds = timed(partial(refine, k), args.min_time)
        err = error_mm(chain64, result.q, targets64)
        rows.append(make_row(f"network + {k} DLS", torch.float32, err, seconds, result.iterations))
    # What `atrap ik` does by default: targets still over 1 mm get full DLS from a cold start.
    k = max(REFINE_STEPS)
    result, seconds = timed(
        partial(learned.solve, targets32, refine=k, q_start=q_start32, fallback=True),
        args.min_time,
    )
    err = error_mm(chain64, result.q, targets64)
    name = f"network + {k} DLS, cold DLS on misses"
    rows.append(make_row(name, torch.float32, err, seconds, result.iterations))

    # -- numerical baselines, batched, from the cold start ---------------------------------
    baselines: list[tuple[str, Callable[[ArmChain, Tensor], IKResult]]] = [
        ("DLS (cold start)", solve_dls),
        ("plain DLS (cold start, no restarts)", partial(solve_dls, restarts=False)),
        ("FABRIK (cold start)", solve_fabrik),
    ]
    reference: Row | None = None  # batched DLS in float32: the speed yardstick of the goals
    for name, solver in baselines:
        for chain, targets in ((chain32, targets32), (chain64, targets64)):
            result, seconds = timed(partial(solver, chain, targets), args.min_time)
            err = error_mm(chain64, result.q, targets64)
            rows.append(make_row(name, chain.dtype, err, seconds, result.iterations))
            if reference is None:
                reference = rows[-1]
    assert reference is not None
    # What a warm start buys: DLS from the cold start given only the refinement's steps.
    cold_short: dict[int, Row] = {}
    for k in REFINE_STEPS:
        result, seconds = timed(partial(solve_dls, chain32, targets32, iterations=k), args.min_time)
        err = error_mm(chain64, result.q, targets64)
        cold_short[k] = make_row(
            f"DLS (cold start, {k} step{'s' if k > 1 else ''})", torch.float32, err, seconds, k
        )
        rows.append(cold_short[k])

    # -- ikpy: one target per call on a subset, same cold start ----------------------------
    ikpy_check_m = None
    if args.ikpy_targets > 0:
        import ikpy

        chain_ikpy = ikpy_chain(geometry)
        ikpy_check_m = check_ikpy_chain(chain_ikpy, chain64, torch.Generator().manual_seed(1))
        m = min(args.ikpy_targets, args.targets)
        q_cold = ((chain64.lower + chain64.upper) / 2).numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ikpy warns per call about details irrelevant here
            q_ikpy, seconds = run_ikpy(chain_ikpy, targets64[:m].numpy(), q_cold)
        err = error_mm(chain64, torch.from_numpy(q_ikpy), targets64[:m])
        rows.append(make_row(f"ikpy {ikpy.__version__} (cold start)", torch.float64, err, seconds))

    # -- results ---------------------------------------------------------------------------
    print()
    print_table(rows)
    if ikpy_check_m is not None:
        print(
            f"(ikpy: first {rows[-1].targets:,} targets only, one call each; its chain matched "
            f"our FK to {ikpy_check_m:.1g} m on 8 random poses)"
        )

    net = rows[0]
    refined = {k: rows[i + 1] for i, k in enumerate(REFINE_STEPS)}

    def refine_goals(k: int) -> list[Goal]:
        r, cold = refined[k], cold_short[k]
        return [
            Goal(f"network + {k} DLS: median error", r.median_mm, 0.01, False, "mm"),
            Goal(f"network + {k} DLS: share within 1 mm", 100 * r.within_1mm, 99.5, True, "%"),
            Goal(
                f"network + {k} DLS vs cold DLS, same steps: within 1 mm",
                100 * r.within_1mm,
                100 * cold.within_1mm,
                True,
                "%",
            ),
            Goal(
                f"network + {k} DLS: solves/s / batched DLS",
                r.solves_per_s / reference.solves_per_s,
                2.0,
                True,
                "x",
            ),
        ]

    # "At most 3 steps": the fewest steps that meet every goal, else 3 steps with its misses.
    chosen = next(
        (k for k in REFINE_STEPS if all(g.passed for g in refine_goals(k))), max(REFINE_STEPS)
    )
    goals = [
        Goal("network: median error", net.median_mm, 5.0, False, "mm"),
        Goal(
            "network: solves/s / batched DLS",
            net.solves_per_s / reference.solves_per_s,
            20.0,
            True,
            "x",
        ),
        *refine_goals(chosen),
    ]
    print()
    print(
        f"goals (batched DLS = {reference.name}, {reference.dtype}, "
        f"{reference.solves_per_s:,.0f} solves/s; ratio >= 1 meets the goal):"
    )
    print_goals(goals)
    missed = sum(not g.passed for g in goals)
    print(
        f"  {len(goals) - missed} of {len(goals)} goals met"
        + (f", {missed} MISSED" if missed else "")
    )
    command = reproduce_command(args, network_path)
    print()
    print(f"reproduce: {command}")

    if args.json:
        document = {
            "command": command,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "cpu_count": os.cpu_count(),
            "targets": args.targets,
            "seed": args.seed,
            "network": {
                "path": str(network_path),
                "training": loaded.manifest.training,
            },
            "batched_dls_reference": reference.name + f" ({reference.dtype})",
            "refinement_steps_checked": chosen,
            "rows": [asdict(r) for r in rows],
            "goals": [asdict(g) | {"ratio": g.ratio, "passed": g.passed} for g in goals],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
