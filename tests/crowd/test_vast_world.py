"""The vast-world experiment, at toy sizes: every contender trained at equal scene steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import AtrapError
from atrap_studio.crowd.vast_world import Setup, contender_settings, run


def test_contenders_share_a_budget_and_a_test(small_doc: GraphDocument, tmp_path: Path) -> None:
    setup = Setup(regions=2, steps=30, instances=128, distill_steps=30, crowd=False, episodes=256)
    said: list[str] = []
    result = run(small_doc, setup, tmp_path, say=said.append)
    names = [row.name for row in result.rows]
    assert names == [
        "one network, whole world",
        "best of 2 region networks",
        "their average",
        "their distilled merge",
    ]
    assert {row.env_steps for row in result.rows} == {30 * 128}
    assert result.ratio(result.rows[0]) == 1.0
    assert all(row.median_error_mm > 0 for row in result.rows)
    assert "on their own regions" in result.rows[1].note
    saved = json.loads((tmp_path / "vast-world.json").read_text())
    assert [r["name"] for r in saved["rows"]] == names
    assert "| their distilled merge |" in (tmp_path / "vast-world.md").read_text()
    assert len(said) == 4


def test_instances_must_split_evenly(small_doc: GraphDocument, tmp_path: Path) -> None:
    with pytest.raises(AtrapError, match="split evenly"):
        run(small_doc, Setup(regions=3, instances=128, crowd=False), tmp_path)


def test_crowds_simulated_side_by_side_at_equal_scene_steps(
    small_doc: GraphDocument, tmp_path: Path
) -> None:
    setup = Setup(
        regions=2,
        steps=8,
        instances=64,
        crowd_rounds=2,
        crowd_distill_steps=0,  # the default distils 300 steps a round: seconds here
        merges=False,
        episodes=64,
        contenders=("prox-mu=0.1", "scaffold=1+distill-steps=2+distill-batch=16", "rounds=4"),
    )
    said: list[str] = []
    result = run(small_doc, setup, tmp_path, say=said.append)
    names = [row.name for row in result.rows]
    engine = "crowd of 2 peers (simulated in one process, no Flower): FedAvg"
    assert names[1:] == [
        f"{engine} + FedProx mu=0.1, 2 rounds of 4 updates",
        f"{engine} + SCAFFOLD + distilling aggregator 2 steps × 16 states a round, "
        "2 rounds of 4 updates",
        f"{engine}, 4 rounds of 2 updates",
    ]
    assert {row.env_steps for row in result.rows} == {8 * 64}
    assert {row.sequential_updates for row in result.rows} == {8}
    assert (tmp_path / "crowd-3" / "crowd" / "round-004.atrapnet").is_file()


def test_a_bad_contender_is_named(small_doc: GraphDocument, tmp_path: Path) -> None:
    for spec, words in [
        ("mu=0.1", "'mu=0.1' is not KEY=NUMBER with KEY one of rounds, "),
        ("prox-mu=lots", "'lots' is not a number for prox-mu"),
        ("local-steps=5", "is not KEY=NUMBER"),
        ("rounds=0", "rounds must be from 1 to the steps"),
    ]:
        with pytest.raises(AtrapError, match=words):
            contender_settings(spec, Setup())
