"""Validation time against graph size, and what `atrap validate` spends on a big graph file.

A chain of N weighted-sum rewards, the largest graph the file format admits being 10,000 nodes.
Prints seconds per size and the growth factor per tenfold size (≈ 10 means linear). Then, for
files as the editor writes them (positions, properties), reading them side by side with ruamel's
careful round-trip reader alone (as before the fast reader existed) and as `load_graph` reads
them now (libyaml for plain files, see core/yaml_fast.py), alternated, median of the repeats;
validating; and `atrap validate FILE` end to end in a fresh process (start-up and imports
included; a 7-node example shows what start-up alone costs).

    .venv/bin/python benchmarks/validation.py [--file-sizes 1000,5000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from atrap_studio.core import yaml_io
from atrap_studio.core.document import FORMAT, GraphDocument, Link, NodeDoc
from atrap_studio.core.validation import validate
from atrap_studio.core.yaml_io import load_graph, save_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes import builtin_registry


def chain(n: int) -> GraphDocument:
    """N weighted sums, each feeding the next, placed and weighted as the editor saves them."""
    nodes = [
        NodeDoc(
            id=f"n{i}",
            type="reward.weighted_sum",
            props={"weights": [0.5]} if i else {},
            pos=(float(i % 50) * 180.0, float(i // 50) * 120.0),
        )
        for i in range(n)
    ]
    links = [Link.model_validate([f"n{i}.reward", f"n{i + 1}.terms"]) for i in range(n - 1)]
    return GraphDocument(nodes=nodes, links=links)


def careful_read(path: Path) -> GraphDocument:
    """Reading with ruamel's strict round-trip reader only, as `load_graph` did before."""
    text = path.read_text(encoding="utf-8")
    _, data = yaml_io._read_tree(text, str(path), FORMAT, "graph")
    return GraphDocument.model_validate(data)


def medians(readers: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each reader, their runs alternated."""
    times: dict[str, list[float]] = {name: [] for name in readers}
    for _ in range(repeats):
        for name, read in readers.items():
            start = time.perf_counter()
            read()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def cli_seconds(path: Path, repeats: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds of `atrap validate PATH` in a fresh process (the CPU
    time, user and system, says what it costs on a machine that others share)."""
    command = [sys.executable, "-m", "atrap_studio.cli.main", "validate", str(path)]
    wall, cpu = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)
        wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file-sizes", default="1000,5000", help="graph sizes read from files")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each reading")
    args = parser.parse_args()
    registry = builtin_registry()
    previous = None
    print(f"{'nodes':>7} {'seconds':>9} {'x per 10x nodes':>16}")
    for n in (100, 1_000, 10_000):
        doc = chain(n)
        start = time.perf_counter()
        validate(doc, registry)
        seconds = time.perf_counter() - start
        growth = "" if previous is None else f"{seconds / previous:.1f}"
        print(f"{n:>7,} {seconds:>9.3f} {growth:>16}")
        previous = seconds
    print(
        f"\n{'from a file':>12} {'ruamel only':>12} {'load_graph':>11} {'ratio':>7} "
        f"{'validate':>9} {'atrap validate':>15} {'(CPU)':>8}"
    )
    with tempfile.TemporaryDirectory() as folder:
        startup = cli_seconds(example_path("robot_arm_reach"), args.repeats)
        for n in (int(size) for size in args.file_sizes.split(",")):
            path = Path(folder) / f"chain-{n}.yaml"
            save_graph(chain(n), path)
            if careful_read(path) != load_graph(path):
                raise SystemExit(f"the two readers disagree on {path}")
            reading = medians(
                {"careful": partial(careful_read, path), "now": partial(load_graph, path)},
                args.repeats,
            )
            doc = load_graph(path)
            start = time.perf_counter()
            validate(doc, registry)
            validating = time.perf_counter() - start
            print(
                f"{f'{n:,} nodes':>12} {reading['careful']:>10.3f} s {reading['now']:>9.3f} s "
                f"{reading['careful'] / reading['now']:>6.1f}x {validating:>7.3f} s "
                "{:>13.2f} s {:>6.2f} s".format(*cli_seconds(path, args.repeats))
            )
    print(
        "`atrap validate` of the 7-node arm example (start-up, imports): "
        "{:.2f} s (CPU {:.2f} s)".format(*startup)
    )


if __name__ == "__main__":
    main()
