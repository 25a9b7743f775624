"""benchmarks/file_digests.py does not rot: it loads both kinds of file (networks of two sizes),
checked with BLAKE3, checked with the SHA-256 digests of older files and unchecked, and prints
each variant's ratios.

Its own module (not test_smoke.py's table) so that it runs on its own; no test reads a timing.
"""

from __future__ import annotations

from tests.benchmarks.smoke import NUMBER, Ran, Smoke, lines, one_line, smoke_fixtures

SMOKE = {"test_file_digests": Smoke("file_digests.py", "--repeats", "2", "--widths", "64,256")}
smoke_runs, ran = smoke_fixtures(SMOKE, "offscreen")


def test_file_digests(ran: Ran) -> None:
    one_line(ran.output, r"arm example network: [\d,]+ parameters, torch on 1 thread, 2 loads each")
    one_line(ran.output, rf"machine: \d+ CPUs, load average {NUMBER} at the start")
    for label in ("network, hidden 64", "network, hidden 256", "checkpoint"):
        one_line(ran.output, rf"{label} \([\d,]+ bytes\)")
    timing = rf"\s+{NUMBER} ms\s+{NUMBER}x"
    for variant in ("unchecked", "checked", "checked, SHA-256"):  # one row per file
        assert len(lines(ran.output, rf"\s+{variant}{timing}{timing}{timing}")) == 3, ran.output
