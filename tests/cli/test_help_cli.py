"""`atrap experiment help-the-network` end to end at a tiny size (real training, real files), and
bad arguments refused with a message that names them, before anything is trained or written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atrap_studio.cli.main import main
from atrap_studio.core.events import Event
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes import builtin_registry
from atrap_studio.runtime.drag_log import DRAGS_FILE, DragRecorder
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.runner import Runner

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
    assert "left out: a person's drags: no drags file given" in printed
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


def record_drags(folder: Path) -> Path:
    """A real drags.csv: a short run of the example's arm (32 arms) in which arms 3 and 20
    have their targets held and let go between updates, as the editor's drag does."""
    doc = load_graph(example_path("robot_arm_reach"))
    for node in doc.nodes:
        if node.type == "scene.robot_arm":
            node.props["instances"] = 32
        elif node.type == "nn.factory":
            node.props["hidden"] = [16]
        elif node.type == "trainer.direct":
            node.props.update(steps=8, log_every=1, eval_every=8, eval_episodes=32)
    runner = Runner(Pipeline(doc, builtin_registry()), out_dir=folder)
    recorder = DragRecorder(folder / DRAGS_FILE)
    runner.pipeline.hooks.append(recorder)
    plan = {
        1: [recorder.hold(3, (0.3, 0.2, 0.4))],
        2: [recorder.hold(20, (-0.2, 0.3, 0.5))],
        4: [recorder.hold(3, (0.35, 0.1, 0.45))],
        6: [recorder.release(3)],
    }

    def watch(event: Event) -> None:
        if event.kind == "step":
            for command in plan.get(event.step, []):
                runner.submit(command)

    runner.events.subscribe(watch)
    runner.run()
    recorder.finish()
    return folder / DRAGS_FILE


def test_a_persons_recorded_drags_are_replayed_as_a_contender(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drags = record_drags(tmp_path / "run")
    assert len(drags.read_text().splitlines()) == 4  # the header and three holds
    out = tmp_path / "helping"
    assert main([*TINY, "--out", str(out), "--success-mm", "200", "--drags", str(drags)]) == 0
    printed = capsys.readouterr().out
    data = json.loads((out / "help-the-network.json").read_text())
    names = ["random targets", "near-effector curriculum", "scripted helper"]
    replayed = "person's drags (replayed)"
    assert [t["contender"] for t in data["trials"]] == [*names, replayed] * 2
    # arm 20 of the recording is arm 4 of 16; 2 + 3 updates of arm 3, 6 of arm 4
    assert data["trials"][3]["note"] == (
        "replayed 3 held targets on 2 of 16 arms: 11 arm-updates held, 8.59% of all"
    )
    assert data["setup"]["drags"] == str(drags) and data["left_out"] is None
    assert [s["contender"] for s in data["summaries"]] == [*names, replayed]
    assert f"the {replayed}" in data["verdict"] and data["verdict"] in printed
    assert f"| {replayed} |" in (out / "help-the-network.md").read_text()
    assert "left out" not in printed


def test_a_bad_drags_file_is_refused_naming_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drags = tmp_path / "drags.csv"
    drags.write_text("update,instance,x_m,y_m,z_m,updates_held\n0,1,0.1,0.2,0.3,2\n3,1,1,2\n")
    assert main([*TINY, "--out", str(tmp_path / "out"), "--drags", str(drags)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {drags}, line 3: expected 6 values") and "Traceback" not in err
    assert not (tmp_path / "out").exists()
