"""``atrap experiment architect``: every contender trains, the table and the verdict say what
the numbers say, and bad budgets are refused before anything trains."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from atrap_studio.core.errors import AtrapError
from atrap_studio.core.outcome import Outcome, Score
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.runtime.architect_experiment import Result, Setup, Trial, run

TINY = Setup(
    seeds=1,
    updates=12,
    instances=32,
    test_every=6,
    test_episodes=16,
    final_episodes=16,
    small=(8, 8),
    medium=(16, 16),
    large=(24, 24),
    every=4,
)
ERROR = Outcome(Score("error_mm", "tip error", "mm", better="lower"), "near", "arm")


def test_every_contender_trains_and_the_growing_ones_change(tmp_path: Path) -> None:
    said: list[str] = []
    result = run(load_graph(example_path()), TINY, tmp_path, say=said.append)
    assert len(said) == 5 and len(result.trials) == 5
    by_name = {t.contender: t for t in result.trials}
    assert by_name["fixed large [24, 24]"].parameters > by_name["fixed small [8, 8]"].parameters
    schedule = by_name["schedule from [8, 8]"]
    assert schedule.changes == 3 and schedule.hidden == [13, 10]  # 8 -> 10, 8 -> 10, 10 -> 13
    assert all(t.cpu_s > 0 and len(t.curve) == 2 for t in result.trials)
    saved = json.loads((tmp_path / "architect.json").read_text())
    assert saved["verdict"] == result.verdict()
    assert (tmp_path / "architect.md").read_text().startswith("| network |")


def _trial(name: str, median: float, parameters: int, cpu: float) -> Trial:
    return Trial(
        name, 0, [(100, cpu, median, 0.5, parameters)], median, 0.5, parameters, parameters, cpu
    )


def test_the_verdict_checks_each_part_of_the_bar() -> None:
    setup = Setup(seeds=1)
    names = [c.name for c in setup.contenders()]
    fixed = [_trial(names[0], 30.0, 1_000, 10.0), _trial(names[1], 12.0, 10_000, 20.0)]
    fixed.append(_trial(names[2], 10.0, 100_000, 60.0))
    met = Result(setup, ERROR, [*fixed, _trial(names[4], 10.9, 40_000, 50.0)])
    assert met.best_fixed() is not None and met.best_fixed().contender == names[2]  # type: ignore[union-attr]
    assert met.verdict().startswith("The bar is met")
    too_big = Result(setup, ERROR, [*fixed, _trial(names[4], 10.5, 60_000, 50.0)])
    assert "more than half" in too_big.verdict() and "not met" in too_big.verdict()
    too_slow = Result(setup, ERROR, [*fixed, _trial(names[4], 10.5, 40_000, 61.0)])
    assert "(more)" in too_slow.verdict() and "not met" in too_slow.verdict()
    worse = Result(setup, ERROR, [*fixed, _trial(names[4], 14.0, 1_000, 5.0)])
    assert "not within 10%" in worse.verdict()
    assert "does not match the medium network (12.00 mm)" in worse.verdict()
    rows = {s.contender: s for s in met.summaries()}
    assert rows[names[4]].cpu_to_target == 50.0 and rows[names[0]].cpu_to_target is None


def test_budgets_that_cannot_answer_are_refused() -> None:
    with pytest.raises(AtrapError, match="test-every"):
        Setup(updates=10, test_every=20).check()
    with pytest.raises(AtrapError, match="at least 3"):
        Setup(every=2).check()
    with pytest.raises(AtrapError, match="target error must be 0 or more"):
        Setup(target=float("nan")).check()


def test_the_command_refuses_bad_widths_naming_the_option() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "atrap_studio.cli.main",
            "experiment",
            "architect",
            "--small",
            "8,x",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "--small" in done.stderr and "expected widths separated by commas" in done.stderr
