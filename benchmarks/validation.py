"""Validation time against graph size: it must grow about linearly (hostile files are big).

A chain of N weighted-sum rewards, the largest graph the file format admits being 10,000 nodes.
Prints seconds per size and the growth factor per tenfold size (≈ 10 means linear); then what
`atrap validate` spends on such a graph from its file: reading (the strict YAML parse, the
document model) and validating.

    .venv/bin/python benchmarks/validation.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from atrap_studio.core.document import GraphDocument, Link, NodeDoc
from atrap_studio.core.validation import validate
from atrap_studio.core.yaml_io import load_graph, save_graph
from atrap_studio.nodes import builtin_registry


def chain(n: int) -> GraphDocument:
    nodes = [NodeDoc(id=f"n{i}", type="reward.weighted_sum") for i in range(n)]
    links = [Link.model_validate([f"n{i}.reward", f"n{i + 1}.terms"]) for i in range(n - 1)]
    return GraphDocument(nodes=nodes, links=links)


def main() -> None:
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
    with tempfile.TemporaryDirectory() as folder:
        for n in (1_000, 5_000):
            path = Path(folder) / f"chain-{n}.yaml"
            save_graph(chain(n), path)
            start = time.perf_counter()
            doc = load_graph(path)
            read = time.perf_counter() - start
            validate(doc, registry)
            total = time.perf_counter() - start
            print(
                f"{n:,} nodes from a file: {total:.2f} s "
                f"(reading {read:.2f} s, validating {total - read:.2f} s)"
            )


if __name__ == "__main__":
    main()
