"""Saving into the file's own tree: comments stay with their nodes and links, and an unchanged
graph is written back byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from atrap_studio.core import editing
from atrap_studio.core.document import Endpoint
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.core.yaml_roundtrip import (
    dump_graph_into,
    load_graph_with_layout,
    save_graph_into,
)
from atrap_studio.examples import example_path

EXAMPLES = sorted(p.stem for p in example_path("robot_arm_reach").parent.glob("*.yaml"))


@pytest.mark.parametrize("name", EXAMPLES)
def test_an_unchanged_example_is_written_back_unchanged(name: str) -> None:
    path = example_path(name)
    doc, layout = load_graph_with_layout(path)
    assert dump_graph_into(doc, layout) == path.read_text(encoding="utf-8")


def test_notes_travel_with_their_link_and_node_through_edits(
    tmp_path: Path, registry: Registry
) -> None:
    text = example_path("robot_arm_reach").read_text(encoding="utf-8")
    text = text.replace(
        "  - [goal.value, brain.state]\n", "  - [goal.value, brain.state]  # after the angles\n"
    ).replace("  - id: goal\n", "  # where the tip should go\n  - id: goal\n")
    text = text.replace("props: {lr: 0.02,", "props: {lr: 2.0e-2,")
    path = tmp_path / "noted.yaml"
    path.write_text(text, encoding="utf-8")
    doc, layout = load_graph_with_layout(path)
    doc = editing.disconnect(doc, Endpoint.parse("q.value"), Endpoint.parse("brain.state"))
    doc, added = editing.add_node(doc, registry.get("reward.reached"), (10.0, 20.0))  # type: ignore[arg-type]
    doc = editing.rename(doc, "goal", "Target")
    doc = editing.remove_nodes(doc, ["near"])
    save_graph_into(doc, layout, path)
    saved = path.read_text(encoding="utf-8")
    assert load_graph(path) == doc, "the file says exactly what the document does"
    assert saved.startswith("# Robot arm learns to reach")
    assert "  - [goal.value, brain.state]  # after the angles\n" in saved
    assert "  # where the tip should go\n  - id: goal\n" in saved
    assert "lr: 2.0e-2," in saved, "an unchanged number keeps how it was written"
    assert "[q.value, brain.state]" not in saved and "id: near" not in saved
    assert f"  - id: {added}\n    type: reward.reached\n" in saved
