"""The .atrapnet network file: round trip, every refusal, and random corruption."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atrap_studio.core.errors import NetworkFileError
from atrap_studio.runtime.netfile import (
    FORMAT,
    MAX_PARAMETERS,
    SUFFIX,
    VERSION,
    LoadedNetwork,
    NetManifest,
    PortMeaning,
    describe,
    load_network,
    save_network,
)
from atrap_studio.runtime.networks import build_module, mlp
from atrap_studio.runtime.provenance import ParentRef, Provenance, SceneVariant
from atrap_studio.runtime.safefile import write_safetensors_atomic


def _manifest(hidden: tuple[int, ...] = (16, 16)) -> NetManifest:
    return NetManifest(
        architecture=mlp(9, list(hidden), 6),
        inputs=[
            PortMeaning(node="q", type="sensor.joint_angles", size=6, props={"unit": "rad"}),
            PortMeaning(node="goal", type="sensor.target_position", size=3),
        ],
        outputs=[PortMeaning(node="move", type="action.joint_targets", size=6)],
        training={"trainer": "trainer.direct", "steps": 2000, "seed": 1, "loss": 0.004},
        provenance=Provenance(
            created="2025-01-01T00:00:00+00:00",
            trained_by="ada",
            variant="region 2 of 4",
            scene=SceneVariant(type="scene.robot_arm", props={"joints": 6}),
            graph_name="Reach",
            lineage="ab" * 16,
            parents=[ParentRef(sha256="cd" * 32, name="first.atrapnet", trained_by="bob")],
        ),
        graph="format: atrap-graph\nschema_version: 1\nname: Reach\nnodes: []\n",
    )


def _saved(tmp_path: Path, name: str = "brain") -> tuple[Path, torch.nn.Module, NetManifest]:
    manifest = _manifest()
    module = build_module(manifest.architecture, generator=torch.Generator().manual_seed(3))
    path = tmp_path / f"{name}{SUFFIX}"
    save_network(path, module, manifest)
    return path, module, manifest


def _write(path: Path, tensors: dict[str, torch.Tensor], **metadata: str) -> Path:
    write_safetensors_atomic(path, tensors, metadata)
    return path


def _metadata(manifest: NetManifest | dict[str, Any]) -> dict[str, str]:
    text = manifest.model_dump_json() if isinstance(manifest, NetManifest) else json.dumps(manifest)
    return {"format": FORMAT, "version": str(VERSION), "manifest": text}


def _refused(path: Path, *words: str) -> str:
    with pytest.raises(NetworkFileError) as info:
        load_network(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    problem = message.removeprefix(f"{path}: ")
    for word in words:
        assert word in problem
    return problem


def test_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    path, module, manifest = _saved(tmp_path)
    loaded = load_network(path)
    assert isinstance(loaded, LoadedNetwork)
    assert loaded.manifest == manifest
    x = torch.randn(64, 9, generator=torch.Generator().manual_seed(0))
    assert torch.equal(loaded.module(x), module(x))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_loading_does_not_touch_the_global_rng(tmp_path: Path) -> None:
    path, _, _ = _saved(tmp_path)
    before = torch.random.get_rng_state()
    load_network(path)
    assert torch.equal(before, torch.random.get_rng_state())


def test_describe(tmp_path: Path) -> None:
    text = describe(_manifest())
    assert "9 → 16 tanh → 16 tanh → 6 tanh" in text
    assert "q (sensor.joint_angles, 6)" in text
    assert "move (action.joint_targets, 6)" in text
    assert "trainer.direct" in text and "steps 2000" in text
    assert "made: trained by ada on 2025-01-01T00:00:00+00:00" in text
    assert "scene: scene.robot_arm, region 2 of 4 (graph 'Reach')" in text
    assert "parent: first.atrapnet (cdcdcdcdcdcd) by bob" in text


def test_save_refuses_a_module_that_does_not_match(tmp_path: Path) -> None:
    manifest = _manifest()
    other = build_module(mlp(9, [8, 16], 6), generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match=r"0.weight is \[8, 9\], expected \[16, 9\]"):
        save_network(tmp_path / "x.atrapnet", other, manifest)
    module = build_module(manifest.architecture, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        module[0].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        save_network(tmp_path / "x.atrapnet", module, manifest)
    with pytest.raises(ValueError, match="float32"):
        save_network(tmp_path / "x.atrapnet", module.double(), manifest)
    assert not list(tmp_path.iterdir())


def test_ports_must_sum_to_the_architecture() -> None:
    with pytest.raises(ValueError, match=r"inputs sizes sum to 8 \(q 6 \+ goal 2\)"):
        NetManifest(
            architecture=mlp(9, [4], 6),
            inputs=[
                PortMeaning(node="q", type="sensor.joint_angles", size=6),
                PortMeaning(node="goal", type="sensor.target_position", size=2),
            ],
            outputs=[PortMeaning(node="move", type="action.joint_targets", size=6)],
        )


def test_not_a_network_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.atrapnet", {"w": torch.zeros(2)})
    _refused(path, "not an ATRAP network file", "no format")
    path = _write(tmp_path / "b.atrapnet", {"w": torch.zeros(2)}, format="pt")
    _refused(path, "not an ATRAP network file", "'pt'")


def test_newer_version(tmp_path: Path) -> None:
    path, module, manifest = _saved(tmp_path)
    metadata = _metadata(manifest) | {"version": "3"}
    _write(path, module.state_dict(), **metadata)
    _refused(path, "made by a newer ATRAP Studio (format version 3, this one reads up to 2)")


def test_version_1_files_are_migrated(tmp_path: Path) -> None:
    """Version 1 kept provenance as a free mapping; its known entries carry over."""
    _, module, manifest = _saved(tmp_path)
    old = manifest.model_dump(mode="json", exclude={"graph"}) | {
        "version": 1,
        "provenance": {
            "atrap_version": "0.0.9",
            "graph": "Reach",
            "scene": {"type": "scene.robot_arm", "props": {"joints": 6}},
            "something": "dropped",
        },
    }
    path = _write(
        tmp_path / "old.atrapnet",
        module.state_dict(),
        format=FORMAT,
        version="1",
        manifest=json.dumps(old),
    )
    made = load_network(path).manifest.provenance
    assert made.atrap_version == "0.0.9" and made.graph_name == "Reach"
    assert made.scene == SceneVariant(type="scene.robot_arm", props={"joints": 6})
    assert made.parents == [] and made.lineage is None


def test_provenance_is_checked(tmp_path: Path) -> None:
    path, module, manifest = _saved(tmp_path)
    data = manifest.model_dump(mode="json")
    data["provenance"]["parents"] = [{"sha256": "not hex", "name": "x"}]
    _write(path, module.state_dict(), **_metadata(data))
    _refused(path, "provenance.parents.0.sha256")


@pytest.mark.parametrize("version", ["0", "one", "1.0", "-1", ""])
def test_bad_version(tmp_path: Path, version: str) -> None:
    path, module, manifest = _saved(tmp_path)
    _write(path, module.state_dict(), **(_metadata(manifest) | {"version": version}))
    _refused(path, "version")


def test_manifest_not_json(tmp_path: Path) -> None:
    path, module, manifest = _saved(tmp_path)
    _write(path, module.state_dict(), **(_metadata(manifest) | {"manifest": "{not json"}))
    _refused(path, "manifest is not valid JSON")
    _write(path, module.state_dict(), **(_metadata(manifest) | {"manifest": "[1]"}))
    _refused(path, "manifest is not a JSON object")
    metadata = _metadata(manifest)
    del metadata["manifest"]
    _write(path, module.state_dict(), **metadata)
    _refused(path, "no manifest")


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda d: d.pop("outputs"), ["outputs: Field required"]),
        (lambda d: d["architecture"].pop("inputs"), ["architecture.inputs: Field required"]),
        (lambda d: d["architecture"]["layers"][1].update(kind="swish"), ["layers.1.kind"]),
        (lambda d: d.update(colour="red"), ["colour: Extra inputs"]),
        (lambda d: d["inputs"][0].update(size=7), ["inputs sizes sum to 10"]),
        (lambda d: d["outputs"][0].update(size=0), ["outputs.0.size"]),
        (lambda d: d.update(version=1), ["disagree"]),
    ],
)
def test_manifest_invalid(tmp_path: Path, edit: Any, words: list[str]) -> None:
    path, module, manifest = _saved(tmp_path)
    document = json.loads(manifest.model_dump_json())
    edit(document)
    _write(path, module.state_dict(), **_metadata(document))
    _refused(path, *words)


def test_shapes_not_matching_the_manifest(tmp_path: Path) -> None:
    path, module, manifest = _saved(tmp_path)
    state = dict(module.state_dict())
    state["2.weight"] = torch.zeros(16, 15)
    _write(path, state, **_metadata(manifest))
    _refused(path, "2.weight is [16, 15], expected [16, 16]")


def test_missing_and_extra_tensors(tmp_path: Path) -> None:
    path, module, manifest = _saved(tmp_path)
    state = dict(module.state_dict())
    del state["4.bias"]
    _write(path, state, **_metadata(manifest))
    _refused(path, "missing 4.bias")
    state = dict(module.state_dict()) | {"backdoor": torch.zeros(1)}
    _write(path, state, **_metadata(manifest))
    _refused(path, "unexpected backdoor")


def test_other_dtype_refused(tmp_path: Path) -> None:
    path, module, manifest = _saved(tmp_path)
    state = {k: v.double() for k, v in module.state_dict().items()}
    _write(path, state, **_metadata(manifest))
    _refused(path, "dtype F64")


def test_giant_claimed_architecture_is_refused_before_building(tmp_path: Path) -> None:
    giant = NetManifest(
        architecture=mlp(9, [65_536, 65_536], 6),
        inputs=[PortMeaning(node="q", type="sensor.joint_angles", size=9)],
        outputs=[PortMeaning(node="move", type="action.joint_targets", size=6)],
    )
    assert giant.architecture.parameter_count() > MAX_PARAMETERS
    _, module, _ = _saved(tmp_path)
    path = _write(tmp_path / "giant.atrapnet", module.state_dict(), **_metadata(giant))
    _refused(path, "over the limit of 50,000,000")


def test_nan_weights_refused(tmp_path: Path) -> None:
    path, module, manifest = _saved(tmp_path)
    state = {k: v.clone() for k, v in module.state_dict().items()}
    state["2.weight"][3, 4] = float("nan")
    _write(path, state, **_metadata(manifest))
    _refused(path, "'2.weight'", "non-finite")


def test_pickle_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "evil.atrapnet"
    torch.save(build_module(mlp(2, [2], 2)).state_dict(), path)
    _refused(path, "never unpickles")
    _refused(tmp_path / "absent.atrapnet", "no such file")


def _valid_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        manifest = NetManifest(
            architecture=mlp(3, [4], 2),
            inputs=[PortMeaning(node="a", type="sensor.x", size=3)],
            outputs=[PortMeaning(node="b", type="action.y", size=2)],
        )
        module = build_module(manifest.architecture, generator=torch.Generator().manual_seed(0))
        path = Path(folder) / "n.atrapnet"
        save_network(path, module, manifest)
        return path.read_bytes()


VALID = _valid_bytes()


@st.composite
def _damaged(draw: st.DrawFn) -> bytes:
    data = bytearray(VALID)
    if draw(st.booleans()):
        return bytes(data[: draw(st.integers(0, len(data) - 1))])
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    return bytes(data)


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=_damaged())
def test_damaged_files_load_or_raise_network_file_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "damaged.atrapnet"
    path.write_bytes(data)
    try:
        loaded = load_network(path)
    except NetworkFileError as exc:
        assert str(exc).startswith(f"{path}: ")
    else:
        x = torch.randn(5, 3)
        assert loaded.module(x).shape == (5, 2)
        assert all(torch.isfinite(t).all() for t in loaded.module.state_dict().values())
