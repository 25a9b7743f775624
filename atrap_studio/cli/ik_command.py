"""``atrap ik``: solve inverse kinematics for a file of targets with a trained network.

Targets come from a CSV file of ``x,y,z`` rows in metres, or ``x,y,z,qw,qx,qy,qz`` rows for
whole poses (the tip's orientation as a quaternion); every bad row is named with its line
before anything is solved. The answers go to a CSV file (or stdout) with the joint angles, the
error reached and a status per row; targets the arm cannot reach are flagged and named, never
returned as silent garbage.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import sys
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from atrap_studio.cli.arguments import natural, number_above, positive
from atrap_studio.core.errors import AtrapError

if TYPE_CHECKING:
    import numpy as np

    from atrap_studio.ik.learned import LearnedIK, LearnedIKResult

#: Bad rows or flagged targets named one by one before the rest are only counted.
MAX_NAMED = 10
#: Targets solved untimed first, so the speed reported is not the first call's set-up.
_WARM_UP = 64
STATUS_REACHED = "reached"
STATUS_MISSED = "missed"
STATUS_BEYOND = "beyond_reach"
POSITION_COLUMNS = ("x", "y", "z")
POSE_COLUMNS = ("x", "y", "z", "qw", "qx", "qy", "qz")


def add_parser(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    threads: int,
) -> None:
    """The ``ik`` command; ``threads`` is the default thread count."""
    ik = commands.add_parser(
        "ik",
        help="solve inverse kinematics for a CSV file of targets with a trained arm network",
        description="The network's guess of the joint angles for each target, then a few "
        "damped-least-squares steps from it (batched). Writes one row per target: the target, "
        "the joint angles in radians, the distance left in mm (and, for poses, the angle left "
        "in degrees) and a status (reached, missed, beyond_reach).",
    )
    ik.add_argument("network", metavar="NET", help=".atrapnet file of a network trained on the arm")
    ik.add_argument(
        "--targets",
        required=True,
        metavar="CSV",
        help="x,y,z rows in metres, or x,y,z,qw,qx,qy,qz rows for poses (the tip's orientation "
        "as a quaternion); a header is allowed",
    )
    ik.add_argument(
        "--refine",
        type=natural,
        metavar="STEPS",
        default=3,
        help="damped-least-squares steps after the network's guess (0: the network alone; "
        "default %(default)s)",
    )
    ik.add_argument(
        "--tolerance-mm",
        type=number_above(0, expected="a number of mm"),
        metavar="MM",
        default=1.0,
        help="distance that counts as reached, mm (default %(default)s)",
    )
    ik.add_argument(
        "--tolerance-deg",
        type=number_above(0, expected="a number of degrees"),
        metavar="DEG",
        default=0.5,
        help="for poses: angle to the target's orientation that counts as reached, degrees "
        "(default %(default)s)",
    )
    ik.add_argument(
        "--metres-per-radian",
        type=number_above(0, expected="a number of metres"),
        metavar="M",
        default=0.15,
        help="for poses: how the refinement weighs an angle against a distance, metres per "
        "radian (default %(default)s: 2 degrees weigh as 5.2 mm)",
    )
    ik.add_argument(
        "--no-fallback",
        dest="fallback",
        action="store_false",
        help="leave targets the refinement misses as they are; by default they are solved "
        "again by DLS from a cold start (slower for them, right for nearly all)",
    )
    ik.add_argument(
        "-o", "--out", metavar="CSV", help="where to write the solutions (default: stdout)"
    )
    ik.add_argument(
        "--threads",
        type=positive,
        metavar="N",
        default=threads,
        help="torch threads (default: the usable cores, %(default)s here)",
    )


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from atrap_studio.ik.learned import LearnedIK

    targets_path = Path(args.targets)
    if args.out and _same_file(Path(args.out), targets_path):
        raise AtrapError(f"{args.out}: is the targets file; write the solutions elsewhere")
    solver = LearnedIK.from_file(args.network, dtype=torch.float64)
    targets, lines = read_targets(targets_path)
    poses = targets.shape[1] == len(POSE_COLUMNS)
    if solver.reads_orientation and not poses:
        raise AtrapError(
            f"{args.network} was trained on poses (it reads the target's orientation): give "
            f"{targets_path} rows x,y,z,qw,qx,qy,qz, the tip's orientation as a quaternion"
        )
    torch.set_num_threads(args.threads)
    tolerance = args.tolerance_mm / 1000.0
    target_t = torch.from_numpy(targets[:, :3].copy())
    rotations = None
    if poses:
        from atrap_studio.ik.rotations import from_quaternion

        rotations = from_quaternion(torch.from_numpy(targets[:, 3:].copy()))
    solve = partial(
        solver.solve,
        refine=args.refine,
        tolerance=tolerance,
        fallback=args.fallback,
        angle_tolerance=math.radians(args.tolerance_deg),
        metres_per_radian=args.metres_per_radian,
    )
    solve(target_t[:_WARM_UP], rotations=None if rotations is None else rotations[:_WARM_UP])
    started = time.perf_counter()
    result = solve(target_t, rotations=rotations)
    seconds = time.perf_counter() - started

    status = _statuses(result)
    text = solutions_csv(targets, result, status)
    if args.out:
        _write_atomic(Path(args.out), text)
        report = sys.stdout
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
        report = sys.stderr
    _warn_flagged(targets_path, targets, lines, result, status, solver, args)

    error_mm = result.error.numpy() * 1000.0
    guess_mm = result.guess_error.numpy() * 1000.0
    n = len(error_mm)
    reached = int(result.reached.sum())
    steps = f"network + up to {args.refine} DLS steps" if args.refine else "network alone"
    if args.fallback:
        steps += ", cold-start DLS where they miss"
    print(
        f"{args.network}: {solver.joints}-joint arm{_variant(solver)}, {steps}, "
        f"{args.threads} thread(s)",
        file=report,
    )
    within = f"within {args.tolerance_mm:g} mm"
    if result.angle is not None:
        within += f" and {args.tolerance_deg:g}°"
    print(
        f"{n:,} {'poses' if poses else 'targets'}: error median {_mm(np.median(error_mm))}, "
        f"p95 {_mm(np.percentile(error_mm, 95))}, max {_mm(error_mm.max())}; "
        f"{reached:,} ({reached / n:.1%}) {within}",
        file=report,
    )
    if result.angle is not None:
        angle_deg = np.degrees(result.angle.numpy())
        print(
            f"angle error median {_deg(np.median(angle_deg))}, "
            f"p95 {_deg(np.percentile(angle_deg, 95))}, max {_deg(angle_deg.max())}",
            file=report,
        )
    if args.refine:
        alone = (
            f"the network alone: median {_mm(np.median(guess_mm))}, "
            f"p95 {_mm(np.percentile(guess_mm, 95))}"
        )
        if result.guess_angle is not None:
            guess_deg = np.degrees(result.guess_angle.numpy())
            alone += (
                f"; angle median {_deg(np.median(guess_deg))}, "
                f"p95 {_deg(np.percentile(guess_deg, 95))}"
            )
        print(alone, file=report)
    rescued = int(result.rescued.sum())
    if rescued:
        print(
            f"{rescued:,} target(s) ({rescued / n:.1%}) missed by the network and its refinement "
            "were solved again by DLS from a cold start",
            file=report,
        )
    print(
        f"{n / seconds:,.0f} solves/s ({seconds:.3g} s for the solve; reading and writing the "
        "files not counted)",
        file=report,
    )
    if args.out:
        print(f"solutions: {args.out}", file=report)
    return 0


def read_targets(path: Path) -> tuple[np.ndarray, list[int]]:
    """Targets (N, 3) in metres, or poses (N, 7) with a quaternion (w, x, y, z) each, from a
    CSV file, and the line each came from.

    Blank lines and lines starting with ``#`` are skipped, and a first row ``x,y,z`` (or
    ``x,y,z,qw,qx,qy,qz``) is a header. The first target's row says which: every row must
    then have as many values.

    Raises:
        AtrapError: naming every bad row (up to MAX_NAMED) by its line; nothing is solved then.
    """
    import numpy as np

    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AtrapError(
            f"{path}: not a text (UTF-8) file: byte {exc.start} cannot be read; "
            "expected x,y,z rows in metres"
        ) from None
    rows: list[list[float]] = []
    width: int | None = None
    lines: list[int] = []
    problems: list[str] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    first = True
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"line {reader.line_num}: {exc}")
            break
        line = reader.line_num
        fields = [field.strip() for field in row]
        if not any(fields) or fields[0].startswith("#"):
            continue
        header, first = first, False
        if header and tuple(field.lower() for field in fields) in (POSITION_COLUMNS, POSE_COLUMNS):
            continue
        if width is None and len(fields) in (len(POSITION_COLUMNS), len(POSE_COLUMNS)):
            width = len(fields)
        problem = _row_problem(fields, width)
        if problem:
            problems.append(f"line {line}: {problem}")
            continue
        rows.append([float(field) for field in fields])
        lines.append(line)
    if problems:
        named = "\n".join(f"  {p}" for p in problems[:MAX_NAMED])
        more = len(problems) - MAX_NAMED
        tail = f"\n  ... and {more} more" if more > 0 else ""
        raise AtrapError(
            f"{path}: {len(problems)} bad row(s); nothing was solved. Each row is x,y,z in "
            f"metres, or x,y,z,qw,qx,qy,qz for poses:\n{named}{tail}"
        )
    if not rows:
        raise AtrapError(f"{path}: holds no targets; expected x,y,z rows in metres")
    return np.array(rows, dtype=np.float64), lines


def _row_problem(fields: list[str], width: int | None) -> str:
    """What is wrong with one row's fields ("" when it is ``width`` finite numbers; a
    quaternion must not be all zeros). ``width`` is None until a row of 3 or 7 values came."""
    shown = ",".join(fields)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    if width is None:
        return f"expected 3 values x,y,z or 7 x,y,z,qw,qx,qy,qz, got {len(fields)}: {shown!r}"
    names = POSITION_COLUMNS if width == len(POSITION_COLUMNS) else POSE_COLUMNS
    if len(fields) != width:
        return (
            f"expected {width} values {','.join(names)} as in the rows before, got "
            f"{len(fields)}: {shown!r}"
        )
    values = []
    for name, field in zip(names, fields, strict=True):
        try:
            value = float(field)
        except ValueError:
            return f"{name} is {field[:40]!r}, not a number"
        if not math.isfinite(value):
            return f"{name} is {field[:40]!r}; a target needs finite coordinates"
        values.append(value)
    if width == len(POSE_COLUMNS) and math.hypot(*values[3:]) < 1e-9:
        return "the quaternion qw,qx,qy,qz is all zeros: it is no orientation"
    return ""


def solutions_csv(targets: np.ndarray, result: LearnedIKResult, status: list[str]) -> str:
    """The solutions as CSV text: the target, joint angles (rad), error (mm), for poses the
    angle error (degrees), and status."""
    joints = result.q.shape[1]
    columns = POSE_COLUMNS if targets.shape[1] == len(POSE_COLUMNS) else POSITION_COLUMNS
    angle = [] if result.angle is None else [repr(math.degrees(v)) for v in result.angle.tolist()]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = [*columns, *(f"joint{i + 1}_rad" for i in range(joints)), "error_mm"]
    writer.writerow([*header, *(["angle_error_deg"] if angle else []), "status"])
    q = result.q.numpy().tolist()
    error_mm = (result.error.numpy() * 1000.0).tolist()
    for i, (target, angles, err, state) in enumerate(
        zip(targets.tolist(), q, error_mm, status, strict=True)
    ):
        row = [*map(repr, target), *map(repr, angles), repr(err)]
        writer.writerow([*row, *([angle[i]] if angle else []), state])
    return out.getvalue()


def _statuses(result: LearnedIKResult) -> list[str]:
    reached = result.reached.tolist()
    beyond = result.beyond_reach.tolist()
    return [
        STATUS_REACHED if r else STATUS_BEYOND if b else STATUS_MISSED
        for r, b in zip(reached, beyond, strict=True)
    ]


def _warn_flagged(
    path: Path,
    targets: np.ndarray,
    lines: list[int],
    result: LearnedIKResult,
    status: list[str],
    solver: LearnedIK,
    args: argparse.Namespace,
) -> None:
    """Name the rows not reached on stderr: beyond the arm's reach, or missed by the solve."""
    flagged = [i for i, state in enumerate(status) if state != STATUS_REACHED]
    reach = solver.geometry.reach
    for i in flagged[:MAX_NAMED]:
        x, y, z = targets[i][:3]
        where = f"{path} line {lines[i]}: target ({x:g}, {y:g}, {z:g})"
        if status[i] == STATUS_BEYOND:
            distance = math.hypot(x, y, z)
            why = (
                f"is {distance:.4g} m from the base, beyond the arm's reach of {reach:.4g} m; "
                "the answer stretches the arm towards it"
            )
        else:
            away = f"{float(result.error[i]) * 1000:.3g} mm away"
            if result.angle is not None:
                away += f", turned {math.degrees(float(result.angle[i])):.3g}° from its orientation"
            if args.fallback:
                held = "it" if result.angle is None else "it, or from being turned so there"
                why = (
                    f"not reached, even by DLS from cold starts: {away} (within the arm's "
                    f"length: its joint limits may keep the tip from {held}, or the solver "
                    "did not find the way)"
                )
            else:
                why = f"not reached: {away}; more --refine steps or the fallback may help"
        print(f"warning: {where} {why}", file=sys.stderr)
    if len(flagged) > MAX_NAMED:
        print(
            f"warning: ... and {len(flagged) - MAX_NAMED} more rows not reached (status in "
            "the solutions)",
            file=sys.stderr,
        )


def _variant(solver: LearnedIK) -> str:
    """Where in the workspace the network learned, when it learned in part of it only: its
    guesses elsewhere are poor (the refinement and fallback still reach those targets)."""
    variant = solver.manifest.provenance.variant
    return f" (trained on {variant})" if variant and variant != "whole world" else ""


def _mm(value: float) -> str:
    return f"{value:.3g} mm"


def _deg(value: float) -> str:
    return f"{value:.3g}°"


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _write_atomic(path: Path, text: str) -> None:
    """Write the whole file or none of it: a half-written solutions file would look valid."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
