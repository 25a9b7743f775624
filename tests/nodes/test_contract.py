"""One contract over the whole catalogue: a new node is covered by writing its spec.

Every scene brings a base graph, its own first example (shrunk); every other node is put into
the first base graph where it fits, by its role in the graph (never by the example's node ids),
and the graph must compile, fit the category protocols, train two updates and be evaluated.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from atrap_studio.core.document import GraphDocument, Link, NodeDoc
from atrap_studio.core.errors import RunError
from atrap_studio.core.registry import Registry, load_impl
from atrap_studio.core.specs import NodeSpec
from atrap_studio.core.validation import analyse
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes.specs import CATALOGUE
from atrap_studio.runtime.contracts import CATEGORY_PROTOCOLS, Scene
from atrap_studio.runtime.netfile import save_network
from atrap_studio.runtime.pipeline import Pipeline
from tests.conftest import shrink

SCENES = [spec for spec in CATALOGUE if spec.category == "scene"]


def _link(src: str, dst: str) -> Link:
    return Link.model_validate([src, dst])


def base_graph(scene: NodeSpec) -> GraphDocument:
    """The scene's own first example, shrunk to run in a moment."""
    return shrink(load_graph(example_path(scene.examples[0])), horizon=4, minibatches=2, epochs=1)


def roles(doc: GraphDocument, registry: Registry) -> dict[str, str]:
    """The ids of the scene, trainer, network, first action and first reward of a graph."""
    analysis = analyse(doc, registry)
    assert analysis.scene is not None and analysis.trainer is not None
    network = doc.links_into(analysis.trainer, "network")[0].src.node
    rewards = doc.links_into(analysis.trainer, "reward")
    action = doc.links_from(network, "action")[0].dst.node
    return {
        "scene": analysis.scene,
        "trainer": analysis.trainer,
        "nn": network,
        "action": action,
        "reward": rewards[0].src.node,
    }


def graph_using(
    spec: NodeSpec, base: GraphDocument, folder: Path, registry: Registry
) -> GraphDocument:
    """``base`` changed so that it uses ``spec`` (files it needs go in ``folder``)."""
    doc = base.model_copy(deep=True)
    role = roles(doc, registry)
    node = {n.id: n for n in doc.nodes}
    if spec.type in ("nn.load", "nn.merge"):
        paths = []
        for index in range(2):
            source = Pipeline(base, registry, seed=index)
            paths.append(folder / f"net-{index}.atrapnet")
            save_network(paths[-1], source.network, source.manifest())
        brain = node[role["nn"]]
        brain.type = spec.type
        brain.props = (
            {"file": str(paths[0])}
            if spec.type == "nn.load"
            else {"files": [str(p) for p in paths], "distill_steps": 5}
        )
    elif spec.type == "action.ik_reach":  # solves with a network file of the base arm
        source = Pipeline(base, registry, seed=0)
        path = folder / "solver.atrapnet"
        save_network(path, source.network, source.manifest())
        move = node[role["action"]]
        move.type, move.props = spec.type, {"file": str(path), "refine": 2}
        doc.links.append(_link(f"{role['scene']}.scene", f"{move.id}.scene"))
    elif spec.category in ("scene", "nn", "trainer", "action"):
        target = node[role[spec.category]]
        target.type = spec.type
        if spec.category in ("action", "trainer"):
            kept = {"steps", "eval_every", "eval_episodes", "checkpoint_every", "log_every"}
            target.props = {
                k: v
                for k, v in target.props.items()
                if spec.prop(k) is not None and (spec.category != "trainer" or k in kept)
            }
    elif spec.category == "sensor":
        doc.nodes.append(NodeDoc(id="extra", type=spec.type))
        doc.links += [
            _link(f"{role['scene']}.scene", "extra.scene"),
            _link("extra.value", f"{role['nn']}.state"),
        ]
    elif spec.category == "reward" and spec.input("scene") is not None:
        doc.nodes.append(NodeDoc(id="extra", type=spec.type))
        doc.links += [
            _link(f"{role['scene']}.scene", "extra.scene"),
            _link("extra.reward", f"{role['trainer']}.reward"),
        ]
    elif spec.category == "reward":
        doc.nodes.append(NodeDoc(id="extra", type=spec.type))
        doc.links = [lk for lk in doc.links if str(lk.dst) != f"{role['trainer']}.reward"]
        doc.links += [
            _link(f"{role['reward']}.reward", "extra.terms"),
            _link("extra.reward", f"{role['trainer']}.reward"),
        ]
    elif spec.category == "helper" and spec.input("network") is not None:
        doc.nodes.append(NodeDoc(id="extra", type=spec.type))
        doc.links.append(_link(f"{role['nn']}.network", "extra.network"))
    else:  # pragma: no cover - a new category must teach this test how to use it
        pytest.fail(f"no recipe for category {spec.category}")
    return doc


