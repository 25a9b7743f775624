"""benchmarks/crowd.py with simulated crowds side by side (``--contender``) does not rot: each
contender gets its row at the whole-world network's scene steps and its ratio.

Its own module (not test_smoke.py's table) so that it runs on its own; no test reads a timing.
"""

from __future__ import annotations

from tests.benchmarks.smoke import NUMBER, Ran, Smoke, one_line, smoke_fixtures

SMOKE = {
    "test_crowd_contenders": Smoke(
        "crowd.py",
        *("--steps", "4", "--instances", "64", "--regions", "2", "--rounds", "2"),
        *("--episodes", "64", "--no-merges", "--crowd-distill-steps", "0"),
        *("--contender", "prox-mu=0.1", "--contender", "scaffold=1+distill-steps=2"),
        *("--out", "{out}/vast-world", "--chart", "{out}/vast-world.png"),
    )
}
smoke_runs, ran = smoke_fixtures(SMOKE, "offscreen")


def test_crowd_contenders(ran: Ran) -> None:
    crowd = r"crowd of 2 peers \(simulated in one process, no Flower\): FedAvg"
    for what in (r" \+ FedProx mu=0\.1", r" \+ SCAFFOLD \+ distilling aggregator 2 steps × 512"):
        row = one_line(
            ran.output,
            rf"\| {crowd}{what}.* \| {NUMBER} \| {NUMBER} \| .* \| 256 \| 4 \| {NUMBER} \|",
        )
        assert row is not None
        one_line(ran.output, rf"{crowd}{what}.*: {NUMBER}× the whole-world network's error")
    assert (ran.out / "vast-world.png").is_file()
