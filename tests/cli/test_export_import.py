"""`atrap export --json` and `atrap import`: networks as readable JSON, read back as carefully."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from atrap_studio.cli.main import main
from atrap_studio.core.document import GraphDocument
from atrap_studio.core.yaml_io import save_graph
from atrap_studio.runtime.netfile import load_network, save_network


@pytest.fixture
def trained(tmp_path: Path, small_doc: GraphDocument) -> tuple[Path, Path]:
    graph = tmp_path / "small.yaml"
    save_graph(small_doc, graph)
    out = tmp_path / "run"
    assert main(["run", str(graph), "--steps", "5", "--quiet", "--out", str(out)]) == 0
    return graph, out / "network.atrapnet"


def test_round_trip_is_exact_and_fits_the_graph(
    tmp_path: Path, trained: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    graph, network = trained
    text = tmp_path / "net.json"
    assert main(["export", str(network), "--json", str(text)]) == 0
    data = json.loads(text.read_text())
    assert data["format"] == "atrapnet-json"
    assert data["manifest"]["architecture"]["inputs"] == 6
    assert data["parameters"]["0.weight"]["shape"] == [32, 6]
    back = tmp_path / "back.atrapnet"
    assert main(["import", str(text), "-o", str(back), "--graph", str(graph)]) == 0
    assert "checked" in capsys.readouterr().out
    original, restored = load_network(network), load_network(back)
    assert original.manifest == restored.manifest
    for (name, a), (_, b) in zip(
        original.module.state_dict().items(), restored.module.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format="other"), "not an ATRAP network in JSON"),
        (lambda d: d.update(version=99), "version 99"),
        (lambda d: d["parameters"]["0.weight"].update(shape=[3, 3]), "should have shape [32, 6]"),
        (lambda d: d["parameters"].pop("0.bias"), "do not match the architecture"),
        (lambda d: d["parameters"]["0.bias"]["values"].__setitem__(0, "1"), "is not a number"),
        (lambda d: d["parameters"]["0.bias"]["values"].__setitem__(0, True), "is not a number"),
        (lambda d: d["parameters"]["0.bias"]["values"].__setitem__(0, 1e39), "too large"),
        (lambda d: d["parameters"]["0.bias"]["values"].pop(), "a list of 32"),
        (lambda d: d["manifest"]["architecture"].update(inputs=7), "manifest.architecture"),
    ],
)
def test_hostile_json_is_refused_with_the_place(
    tmp_path: Path,
    trained: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    change: object,
    message: str,
) -> None:
    _, network = trained
    text = tmp_path / "net.json"
    assert main(["export", str(network), "--json", str(text)]) == 0
    data = json.loads(text.read_text())
    change(data)  # type: ignore[operator]
    text.write_text(json.dumps(data))
    out = tmp_path / "never.atrapnet"
    assert main(["import", str(text), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert message in err and "net.json" in err and "Traceback" not in err
    assert not out.exists()


def test_nan_and_broken_json_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, text in (("nan.json", '{"format": "atrapnet-json", "x": NaN}'), ("cut.json", "{")):
        path = tmp_path / name
        path.write_text(text)
        assert main(["import", str(path), "-o", str(tmp_path / "x.atrapnet")]) == 1
        assert name in capsys.readouterr().err


def test_info_says_what_a_file_is(
    trained: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, network = trained
    assert main(["info", str(network)]) == 0
    out = capsys.readouterr().out
    assert "network: 6 → 32 silu → 32 silu → 3 tanh" in out
    assert "made: trained by " in out and "scene: scene.robot_arm, whole world" in out


def test_onnx_export_gives_torch_actions(tmp_path: Path, trained: tuple[Path, Path]) -> None:
    import numpy as np
    import onnxruntime

    _, network = trained
    path = tmp_path / "policy.onnx"
    assert main(["export", str(network), "--onnx", str(path)]) == 0
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    observation = torch.randn(100, 6, generator=torch.Generator().manual_seed(0))
    (action,) = session.run(["action"], {"observation": observation.numpy()})
    expected = load_network(network).module(observation).detach().numpy()
    np.testing.assert_allclose(action, expected, atol=2e-6)


def test_html_export_writes_a_page_of_the_arm(tmp_path: Path, trained: tuple[Path, Path]) -> None:
    _, network = trained
    page = tmp_path / "policy.html"
    both = ["--html", str(page), "--json", str(tmp_path / "n.json")]
    assert main(["export", str(network), *both]) == 0
    text = page.read_text()
    assert "<canvas" in text and "Robot arm learns to reach" in text
    assert "http://" not in text and "https://" not in text


def test_export_needs_a_format_and_a_known_scene(
    tmp_path: Path, trained: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, network = trained
    assert main(["export", str(network)]) == 1
    assert "--json OUT, --html OUT and/or --onnx OUT" in capsys.readouterr().err
    loaded = load_network(network)
    manifest = loaded.manifest.model_copy(
        update={"provenance": loaded.manifest.provenance.model_copy(update={"scene": None})}
    )
    bare = tmp_path / "bare.atrapnet"
    save_network(bare, loaded.module, manifest)
    page = tmp_path / "never.html"
    assert main(["export", str(bare), "--html", str(page)]) == 1
    assert "names no scene" in capsys.readouterr().err
    assert not page.exists()