def hosted(spec: NodeSpec, registry: Registry, folder: Path) -> GraphDocument:
    """The first scene's base graph that ``spec`` fits into (a scene is its own host)."""
    if spec.category == "scene":
        return base_graph(spec)
    tried = []
    for scene in SCENES:
        doc = graph_using(spec, base_graph(scene), folder, registry)
        analysis = analyse(doc, registry)
        if not analysis.ok:
            tried.append(f"{scene.type}: " + "; ".join(i.message for i in analysis.errors))
            continue
        if spec.category != "trainer":
            return doc
        try:  # a trainer may refuse a scene it cannot serve (DQN: continuous actions)
            Pipeline(doc, registry)
        except RunError as exc:
            tried.append(f"{scene.type}: {exc}")
            continue
        return doc
    pytest.fail(f"{spec.type} fits no scene's example:\n" + "\n".join(tried))


def test_every_scene_names_examples_that_use_it() -> None:
    for scene in SCENES:
        for name in scene.examples:
            types = {n.type for n in load_graph(example_path(name)).nodes}
            assert scene.type in types, f"example {name} does not use {scene.type}"


@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda s: s.type)
def test_impl_imports(spec: NodeSpec) -> None:
    assert isinstance(load_impl(spec), type), f"{spec.impl} is not a class"


@pytest.mark.parametrize("spec", CATALOGUE, ids=lambda s: s.type)
def test_tiny_graph_using_it_fits_the_protocols_trains_and_evaluates(
    spec: NodeSpec, registry: Registry, tmp_path: Path
) -> None:
    doc = hosted(spec, registry, tmp_path)
    assert spec.type in {n.type for n in doc.nodes}
    result = analyse(doc, registry)
    assert result.ok, [i.format() for i in result.issues]
    pipeline = Pipeline(doc, registry)
    for node_id, impl in pipeline.impls.items():
        protocol = CATEGORY_PROTOCOLS[pipeline.analysis.specs[node_id].category]
        assert isinstance(impl, protocol), f"{node_id} does not fit {protocol.__name__}"
    assert isinstance(pipeline.trainer, CATEGORY_PROTOCOLS["trainer"])
    assert isinstance(pipeline.scene, Scene)
    pipeline.trainer.plan(64)
    losses = []  # an off-policy trainer learns once its replay buffer holds a batch
    for step in range(64):
        metrics = pipeline.trainer.step(step)
        assert all(torch.isfinite(torch.as_tensor(v)).all() for v in metrics.values()), metrics
        if "loss/total" in metrics:
            losses.append(metrics["loss/total"])
        if len(losses) == 2:
            break
    assert len(losses) == 2, f"{spec.type}: no two updates in 64 steps"
    summary = pipeline.evaluate(pipeline.trainer.policy, 8, seed=1).summary()
    assert summary["episodes"] == 8
    assert pipeline.outcome.summary_keys()[0] in summary
    assert pipeline.scene.snapshot([0]).kind == pipeline.outcome.snapshot
