"""A sensor or reward that gives NaN or infinity stops the run naming the node, keeping the
last good checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from atrap_studio.core.document import GraphDocument, Link, NodeDoc
from atrap_studio.core.registry import Registry
from atrap_studio.core.specs import NodeSpec, PortSpec, PropSpec
from atrap_studio.nodes.specs import CATALOGUE
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.runner import Runner
from tests.conftest import shrink

_AFTER = PropSpec("after", "int", 0, "calls before NaN", min=0, max=10**6)
_SCENE = PortSpec("scene", "Scene", "the scene")
FAULTY = (
    NodeSpec(
        type="sensor.faulty",
        version=1,
        title="Faulty sensor",
        category="sensor",
        help="Gives NaN after a while.",
        impl="tests.runtime.faulty_nodes:NaNAfter",
        inputs=(_SCENE,),
        outputs=(PortSpec("value", "Vector[1]", "zeros, then NaN"),),
        props=(_AFTER,),
    ),
    NodeSpec(
        type="reward.faulty",
        version=1,
        title="Faulty reward",
        category="reward",
        help="Gives NaN after a while.",
        impl="tests.runtime.faulty_nodes:NaNAfter",
        inputs=(_SCENE,),
        outputs=(PortSpec("reward", "Reward", "zeros, then NaN"),),
        props=(_AFTER,),
    ),
)


@pytest.mark.parametrize(("kind", "port"), [("sensor", "brain.state"), ("reward", "teach.reward")])
def test_a_non_finite_value_stops_the_run_naming_the_node(
    kind: str, port: str, small_doc: GraphDocument, tmp_path: Path
) -> None:
    registry = Registry((*CATALOGUE, *FAULTY))
    doc = shrink(small_doc, steps=40, checkpoint_every=5)
    source = "reward" if kind == "reward" else "value"
    doc.nodes.append(NodeDoc(id="bad", type=f"{kind}.faulty", props={"after": 14}))
    doc.links += [
        Link.model_validate(["arm.scene", "bad.scene"]),
        Link.model_validate([f"bad.{source}", port]),
    ]
    result = Runner(Pipeline(doc, registry), out_dir=tmp_path).run()
    assert result.reason == "error"
    assert "node 'bad'" in (result.error or "") and "not finite" in (result.error or "")
    assert "instance 1" in (result.error or "")
    assert result.checkpoint is not None and result.checkpoint.is_file()
