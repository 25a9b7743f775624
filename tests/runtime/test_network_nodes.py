"""Networks travel: provenance in the file, nn.save on a schedule, nn.load resumes training."""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import pytest
import torch

from atrap_studio.core.document import GraphDocument, Link, NodeDoc
from atrap_studio.core.errors import AtrapError, NetworkFileError
from atrap_studio.core.registry import Registry
from atrap_studio.core.validation import analyse
from atrap_studio.core.yaml_io import parse_graph, save_graph
from atrap_studio.runtime.arm_scene import Region
from atrap_studio.runtime.netfile import load_network
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.provenance import file_digest, weights_digest
from atrap_studio.runtime.runner import Runner


def _with_saver(doc: GraphDocument, every: int = 10) -> GraphDocument:
    saving = doc.model_copy(deep=True)
    saving.nodes.append(NodeDoc(id="keep", type="nn.save", props={"every": every}))
    saving.links.append(Link.model_validate(["brain.network", "keep.network"]))
    return saving


def _loading(doc: GraphDocument, file: str, **props: object) -> GraphDocument:
    """``doc`` with its NN Factory replaced by a Load network node reading ``file``."""
    loading = doc.model_copy(deep=True)
    brain = next(n for n in loading.nodes if n.id == "brain")
    brain.type, brain.props = "nn.load", {"file": file, **props}
    return loading


@pytest.fixture
def trained(small_doc: GraphDocument, registry: Registry, tmp_path: Path) -> Path:
    """A short run of the small arm graph with a Save network node; its final network file."""
    runner = Runner(Pipeline(_with_saver(small_doc), registry), out_dir=tmp_path / "first")
    result = runner.run(20)
    assert result.network_path is not None
    return result.network_path


def test_save_node_writes_on_its_schedule_with_provenance(
    small_doc: GraphDocument, registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATRAP_AUTHOR", "Ada")
    doc = _with_saver(small_doc, every=7)
    pipeline = Pipeline(doc, registry)
    initial = weights_digest(pipeline.network)
    Runner(pipeline, out_dir=tmp_path).run(20)
    saved = sorted(p.name for p in tmp_path.glob("network-*.atrapnet"))
    assert saved == ["network-14.atrapnet", "network-7.atrapnet"]
    made = load_network(tmp_path / "network-14.atrapnet").manifest
    assert made.training["steps"] == 14
    assert made.provenance.trained_by == "Ada" and made.provenance.origin == "trained"
    assert made.provenance.lineage == initial
    assert made.provenance.scene is not None
    assert made.provenance.scene.type == "scene.robot_arm"
    assert made.provenance.variant == "whole world" and made.provenance.created
    assert parse_graph(made.graph) == doc  # the graph travels with the network


def test_load_node_resumes_from_a_received_file(
    trained: Path, small_doc: GraphDocument, registry: Registry, tmp_path: Path
) -> None:
    received = load_network(trained)
    graph = tmp_path / "graph.yaml"
    (tmp_path / "shared").mkdir()
    copy = tmp_path / "shared" / "from-ada.atrapnet"
    copy.write_bytes(trained.read_bytes())
    save_graph(_loading(small_doc, "shared/from-ada.atrapnet"), graph)  # relative to the graph
    pipeline = Pipeline(parse_graph(graph.read_text()), registry, source=str(graph))
    for name, tensor in received.module.state_dict().items():
        assert torch.equal(pipeline.network.state_dict()[name], tensor)
    runner = Runner(pipeline, out_dir=tmp_path / "second")
    before = runner.evaluate()
    assert before == pytest.approx(received.manifest.training["evaluation"])
    result = runner.run(30)
    assert result.reason == "completed" and result.network_path is not None
    assert result.evaluation is not None
    assert result.evaluation["median_error_mm"] < before["median_error_mm"]
    child = load_network(result.network_path).manifest.provenance
    assert child.lineage == received.manifest.provenance.lineage  # one family
    assert [p.sha256 for p in child.parents] == [file_digest(copy)]
    assert child.parents[0].name == "from-ada.atrapnet" and child.origin == "imported"


def test_load_refuses_a_network_for_other_sensors(
    trained: Path, small_doc: GraphDocument, registry: Registry
) -> None:
    doc = _loading(small_doc, str(trained))
    doc.nodes.append(NodeDoc(id="tip", type="sensor.effector_position"))
    doc.links += [
        Link.model_validate(["arm.scene", "tip.scene"]),
        Link.model_validate(["tip.value", "brain.state"]),
    ]
    with pytest.raises(AtrapError) as info:
        Pipeline(doc, registry)
    message = str(info.value)
    assert "node 'brain'" in message and "does not fit this graph" in message
    assert "sensor.effector_position" in message


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (pickle.dumps({"weights": [1, 2]}), "pickle"),
        (b"\x10\x00\x00\x00\x00\x00\x00\x00{", "truncated"),
    ],
)
def test_load_refuses_hostile_files_by_name(
    content: bytes, words: str, small_doc: GraphDocument, registry: Registry, tmp_path: Path
) -> None:
    bad = tmp_path / "gift.atrapnet"
    bad.write_bytes(content)
    with pytest.raises(NetworkFileError, match=words) as info:
        Pipeline(_loading(small_doc, str(bad)), registry)
    assert str(bad) in str(info.value)


