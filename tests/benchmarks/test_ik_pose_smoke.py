"""benchmarks/ik_pose.py does not rot: it trains the pose example for a few updates (no
--network), then sets learned pose IK beside DLS and checks the issue's goal.

Its own module (not test_smoke.py's table) so that it runs on its own; no test reads a timing.
"""

from __future__ import annotations

import json

from tests.benchmarks.smoke import NUMBER, Ran, Smoke, lines, one_line, smoke_fixtures

SMOKE = {
    "test_ik_pose": Smoke(
        "ik_pose.py",
        *("--targets", "40", "--min-time", "0", "--train-out", "{out}/train"),
        *("--train-steps", "5", "--json", "{out}/ik_pose.json"),
    )
}
smoke_runs, ran = smoke_fixtures(SMOKE, "offscreen")


def test_ik_pose(ran: Ran) -> None:
    out = ran.output
    assert (ran.out / "train" / "network.atrapnet").is_file()
    one_line(out, rf"torch .*, 1 thread\(s\), .* load average {NUMBER} at the start")
    figure = r"\s+[\d.e+-]+"
    row = rf"({figure}){{4}}\s+[\d.]+%\s+[\d.]+%\s+[\d,]+\s+[\d.]+x"
    names = [
        "network alone",
        *(rf"network \+ {k} DLS" for k in (3, 10, 30)),
        *(rf"network \+ {k} DLS, DLS from cold starts on misses" for k in (3, 10)),
        r"DLS \(cold start, 100 steps\)",
        r"DLS \(cold start, 100 steps\) float64",
    ]
    for name in names:
        assert len(lines(out, name + row)) == 1, f"no row for {name!r} in:\n{out}"
    goals = lines(out, rf"\s+(PASS|MISS)\s+.+\s+goal [<>]= [\d.]+\s+\S+\s+ratio\s+{NUMBER}x")
    assert len(goals) == 6, out
    one_line(out, r"\s+`atrap ik`'s default \(first three\): \d of 3 met")
    one_line(out, r"reproduce: .*benchmarks/ik_pose\.py --targets 40 .*--network .*")
    document = json.loads((ran.out / "ik_pose.json").read_text())
    assert len(document["rows"]) == len(names) and len(document["goals"]) == 6
