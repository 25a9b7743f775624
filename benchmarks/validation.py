"""Validation time against graph size: it must grow about linearly (hostile files are big).

A chain of N weighted-sum rewards, the largest graph the file format admits being 10,000 nodes.
Prints seconds per size and the growth factor per tenfold size (≈ 10 means linear).

    .venv/bin/python benchmarks/validation.py
"""

from __future__ import annotations

import time

from atrap_studio.core.document import GraphDocument, Link, NodeDoc
from atrap_studio.core.validation import validate
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


if __name__ == "__main__":
    main()
