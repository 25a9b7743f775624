"""Merging networks trained apart: averaging is refused for strangers, distillation covers all."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.registry import Registry
from atrap_studio.runtime.architect.surgery import hidden_widths
from atrap_studio.runtime.merge import (
    DEFAULT_DISTILL_LR,
    MergeError,
    aligned_architecture,
    load_sources,
    merge,
    padded_state,
    trained_rate,
)
from atrap_studio.runtime.netfile import load_network, save_network
from atrap_studio.runtime.networks import build_module
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.provenance import file_digest
from atrap_studio.runtime.runner import Runner


def _region_doc(doc: GraphDocument, region: int, regions: int = 2, seed: int = 0) -> GraphDocument:
    regional = doc.model_copy(deep=True)
    for node in regional.nodes:
        if node.type == "scene.robot_arm":
            node.props.update(region=region, regions=regions)
        if node.type == "nn.factory":
            node.props["seed"] = seed
    return regional


def _train(doc: GraphDocument, registry: Registry, out: Path, steps: int = 150) -> Path:
    result = Runner(Pipeline(doc, registry), out_dir=out).run(steps)
    assert result.network_path is not None
    return result.network_path


@pytest.fixture(scope="module")
def regional(tmp_path_factory: pytest.TempPathFactory, registry: Registry) -> list[Path]:
    """Two networks, each trained only on its own half of the arm's workspace (one init)."""
    from atrap_studio.core.yaml_io import load_graph
    from atrap_studio.examples import example_path
    from tests.conftest import shrink

    torch.set_num_threads(1)
    doc = shrink(load_graph(example_path("robot_arm_reach")), lr=0.01, explore_steps=30)
    folder = tmp_path_factory.mktemp("regional")
    return [_train(_region_doc(doc, r), registry, folder / f"r{r}") for r in range(2)]


def test_distilled_student_answers_for_both_regions(
    regional: list[Path], registry: Registry
) -> None:
    sources = load_sources(regional, registry)
    assert [s.label for s in sources] == [
        "network.atrapnet (region 1 of 2)",
        "network.atrapnet (region 2 of 2)",
    ]
    merged = merge(sources, "distill", steps=600, lr=1e-2, episodes=512)
    rows = merged.report.rows
    for row in rows:  # close to each region's own specialist, on that region
        assert float(row["merged_median"]) < 1.5 * float(row["own_median"]), row
    # each specialist is worse on the other's region than the student
    other = sources[0].scene.evaluate(sources[1].network.module, 512, 7).summary()
    assert other["median_error_mm"] > float(rows[0]["merged_median"])
    made = merged.manifest.provenance
    assert made.origin == "merged-distill"
    assert [p.sha256 for p in made.parents] == [file_digest(p) for p in regional]
    assert made.variant == "merged: region 1 of 2 + region 2 of 2"
    assert merged.manifest.training["scores"] == rows


