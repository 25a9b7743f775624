"""`atrap experiment help-the-network` end to end at a tiny size (real training, real files), and
bad arguments refused with a message that names them, before anything is trained or written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atrap_studio.cli.main import main
from atrap_studio.examples import example_path

TINY = [
    "experiment",
    "help-the-network",
    "--seeds",
    "2",
    "--updates",
    "8",
    "--instances",
    "16",
    "--test-every",
    "4",
    "--test-episodes",
    "32",
    "--final-episodes",
    "64",
    "--hidden",
    "16",
]


def test_a_tiny_experiment_writes_its_table_chart_and_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "helping"
    assert main([*TINY, "--out", str(out), "--success-mm", "200"]) == 0
    printed = capsys.readouterr().out
    data = json.loads((out / "help-the-network.json").read_text())
    names = ["random targets", "near-effector curriculum", "scripted helper"]
    assert [t["contender"] for t in data["trials"]] == names * 2
    assert [t["seed"] for t in data["trials"]] == [0, 0, 0, 1, 1, 1]
    for trial in data["trials"]:
        assert [point[0] for point in trial["curve"]] == [4, 8]
        assert 0 < trial["final_median_mm"] < 5000 and 0 <= trial["final_success"] <= 1
    assert "moved targets further" in data["trials"][2]["note"]
    assert data["setup"]["success_mm"] == 200.0 and data["setup"]["hidden"] == [16]
    assert data["verdict"] in printed and data["verdict"].endswith("(2 seeds each, equal updates).")
    assert "| scripted helper |" in (out / "help-the-network.md").read_text()
    assert "left out: a person's real drags" in printed
    chart = (out / "help-the-network.png").read_bytes()
    assert chart.startswith(b"\x89PNG") and len(chart) > 10_000


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--goal", "1.5"], "--goal: must be more than 0 and at most 1, got 1.5"),
        (["--goal", "most"], "--goal: expected a share such as 0.9, got 'most'"),
        (["--hidden", "64,x"], "--hidden: expected widths separated by commas"),
        (["--hidden", "64,0"], "--hidden: every layer needs at least one neuron"),
        (["--success-mm", "-3"], "--success-mm: must be more than 0"),
        (["--seeds", "0"], "--seeds: must be at least 1"),
    ],
)
def test_bad_options_are_refused_by_name(
    options: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as ended:
        main([*TINY, *options, "--out", str(tmp_path / "out")])
    assert ended.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--test-every", "50"], "test-every (50) is more than the updates (8)"),
        ([str(example_path("robot_arm_reach_ppo"))], "the direct trainer"),
        (["missing.yaml"], "missing.yaml"),
    ],
)
def test_experiments_that_cannot_answer_are_refused(
    arguments: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*TINY, *arguments, "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
