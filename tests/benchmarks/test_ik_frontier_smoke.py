"""benchmarks/ik_frontier.py does not rot: it trains the example (a few updates) as the teacher,
makes tiny candidates by both methods (the example's trainer, one reading the target only; and
students distilled by the merge code), measures them beside DLS, FABRIK and ikpy, prints the
table with ratios to DLS and the goals, and draws the chart.

Its own module (not test_smoke.py's table) so that it runs on its own; no test reads a timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.benchmarks.smoke import (
    BENCHMARKS,
    NUMBER,
    REPO,
    Ran,
    Smoke,
    lines,
    one_line,
    smoke_fixtures,
)

TINY = ("--steps", "3", "--teacher-steps", "3", "--targets", "40", "--rounds", "1")
SMOKE = {
    "test_ik_frontier_direct": Smoke(
        "ik_frontier.py",
        *TINY,
        *("--sizes", "1x8,2x8:target", "--ikpy-targets", "2"),
        *("--out", "{out}/frontier", "--chart", "{out}/frontier.png", "--json", "{out}/f.json"),
    ),
    "test_ik_frontier_distill": Smoke(
        "ik_frontier.py",
        *TINY,
        *("--method", "distill", "--sizes", "1x8", "--ikpy-targets", "0"),
        *("--out", "{out}/frontier", "--chart", "{out}/frontier.png", "--json", "{out}/f.json"),
    ),
}
smoke_runs, ran = smoke_fixtures(SMOKE, "offscreen")

ROW = rf"\s+40\s+{NUMBER}(e[+-]\d+)?\s+{NUMBER}(e[+-]\d+)?\s+[\d.]+%\s+{NUMBER}\s+{NUMBER}x( \*)?"


def check(ran: Ran, names: list[str], made_by: str) -> dict[str, Any]:
    out = ran.output
    for name in names:
        one_line(out, rf"{name}\s+{made_by}\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+{NUMBER}s")
        one_line(out, rf"{name}{ROW}")
        for k in (1, 2, 3):
            one_line(out, rf"{name} \+ {k} DLS{ROW}")
        verdict = rf"{name}\s+\S+\s+{NUMBER}x\s+(met|MISS)\s+[123]\s+\S+\s+[\d.]+%\s+"
        one_line(out, verdict + rf"{NUMBER}x\s+(met|MISS)")
    for solver in ("DLS", "FABRIK"):
        one_line(out, rf"{solver} \(cold start\){ROW}")
    assert (ran.out / "frontier.png").stat().st_size > 10_000
    document: dict[str, Any] = json.loads((ran.out / "f.json").read_text())
    assert [made["name"] for made in document["made"]] == ["example", *names]
    return document


def test_ik_frontier_direct(ran: Ran) -> None:
    """The example trained first as the reference; candidates by its own trainer, their graphs
    kept for `atrap run`; ikpy on its subset."""
    check(ran, ["1x8", "2x8:target"], "direct")
    one_line(ran.output, rf"example\s+direct\s+[\d,]+\s+[\d,]+\s+3\s+{NUMBER}s")
    assert lines(ran.output, r"ikpy [\d.]+\s+2\s+.*x")
    graph = (ran.out / "frontier" / "2x8-target" / "graph.yaml").read_text()
    assert "hidden: [8, 8]" in graph and "sensor.joint_angles" not in graph
    check_redraw(ran)
    one_line(ran.output, r"reproduce: .*benchmarks/ik_frontier\.py --steps 3 .*")


def test_ik_frontier_distill(ran: Ran) -> None:
    """Students of the example's network, taught by the merge code."""
    document = check(ran, ["1x8"], "distill")
    assert document["made"][1]["command"].startswith(".venv/bin/atrap merge ")
    assert not lines(ran.output, r"ikpy .*")


def check_redraw(ran: Ran) -> None:
    """``--redraw`` draws the chart again from a run's --json file, without measuring; a file
    that is not one is refused in one line."""
    command = [sys.executable, str(BENCHMARKS / "ik_frontier.py"), "--redraw"]
    chart = ran.out / "redrawn.png"
    done = subprocess.run(
        [*command, str(ran.out / "f.json"), "--chart", str(chart)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"chart: {chart}"
    assert chart.stat().st_size > 10_000
    (ran.out / "other.json").write_text('{"made": []}')
    refused = subprocess.run(
        [*command, str(ran.out / "other.json"), "--chart", str(ran.out / "no.png")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 1
    assert "other.json: not the figures of a --json file" in refused.stderr
    assert "Traceback" not in refused.stderr