def test_distillation_learns_at_the_rate_the_networks_were_trained_at(
    regional: list[Path], registry: Registry, tmp_path: Path
) -> None:
    """Without a rate, the student learns at the one its graph trains at (the file's own
    graph), not at the default tuned for a larger network."""
    sources = load_sources(regional, registry)
    assert trained_rate(sources[0].scene) == 0.01  # the regional graphs' direct trainer
    once = merge(sources, "distill", steps=20, episodes=64)
    again = merge(sources, "distill", steps=20, lr=0.01, episodes=64)
    for mine, theirs in zip(
        once.module.state_dict().values(), again.module.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(mine, theirs)
    slower = merge(sources, "distill", steps=20, lr=DEFAULT_DISTILL_LR, episodes=64)
    assert not torch.equal(once.module[0].weight, slower.module[0].weight)
    assert once.manifest.training["distill_lr"] == 0.01  # the file says how it was made
    assert once.report.lines()[0] == "merged by distill at learning rate 0.01"


def test_average_of_one_lineage(regional: list[Path], registry: Registry) -> None:
    sources = load_sources(regional, registry)
    merged = merge(sources, "average", weights=[3, 1], episodes=256)
    first, second = (s.network.module.state_dict() for s in sources)
    for name, tensor in merged.module.state_dict().items():
        torch.testing.assert_close(tensor, 0.75 * first[name] + 0.25 * second[name])
    assert merged.manifest.provenance.lineage == sources[0].network.manifest.provenance.lineage
    assert len(merged.report.rows) == 2 and not merged.report.warnings


def test_average_refuses_strangers_unless_told(
    regional: list[Path], registry: Registry, small_doc: GraphDocument, tmp_path: Path
) -> None:
    stranger = _train(_region_doc(small_doc, 1, seed=5), registry, tmp_path, steps=5)
    sources = load_sources([regional[0], stranger], registry)
    with pytest.raises(MergeError, match="did not grow from one initialisation"):
        merge(sources, "average")
    merged = merge(sources, "average", unrelated=True, episodes=64)
    assert "did not grow from one initialisation" in merged.report.warnings[0]


def test_networks_that_grew_to_other_widths_are_padded_then_averaged(
    small_doc: GraphDocument, registry: Registry, tmp_path: Path
) -> None:
    """Two regions from one initialisation, each grown on its own schedule: averaging pads
    each to the widest layers with silent neurons, which leave its function as it was."""
    paths = []
    for region, every in ((0, 4), (1, 7)):
        doc = _region_doc(small_doc, region)
        brain = next(n for n in doc.nodes if n.type == "nn.factory")
        brain.props.update(grow="schedule", grow_every=every)
        paths.append(_train(doc, registry, tmp_path / f"r{region}", steps=8))
    sources = load_sources(paths, registry)
    widths = [hidden_widths(s.network.manifest.architecture) for s in sources]
    assert widths == [[40, 40], [40, 32]]  # grown twice and once from [32, 32]
    merged = merge(sources, "average", episodes=64)
    assert hidden_widths(merged.manifest.architecture) == [40, 40]
    assert "padded with silent neurons" in merged.report.warnings[0]
    # padding alone changes nothing: the narrower network, padded, answers as before
    narrow = sources[1].network
    aligned = aligned_architecture([s.network.manifest.architecture for s in sources])
    assert aligned is not None
    padded = build_module(aligned, init="default", generator=torch.Generator())
    padded.load_state_dict(padded_state(narrow.module.state_dict(), aligned.parameter_shapes()))
    x = torch.randn(32, aligned.inputs)
    with torch.no_grad():
        torch.testing.assert_close(padded(x), narrow.module(x), rtol=0, atol=1e-6)
    first, second = (
        padded_state(s.network.module.state_dict(), aligned.parameter_shapes()) for s in sources
    )
    for name, tensor in merged.module.state_dict().items():
        torch.testing.assert_close(tensor, 0.5 * first[name] + 0.5 * second[name])


def test_refusals(
    regional: list[Path], registry: Registry, small_doc: GraphDocument, tmp_path: Path
) -> None:
    with pytest.raises(MergeError, match="at least two"):
        load_sources(regional[:1], registry)
    sources = load_sources(regional, registry)
    with pytest.raises(MergeError, match="1 weights for 2 networks"):
        merge(sources, "average", weights=[1])
    with pytest.raises(MergeError, match="positive"):
        merge(sources, "average", weights=[1, -1])
    wide = small_doc.model_copy(deep=True)
    next(n for n in wide.nodes if n.type == "nn.factory").props["hidden"] = [16]
    other = _train(wide, registry, tmp_path / "wide", steps=5)
    with pytest.raises(MergeError, match=r"hidden layers \[16\].*Averaging needs the same layers"):
        merge(load_sources([regional[0], other], registry), "average")
    # a network without its graph, for other sensors
    loaded = load_network(other)
    bare = tmp_path / "bare.atrapnet"
    save_network(bare, loaded.module, loaded.manifest.model_copy(update={"graph": ""}))
    with pytest.raises(MergeError, match="does not carry the graph"):
        load_sources([regional[0], bare], registry)


def test_cli_merge_writes_the_network_and_reports(
    regional: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from atrap_studio.cli.main import main

    out = tmp_path / "merged.atrapnet"
    args = ["merge", *map(str, regional), "-o", str(out), "--steps", "50", "--episodes", "64"]
    assert main([*args, "--json", "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["method"] == "distill" and len(report["scores"]) == 2
    assert load_network(out).manifest.provenance.origin == "merged-distill"
    assert main(["merge", str(regional[0]), "-o", str(tmp_path / "one.atrapnet")]) == 1
    assert "at least two" in capsys.readouterr().err
    assert not (tmp_path / "one.atrapnet").exists()


def test_merge_node_trains_on_from_the_merged_network(
    regional: list[Path], registry: Registry, small_doc: GraphDocument
) -> None:
    doc = small_doc.model_copy(deep=True)
    brain = next(n for n in doc.nodes if n.type == "nn.factory")
    brain.type = "nn.merge"
    brain.props = {"files": [str(p) for p in regional], "method": "average"}
    pipeline = Pipeline(doc, registry)
    first, second = (load_network(p).module.state_dict() for p in regional)
    for name, tensor in pipeline.network.state_dict().items():
        torch.testing.assert_close(tensor, (first[name] + second[name]) / 2)
    result = Runner(pipeline).run(5)
    assert result.reason == "completed"
    made = pipeline.manifest().provenance
    assert made.origin == "merged-average" and len(made.parents) == 2


def test_a_graph_inside_a_received_file_builds_no_giant(
    regional: list[Path], registry: Registry, tmp_path: Path
) -> None:
    """Only the scene of a source's graph is rebuilt: its network node and size are ours."""
    from atrap_studio.core.yaml_io import dump_graph, parse_graph

    loaded = load_network(regional[0])
    doc = parse_graph(loaded.manifest.graph)
    for node in doc.nodes:
        if node.type == "nn.factory":
            node.props["hidden"] = [60_000] * 30  # 100 billion weights, if ever built
        if node.type == "scene.robot_arm":
            node.props["instances"] = 262_144
    hostile = tmp_path / "hostile.atrapnet"
    save_network(
        hostile, loaded.module, loaded.manifest.model_copy(update={"graph": dump_graph(doc)})
    )
    sources = load_sources([hostile, regional[1]], registry)
    assert sources[0].scene.scene.instances == 64
    assert sum(p.numel() for p in sources[0].scene.network.parameters()) < 10_000
