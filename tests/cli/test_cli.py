"""The ``atrap`` command, run in-process and once as a real program."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from atrap_studio.cli.main import main
from atrap_studio.core.document import GraphDocument
from atrap_studio.core.yaml_io import dump_graph, save_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes.specs import CATALOGUE

HEADER = "format: atrap-graph\nschema_version: 1\n"


def _arm_text() -> str:
    return example_path("robot_arm_reach").read_text()


def test_validate_ok(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(example_path("robot_arm_reach"))
    assert main(["validate", path]) == 0
    assert f"{path}: OK (7 nodes, 9 links)" in capsys.readouterr().out


BAD_GRAPHS = {
    "malformed YAML": (HEADER + "nodes: [\n  - id: a\n", "bad.yaml:4:3: YAML syntax error"),
    "unknown node type": (
        _arm_text().replace("type: sensor.joint_angles", "type: sensor.joint_angle"),
        "bad.yaml: node 'q': unknown node type 'sensor.joint_angle'",
    ),
    "wrong property kind": (
        _arm_text().replace("joints: 6,", "joints: six,"),
        "bad.yaml: node 'arm': property 'joints': expected an integer",
    ),
    "out-of-range value": (
        _arm_text().replace("joints: 6,", "joints: 12,"),
        "bad.yaml: node 'arm': property 'joints': 12 is out of range",
    ),
    "mismatched Vector sizes": (
        _arm_text().replace(
            "  - [brain.action, move.values]\n",
            "  - [brain.action, move.values]\n  - [q.value, move.values]\n",
        ),
        "bad.yaml: node 'move': input 'values' needs 6 values",
    ),
    "cycle": (
        _arm_text()
        .replace("links:\n", "links:\n  - [move.command, arm.actuators]\n", 1)
        .replace(
            "  - id: teach\n",
            "  - id: s1\n    type: reward.weighted_sum\n"
            "  - id: s2\n    type: reward.weighted_sum\n  - id: teach\n",
        )
        + "  - [s1.reward, s2.terms]\n  - [s2.reward, s1.terms]\n",
        "links form a cycle: s1 → s2 → s1",
    ),
    "missing scene": (
        _arm_text().replace("type: scene.robot_arm", "type: sensor.target_position"),
        "bad.yaml: the graph has no scene",
    ),
    "other schema version": (
        _arm_text().replace("schema_version: 1", "schema_version: 3"),
        f"bad.yaml:{_arm_text().splitlines().index('schema_version: 1') + 1}: "
        "schema_version 3 was written by a newer ATRAP Studio",
    ),
    "empty file": ("", "bad.yaml: the file is empty"),
}


@pytest.mark.parametrize("case", sorted(BAD_GRAPHS))
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_graphs_are_refused_clearly(
    case: str,
    command: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    text, expected = BAD_GRAPHS[case]
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    args = [command, str(path)] + (["--steps", "2", "--quiet"] if command == "run" else [])
    assert main(args) == 1
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert expected.replace("bad.yaml", str(path)) in output, output
    assert "Traceback" not in output
    assert path.read_text() == text
    assert not (tmp_path / "runs").exists()


def test_huge_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.write(HEADER.encode())
        handle.truncate(50 * 1024 * 1024)
    assert main(["validate", str(path)]) == 1
    assert "limited to 5 MB" in capsys.readouterr().err
    assert path.stat().st_size == 50 * 1024 * 1024


def _small_graph(tmp_path: Path, arm_doc: GraphDocument) -> Path:
    from tests.conftest import shrink

    path = tmp_path / "small.yaml"
    save_graph(shrink(arm_doc), path)
    return path


def test_run_eval_resume(
    tmp_path: Path, arm_doc: GraphDocument, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = _small_graph(tmp_path, arm_doc)
    out = tmp_path / "out"
    assert main(["run", str(graph), "--steps", "20", "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "finished its budget after 20 updates" in text
    assert "median tip error" in text and "network:" in text
    assert (out / "network.atrapnet").is_file() and (out / "metrics.csv").is_file()

    net = out / "network.atrapnet"
    assert main(["eval", str(graph), "--network", str(net), "--episodes", "500", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) >= {"median_error_mm", "p95_error_mm", "success_rate", "episodes"}
    assert result["episodes"] == 500

    ckpt = out / "checkpoints" / "ckpt-00000020.atrapckpt"
    assert (
        main(
            [
                "run",
                str(graph),
                "--steps",
                "30",
                "--out",
                str(out),
                "--resume",
                str(ckpt),
                "--quiet",
            ]
        )
        == 0
    )
    assert "after 30 updates" in capsys.readouterr().out
    assert main(["run", str(graph), "--resume", str(ckpt), "--seed", "9", "--quiet"]) == 1
    assert "drop --seed" in capsys.readouterr().err


def test_eval_refuses_a_network_of_another_graph(
    tmp_path: Path, arm_doc: GraphDocument, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = _small_graph(tmp_path, arm_doc)
    assert main(["run", str(graph), "--steps", "5", "--out", str(tmp_path / "o"), "--quiet"]) == 0
    capsys.readouterr()
    other = arm_doc.model_copy(deep=True)
    other.nodes[0].props["joints"] = 4
    other_path = tmp_path / "other.yaml"
    other_path.write_text(dump_graph(other))
    net = str(tmp_path / "o" / "network.atrapnet")
    assert main(["eval", str(other_path), "--network", net]) == 1
    assert "does not fit this graph" in capsys.readouterr().err


def test_bad_network_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pickle

    fake = tmp_path / "x.atrapnet"
    fake.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    assert main(["eval", str(example_path()), "--network", str(fake)]) == 1
    err = capsys.readouterr().err
    assert "never unpickles" in err and "Traceback" not in err


def test_nodes_and_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nodes"]) == 0
    listing = capsys.readouterr().out
    for spec in CATALOGUE:
        assert f"{spec.type} — {spec.title}" in listing
    assert main(["nodes", "sensor.joint_angle"]) == 1
    assert "did you mean sensor.joint_angles" in capsys.readouterr().err
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    jsonschema = pytest.importorskip("jsonschema")
    from ruamel.yaml import YAML

    for name in ("robot_arm_reach", "robot_arm_reach_ppo"):
        jsonschema.validate(YAML(typ="safe").load(example_path(name)), schema)
    bad = YAML(typ="safe").load(example_path())
    bad["nodes"][0]["props"]["joints"] = "six"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_example_by_name_and_unknown_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--example", "no_such_thing"]) == 1
    assert "no example named 'no_such_thing'" in capsys.readouterr().err


def test_installed_entry_point(tmp_path: Path) -> None:
    atrap = Path(sys.executable).parent / "atrap"
    out = subprocess.run(
        [str(atrap), "validate", str(example_path())], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0 and "OK" in out.stdout


def test_node_reference_in_docs_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nodes", "--markdown"]) == 0
    docs = Path(__file__).resolve().parents[2] / "docs" / "nodes.md"
    assert docs.read_text() == capsys.readouterr().out, "regenerate: atrap nodes --markdown"


def test_ctrl_c_stops_cleanly_and_keeps_a_checkpoint(
    tmp_path: Path, arm_doc: GraphDocument
) -> None:
    import signal
    import time

    graph = _small_graph(tmp_path, arm_doc)
    out = tmp_path / "out"
    atrap = Path(sys.executable).parent / "atrap"
    process = subprocess.Popen(
        [str(atrap), "run", str(graph), "--steps", "1000000", "--out", str(out), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (out / "checkpoints").is_dir() and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr  # cut short: scripts can tell
    assert "was stopped after" in stdout and "Traceback" not in stderr
    assert (out / "network.atrapnet").is_file()
    assert list((out / "checkpoints").glob("*.atrapckpt"))


def test_resume_refuses_files_that_are_not_checkpoints(
    tmp_path: Path, arm_doc: GraphDocument, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = _small_graph(tmp_path, arm_doc)
    out = tmp_path / "o"
    assert main(["run", str(graph), "--steps", "5", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    network = out / "network.atrapnet"
    assert main(["run", str(graph), "--resume", str(network), "--quiet"]) == 1
    assert "not an ATRAP checkpoint" in capsys.readouterr().err
    truncated = tmp_path / "cut.atrapckpt"
    checkpoint = next((out / "checkpoints").glob("*.atrapckpt"))
    truncated.write_bytes(checkpoint.read_bytes()[:500])
    assert main(["run", str(graph), "--resume", str(truncated), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert str(truncated) in err and "Traceback" not in err


def test_run_with_snapshots_writes_pictures(tmp_path: Path, small_doc: GraphDocument) -> None:
    from PySide6 import QtGui

    graph = tmp_path / "small.yaml"
    save_graph(small_doc, graph)
    pictures = tmp_path / "pictures"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("DISPLAY", None)
    done = subprocess.run(
        [sys.executable, "-m", "atrap_studio.cli.main", "run", str(graph), "--quiet",
         "--out", str(tmp_path / "out"), "--snapshots", str(pictures), "--snapshot-every", "10",
         "--threads", "1"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    names = sorted(p.name for p in pictures.iterdir())
    assert "curves.png" in names and "curves.csv" in names
    scenes = [n for n in names if n.startswith("scene-")]
    neurons = [n for n in names if n.startswith("neurons-")]
    assert len(scenes) >= 3 and len(neurons) == len(scenes)
    assert scenes[0] == "scene-00000000.png" and scenes[-1] == "scene-00000040.png"
    for name in (scenes[-1], neurons[-1], "curves.png"):
        image = QtGui.QImage(str(pictures / name))
        colours = {
            image.pixel(x, y)
            for x in range(0, image.width(), 9)
            for y in range(0, image.height(), 9)
        }
        assert len(colours) > 20, f"{name} looks blank"
    header = (pictures / "curves.csv").read_text().splitlines()[0]
    assert header.startswith("step,") and "loss/total" in header


def test_a_growing_network_says_each_change_on_the_command_line(
    tmp_path: Path, arm_doc: GraphDocument, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = arm_doc.model_copy(deep=True)
    brain = next(n for n in doc.nodes if n.type == "nn.factory")
    brain.props.update(hidden=[8, 8], grow="schedule", grow_every=5)
    graph = tmp_path / "grow.yaml"
    save_graph(doc, graph)
    assert main(["run", str(graph), "--steps", "10", "--out", str(tmp_path / "o")]) == 0
    printed = capsys.readouterr()  # the progress (and what it says) goes to stderr
    said = " ".join(printed.err.split())  # the console wraps long lines
    assert (
        "Update 5: the network grew — every 5 updates — widened hidden layer 0 from 8 to 10."
        in said
    )
    assert "Update 10: the network grew — every 5 updates — widened hidden layer 1" in said
