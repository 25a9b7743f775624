"""The vast-world experiment, at toy sizes: every contender trained at equal scene steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import AtrapError
from atrap_studio.crowd.vast_world import Setup, run


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
