"""Learned IK of whole poses (position and orientation) against damped least squares, side by side.

Every solver gets the same poses of the default 6-DOF arm (the tip's position and orientation
at random in-limit joint angles, so every pose is reachable) and every answer is measured the
same way: our float64 forward kinematics of the joint angles returned, against the float64
target, as a distance (mm) and an angle (degrees). Learned rows run
atrap_studio.ik.LearnedIK (the solver behind `atrap ik` and the Reach-by-IK node) in float32 on
a network trained by the robot_arm_pose example; the baseline is the same DLS of the 6-D error
from a cold start (the middle of the limits). Batched rows time one call over all poses
(median of repeats after a warm-up).

Goal (from the issue): "Position and orientation: median <= 5 mm and <= 2 degrees after
refinement on 99% of targets", read as: after refinement, at least 99% of poses within 5 mm
and 2 degrees, and the medians within 5 mm and 2 degrees.

    .venv/bin/python benchmarks/ik_pose.py [--targets 10000] [--seed 0] [--network PATH]
        [--threads 1] [--min-time 1] [--json PATH]

Without --network it trains the robot_arm_pose example first (its own budget) and saves the
network under runs/ik-pose-benchmark/.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import torch
from ik import Goal, print_goals, timed, train_example
from torch import Tensor

from atrap_studio.core.errors import AtrapError
from atrap_studio.ik.chain import ArmChain, ArmGeometry
from atrap_studio.ik.dls import solve_dls
from atrap_studio.ik.learned import LearnedIK
from atrap_studio.ik.rotations import angle_between

GOAL_MM, GOAL_DEG, GOAL_SHARE = 5.0, 2.0, 0.99
STRICT_MM, STRICT_DEG = 1.0, 0.5
REFINE_STEPS = (3, 10, 30)


@dataclass
class Row:
    """One solver's figures on its poses."""

    name: str
    targets: int
    median_mm: float
    median_deg: float
    p95_mm: float
    p95_deg: float
    within_goal: float  # share within 5 mm and 2 degrees
    within_strict: float  # share within 1 mm and 0.5 degrees
    seconds: float
    solves_per_s: float


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=10_000, help="reachable poses")
    parser.add_argument("--seed", type=int, default=0, help="seed of the poses")
    parser.add_argument("--network", type=Path, help=".atrapnet trained on robot_arm_pose")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--min-time", type=float, default=1.0, help="seconds of repeats per batched row"
    )
    parser.add_argument(
        "--train-out",
        type=Path,
        default=Path("runs/ik-pose-benchmark"),
        help="where to train when no --network is given",
    )
    parser.add_argument(
        "--train-steps", type=int, help="training updates (default: the example's budget)"
    )
    return parser.parse_args()


def measure(
    chain64: ArmChain, q: Tensor, position: Tensor, rotation: Tensor
) -> tuple[Tensor, Tensor]:
    """Distance (mm) and angle (degrees) (N,) by our float64 FK: one yardstick for all."""
    tip, turned = chain64.pose(q.detach().to(torch.float64))
    distance = torch.linalg.vector_norm(tip - position, dim=1) * 1000.0
    return distance, torch.rad2deg(angle_between(turned, rotation))


def make_row(name: str, mm: Tensor, deg: Tensor, seconds: float) -> Row:
    n = mm.numel()
    return Row(
        name=name,
        targets=n,
        median_mm=float(mm.median()),
        median_deg=float(deg.median()),
        p95_mm=float(torch.quantile(mm, 0.95)),
        p95_deg=float(torch.quantile(deg, 0.95)),
        within_goal=float(((mm <= GOAL_MM) & (deg <= GOAL_DEG)).double().mean()),
        within_strict=float(((mm <= STRICT_MM) & (deg <= STRICT_DEG)).double().mean()),
        seconds=seconds,
        solves_per_s=n / seconds,
    )


def print_table(rows: list[Row], reference: Row) -> None:
    head = (
        f"{'solver':<40} {'median mm':>10} {'median °':>9} {'p95 mm':>9} {'p95 °':>8} "
        f"{'<=5mm,2°':>9} {'<=1mm,.5°':>9} {'solves/s':>9} {'x DLS':>6}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r.name:<40} {r.median_mm:>10.3g} {r.median_deg:>9.3g} {r.p95_mm:>9.3g} "
            f"{r.p95_deg:>8.3g} {r.within_goal:>9.2%} {r.within_strict:>9.2%} "
            f"{r.solves_per_s:>9,.0f} {r.solves_per_s / reference.solves_per_s:>5.2f}x"
        )


