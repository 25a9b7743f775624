"""The live views against training speed: the arm example headless, then in the editor with the
scene, neuron and curve docks all on screen, side by side in one process; and the neuron view's
redraw rate at the issue's two sizes.

    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1600x1000x24" \
        .venv/bin/python benchmarks/viewports.py [--updates 600] [--seconds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from editor import headless, in_editor
from neuron_view import LARGE, SMALL, measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=600)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="measuring time per neuron-view size"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        viewed, late, frames = in_editor(args.updates, args.threads, Path(tmp), views=True)
    plain = headless(args.updates, args.threads)
    late = sorted(late) or [float("nan")]  # no tick at all: a run shorter than one
    print(f"arm example, {args.updates} updates, {args.threads} thread(s)")
    print(f"  headless:                    {plain:7.1f} updates/s")
    print(
        f"  editor, all three views:     {viewed:7.1f} updates/s   ({viewed / plain:.0%} of "
        f"headless; goal >= 90%), {frames} frames drawn"
    )
    print(
        f"  GUI timer lateness: median {statistics.median(late):.1f} ms, "
        f"p99 {late[int(0.99 * (len(late) - 1))]:.1f} ms"
    )
    for sizes, k, goal in ((SMALL, 5_000, 30), (LARGE, 10_000, 15)):
        fps = measure(sizes, k, args.seconds)
        print(
            f"  neuron view {sum(sizes):,} neurons, top {k:,} links: {fps:6.1f} frames/s "
            f"(goal >= {goal})"
        )


if __name__ == "__main__":
    main()
