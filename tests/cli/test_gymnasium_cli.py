"""A gymnasium scene through the command line: run, pictures, eval, export refused clearly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from atrap_studio.cli.main import main
from atrap_studio.core.yaml_io import load_graph, save_graph
from atrap_studio.examples import example_path
from tests.conftest import shrink


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A tiny CartPole graph (copies drawn one after another), run with --snapshots."""
    folder = tmp_path_factory.mktemp("cartpole")
    doc = shrink(
        load_graph(example_path("cartpole_ppo")),
        steps=6,
        eval_every=3,
        eval_episodes=16,
        horizon=16,
    )
    doc.node("cartpole").props["vectorize"] = "copies"  # type: ignore[union-attr]
    graph = folder / "cartpole.yaml"
    save_graph(doc, graph)
    pictures = folder / "pictures"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("DISPLAY", None)
    done = subprocess.run(
        [sys.executable, "-m", "atrap_studio.cli.main", "run", str(graph), "--out",
         str(folder / "out"), "--snapshots", str(pictures), "--snapshot-every", "3",
         "--threads", "1"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "median episode return" in done.stdout and "succeeded (return of at least 475)" in (
        done.stdout
    )
    return graph, folder / "out" / "network.atrapnet", pictures


def test_snapshots_draw_the_environment_frames(trained: tuple[Path, Path, Path]) -> None:
    from PySide6 import QtGui

    pictures = trained[2]
    scenes = sorted(pictures.glob("scene-*.png"))
    assert len(scenes) >= 2
    image = QtGui.QImage(str(scenes[-1]))
    white = QtGui.QColor(255, 255, 255).rgb()  # CartPole draws on white
    centre = [
        image.pixel(x, y)
        for x in range(image.width() // 4, 3 * image.width() // 4, 7)
        for y in range(image.height() // 3, 2 * image.height() // 3, 7)
    ]
    assert centre.count(white) > len(centre) // 2, "no CartPole frame in the picture"
    assert len(set(centre)) > 3, "the frame shows no cart or pole"


def test_eval_speaks_of_returns(
    trained: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    graph, network, _ = trained
    args = ["eval", str(graph), "--network", str(network), "--episodes", "8", "--threads", "1"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "episode return: median" in text and "higher is better" in text
    assert main([*args, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["episodes"] == 8 and summary["median_return"] >= 8  # a pole stands 8+ steps


def test_web_page_export_is_refused_with_the_reason(
    trained: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "policy.html"
    assert main(["export", str(trained[1]), "--html", str(page)]) == 1
    err = capsys.readouterr().err
    assert "scene.gymnasium (kind 'frame')" in err and "JSON or ONNX" in err
    assert not page.exists()
    onnx = tmp_path / "policy.onnx"
    assert main(["export", str(trained[1]), "--onnx", str(onnx)]) == 0 and onnx.is_file()


def test_validate_names_a_missing_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = load_graph(example_path("cartpole_ppo"))
    doc.node("cartpole").props["env_id"] = "Nope-v0"  # type: ignore[union-attr]
    graph = tmp_path / "nope.yaml"
    save_graph(doc, graph)
    assert main(["validate", str(graph)]) == 1
    err = capsys.readouterr()
    text = err.out + err.err
    assert "node 'cartpole'" in text and "no gymnasium environment 'Nope-v0'" in text
    assert "Traceback" not in text
