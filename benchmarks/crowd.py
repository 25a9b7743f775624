"""The vast-world experiment, measured: whole-world network vs region networks, their merges
and a Flower crowd at equal scene steps; writes the table and a bar chart.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/crowd.py [--steps 3000] [--rounds 30]
        [--instances 1024] [--regions 4] [--distill-steps 4000] [--episodes 4096]
        [--no-crowd] [--no-merges] [--out runs/vast-world] [--chart docs/images/vast-world.png]
        [--crowd-distill-steps N] [--crowd-distill-batch N] [--crowd-prox-mu MU]
        [--crowd-scaffold 0|1] [--simulate] [--contender KEY=N[+KEY=N]]...

``--contender`` (repeatable) simulates crowds side by side in this process (our ServerApp and
ClientApp functions, peers one after another, no Flower processes), each with those run
settings changed from the crowd's; without it the crowd is a real Flower crowd on loopback
(or simulated with ``--simulate``).

Results go to runs/vast-world/ (vast-world.json, vast-world.md) and the chart to
docs/images/vast-world.png. Prints each contender's error as a ratio to the whole-world
network's, and the crowd's time per round against the single network's time for the same
share of the steps.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch
from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.core.yaml_io import load_graph
from atrap_studio.crowd.vast_world import Result, run, setup_from
from atrap_studio.examples import example_path


def chart(result: Result, path: Path) -> None:
    """Median error of each contender on the whole world, as horizontal bars (log scale)."""
    import math

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    del app
    width, height, left = 900, 60 + 46 * len(result.rows), 330
    image = QtGui.QImage(width, height, QtGui.QImage.Format.Format_RGB32)
    image.fill(QtGui.QColor("white"))
    painter = QtGui.QPainter(image)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    painter.setPen(QtGui.QColor("black"))
    painter.drawText(
        QtCore.QRectF(0, 8, width, 24),
        QtCore.Qt.AlignmentFlag.AlignCenter,
        "Median reach error on the whole world (mm, log scale) at equal scene steps",
    )
    errors = [row.median_error_mm for row in result.rows]
    low, high = math.log10(min(errors) / 2), math.log10(max(errors) * 2)
    for index, row in enumerate(result.rows):
        top = 44 + index * 46
        painter.setPen(QtGui.QColor("black"))
        painter.drawText(
            QtCore.QRectF(8, top, left - 16, 34),
            QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter,
            row.name,
        )
        share = (math.log10(row.median_error_mm) - low) / (high - low)
        bar = QtCore.QRectF(left, top + 4, share * (width - left - 120), 26)
        colour = "#3a78c2" if index == 0 else "#ff8c1a"
        painter.fillRect(bar, QtGui.QColor(colour))
        painter.drawText(
            QtCore.QRectF(bar.right() + 6, top, 120, 34),
            QtCore.Qt.AlignmentFlag.AlignVCenter,
            f"{row.median_error_mm:.2f} ({result.ratio(row):.2f}×)",
        )
    painter.end()
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--instances", type=int, default=1024)
    parser.add_argument("--regions", type=int, default=4)
    parser.add_argument("--distill-steps", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--no-crowd", action="store_true")
    parser.add_argument("--no-merges", action="store_true")
    parser.add_argument("--crowd-distill-steps", type=int)
    parser.add_argument("--crowd-distill-batch", type=int)
    parser.add_argument("--crowd-prox-mu", type=float)
    parser.add_argument("--crowd-scaffold", type=int, choices=(0, 1))
    parser.add_argument("--simulate", action="store_true")
    parser.add_argument("--contender", action="append")
    parser.add_argument("--episodes", type=int, help="test episodes per score (default: 4096)")
    parser.add_argument("--out", default="runs/vast-world")
    parser.add_argument("--chart", default="docs/images/vast-world.png")
    args = parser.parse_args()
    torch.set_num_threads(1)  # every contender alike; the crowd's peers use one thread each
    setup = setup_from(args)
    result = run(load_graph(example_path()), setup, Path(args.out))
    print(result.table())
    single = result.rows[0]
    for row in result.rows[1:]:
        print(f"{row.name}: {result.ratio(row):.2f}× the whole-world network's error")
    if setup.crowd and not setup.contenders:
        crowd = result.rows[-1]
        per_round = crowd.seconds / setup.crowd_rounds
        same_share = single.seconds / setup.crowd_rounds
        print(
            f"crowd: {per_round:.1f} s a round against {same_share:.1f} s for the single "
            f"network's same share of steps ({per_round / same_share:.2f}×; the ideal with "
            f"{setup.regions} free cores would be {1 / setup.regions:.2f}×)"
        )
    chart(result, Path(args.chart))
    print(f"chart: {args.chart}")


if __name__ == "__main__":
    main()
