"""benchmarks/file_digests.py does not rot: it loads both kinds of file and prints each ratio.

Its own module (not test_smoke.py's table) so that it runs on its own; no test reads a timing.
"""

from __future__ import annotations

from tests.benchmarks.smoke import NUMBER, Ran, Smoke, one_line, smoke_fixtures

SMOKE = {"test_file_digests": Smoke("file_digests.py", "--repeats", "2")}
smoke_runs, ran = smoke_fixtures(SMOKE, "offscreen")


def test_file_digests(ran: Ran) -> None:
    one_line(
        ran.output, r"arm example network: [\d,]+ parameters, 1 thread, median of 2 loads each"
    )
    for label in ("network", "checkpoint"):
        timing = rf"\s+{NUMBER} ms\s+{NUMBER} ms\s+{NUMBER}x"
        one_line(ran.output, rf"{label}\s+[\d,]+{timing}{timing}")