def test_save_stays_inside_the_run_folder(small_doc: GraphDocument, registry: Registry) -> None:
    for name in ("/etc/passwd.atrapnet", "../up.atrapnet", "a/../../b.atrapnet", "net.pt"):
        doc = _with_saver(small_doc)
        next(n for n in doc.nodes if n.id == "keep").props["file"] = name
        issues = [i for i in analyse(doc, registry).issues if i.node == "keep"]
        assert issues and issues[0].severity == "error", name
    doc = _with_saver(small_doc)
    next(n for n in doc.nodes if n.id == "keep").props["file"] = "saves/n-{update}.atrapnet"
    assert analyse(doc, registry).ok


def test_load_without_a_file_is_a_graph_error(small_doc: GraphDocument, registry: Registry) -> None:
    for props in ({}, {"file": ""}, {"file": "weights.pt"}):
        doc = _loading(small_doc, "x.atrapnet")
        next(n for n in doc.nodes if n.id == "brain").props = props
        issues = [i for i in analyse(doc, registry).issues if i.node == "brain"]
        assert issues and issues[0].severity == "error", props


def test_regions_split_the_targets_around_the_base() -> None:
    from atrap_studio.ik.chain import ArmGeometry
    from atrap_studio.runtime.arm_scene import ArmScene

    geometry = ArmGeometry.industrial(3)
    for index in range(4):
        scene = ArmScene(
            geometry,
            instances=2000,
            region=Region(index, 4),
            generator=torch.Generator().manual_seed(index),
        )
        azimuth = torch.atan2(scene.target[:, 1], scene.target[:, 0])
        low, high = -math.pi + index * math.pi / 2, -math.pi + (index + 1) * math.pi / 2
        inside = (azimuth >= low - 1e-5) & (azimuth <= high + 1e-5)
        assert bool(inside.all()), Region(index, 4).label
        world = scene.spawn(2000, torch.Generator().manual_seed(9), whole_world=True)
        spread = torch.atan2(world.target[:, 1], world.target[:, 0])
        assert float(spread.max() - spread.min()) > 6.0  # the whole circle
        reach = torch.linalg.vector_norm(scene.target, dim=1)
        assert float(reach.max()) <= geometry.reach  # drawn from reachable poses


def test_a_region_the_arm_cannot_reach_is_an_error_not_a_hang(
    small_doc: GraphDocument, registry: Registry
) -> None:
    from atrap_studio.core.errors import RunError

    doc = small_doc.model_copy(deep=True)
    arm = next(n for n in doc.nodes if n.type == "scene.robot_arm")
    arm.props.update(axes=["y", "y", "y"], regions=4, region=0)  # a planar arm: two sectors
    with pytest.raises(RunError, match="can hardly reach region 1 of 4"):
        Pipeline(doc, registry)