def reproduce_command(args: argparse.Namespace, network: Path) -> str:
    python = Path(sys.executable)
    if python.is_relative_to(Path.cwd()):
        python = python.relative_to(Path.cwd())
    parts = [str(python), "benchmarks/ik_pose.py", "--targets", str(args.targets)]
    parts += ["--seed", str(args.seed), "--network", str(network)]
    parts += ["--threads", str(args.threads), "--min-time", f"{args.min_time:g}"]
    if args.json:
        parts += ["--json", str(args.json)]
    return shlex.join(parts)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    geometry = ArmGeometry.industrial(6)
    chain32 = ArmChain(geometry, dtype=torch.float32)
    chain64 = ArmChain(geometry, dtype=torch.float64)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s), "
        f"load average {load:.2f} at the start"
    )
    position64, rotation64, _ = chain64.sample_poses(
        args.targets, torch.Generator().manual_seed(args.seed)
    )
    position32, rotation32 = position64.float(), rotation64.float()
    print(f"{args.targets:,} reachable poses of the default 6-DOF arm, seed {args.seed}")

    network_path = args.network or train_example(args.train_out, args.train_steps, "robot_arm_pose")
    try:
        learned = LearnedIK.from_file(network_path, geometry=geometry)
    except AtrapError as exc:
        sys.exit(str(exc))
    if not learned.reads_orientation:
        sys.exit(f"{network_path} does not read the target's orientation: not a pose network")
    steps = learned.manifest.training.get("steps", "?")
    print(f"network: {network_path} ({steps} updates)")

    rows: list[Row] = []

    def add(name: str, solve: Callable[[], object]) -> Row:
        result, seconds = timed(solve, args.min_time)
        q = result if isinstance(result, Tensor) else result.q  # type: ignore[attr-defined]
        rows.append(make_row(name, *measure(chain64, q, position64, rotation64), seconds))
        return rows[-1]

    def learned_solve(refine: int, fallback: bool) -> object:
        return learned.solve(position32, rotations=rotation32, refine=refine, fallback=fallback)

    add("network alone", partial(learned.guess, position32, None, rotation32))
    refined = {k: add(f"network + {k} DLS", partial(learned_solve, k, False)) for k in REFINE_STEPS}
    defaults = add(
        "network + 3 DLS, DLS from cold starts on misses", partial(learned_solve, 3, True)
    )
    add("network + 10 DLS, DLS from cold starts on misses", partial(learned_solve, 10, True))
    reference = add(
        "DLS (cold start, 100 steps)", partial(solve_dls, chain32, position32, rotations=rotation32)
    )
    add(
        "DLS (cold start, 100 steps) float64",
        partial(solve_dls, chain64, position64, rotations=rotation64),
    )

    print()
    print_table(rows, reference)

    def goals_of(row: Row) -> list[Goal]:
        return [
            Goal(f"{row.name}: median distance", row.median_mm, GOAL_MM, False, "mm"),
            Goal(f"{row.name}: median angle", row.median_deg, GOAL_DEG, False, "deg"),
            Goal(
                f"{row.name}: within 5 mm and 2°",
                100 * row.within_goal,
                100 * GOAL_SHARE,
                True,
                "%",
            ),
        ]

    goals = goals_of(defaults) + goals_of(refined[min(REFINE_STEPS)])
    print()
    print("goals (ratio >= 1 meets the goal):")
    print_goals(goals)
    met = sum(g.passed for g in goals[:3])
    print(f"  `atrap ik`'s default (first three): {met} of 3 met")
    command = reproduce_command(args, network_path)
    print()
    print(f"reproduce: {command}")
    if args.json:
        document = {
            "command": command,
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "load_average_at_start": load,
            "targets": args.targets,
            "seed": args.seed,
            "network": {"path": str(network_path), "training": learned.manifest.training},
            "rows": [asdict(r) for r in rows],
            "goals": [asdict(g) | {"ratio": g.ratio, "passed": g.passed} for g in goals],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
