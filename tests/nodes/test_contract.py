"""One contract over the whole catalogue: a new node is covered by writing its spec."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from atrap_studio.core.document import GraphDocument, Link, NodeDoc
from atrap_studio.core.registry import Registry, load_impl
from atrap_studio.core.specs import NodeSpec
from atrap_studio.core.validation import analyse
from atrap_studio.nodes import builtin_registry
from atrap_studio.nodes.specs import CATALOGUE
from atrap_studio.runtime.netfile import save_network
from atrap_studio.runtime.pipeline import Pipeline

#: What each category's implementation must offer.
PROTOCOL = {
    "scene": ("create",),
    "sensor": ("forward",),
    "nn": ("build", "architecture", "lineage", "check_fits"),
    "helper": ("after_update",),
    "action": ("forward",),
    "reward": ("forward",),
    "trainer": ("step", "policy", "state_tensors", "load_state_tensors", "plan"),
}


def _link(src: str, dst: str) -> Link:
    return Link.model_validate([src, dst])


def graph_using(spec: NodeSpec, base: GraphDocument, folder: Path) -> GraphDocument:
    """The small arm graph, changed so that it uses ``spec`` (files it needs go in ``folder``)."""
    doc = base.model_copy(deep=True)
    node = {n.id: n for n in doc.nodes}
    if spec.type in ("nn.load", "nn.merge"):
        paths = []
        for index in range(2):
            source = Pipeline(base, builtin_registry(), seed=index)
            paths.append(folder / f"brain-{index}.atrapnet")
            save_network(paths[-1], source.network, source.manifest())
        node["brain"].type = spec.type
        node["brain"].props = (
            {"file": str(paths[0])}
            if spec.type == "nn.load"
            else {"files": [str(p) for p in paths], "distill_steps": 5}
        )
    elif spec.category in ("scene", "nn", "trainer", "action"):
        target = {"scene": "arm", "nn": "brain", "trainer": "teach", "action": "move"}
        node[target[spec.category]].type = spec.type
        if spec.category in ("action", "trainer"):
            kept = {"steps", "eval_every", "eval_episodes", "checkpoint_every", "log_every"}
            node[target[spec.category]].props = {
                k: v
                for k, v in node[target[spec.category]].props.items()
                if spec.prop(k) is not None and (spec.category != "trainer" or k in kept)
            }
    elif spec.category == "sensor":
        doc.nodes.append(NodeDoc(id="extra", type=spec.type))
        doc.links += [_link("arm.scene", "extra.scene"), _link("extra.value", "brain.state")]
    elif spec.category == "reward" and spec.input("scene") is not None:
        doc.nodes.append(NodeDoc(id="extra", type=spec.type))
        doc.links += [_link("arm.scene", "extra.scene"), _link("extra.reward", "teach.reward")]
    elif spec.category == "reward":
        doc.nodes.append(NodeDoc(id="extra", type=spec.type))
        doc.links = [lk for lk in doc.links if str(lk.dst) != "teach.reward"]
        doc.links += [_link("near.reward", "extra.terms"), _link("extra.reward", "teach.reward")]
    elif spec.category == "helper" and spec.input("network") is not None:
        doc.nodes.append(NodeDoc(id="extra", type=spec.type))
        doc.links.append(_link("brain.network", "extra.network"))
    else:  # pragma: no cover - a new category must teach this test how to use it
        pytest.fail(f"no recipe for category {spec.category}")
    return doc


@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda s: s.type)
def test_impl_imports_and_fits_its_protocol(spec: NodeSpec) -> None:
    impl = load_impl(spec)
    for attribute in PROTOCOL[spec.category]:
        if attribute != "architecture":
            assert callable(getattr(impl, attribute, None)), f"{spec.impl} lacks {attribute}()"


@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda s: s.type)
def test_tiny_graph_using_it_compiles_and_trains(
    spec: NodeSpec, small_doc: GraphDocument, registry: Registry, tmp_path: Path
) -> None:
    doc = graph_using(spec, small_doc, tmp_path)
    assert spec.type in {n.type for n in doc.nodes}
    result = analyse(doc, registry)
    assert result.ok, [i.format() for i in result.issues]
    pipeline = Pipeline(doc, registry)
    pipeline.trainer.plan(2)
    for step in range(2):
        metrics = pipeline.trainer.step(step)
        assert torch.isfinite(torch.as_tensor(metrics["loss/total"]))
    assert pipeline.evaluate(pipeline.trainer.policy, 16, seed=1).summary()["episodes"] == 16
