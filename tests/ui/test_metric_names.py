"""Every metric key a run emits has a name people read and a unit."""

from __future__ import annotations

import pytest

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.events import Event
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_names, example_path
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.runner import Runner
from atrap_studio.ui.views.metric_names import NO_UNIT, describe
from tests.conftest import shrink


def _tiny(doc: GraphDocument) -> GraphDocument:
    small = shrink(doc, horizon=8, minibatches=2, epochs=1)
    for node in small.nodes:
        if node.type.startswith("trainer."):
            node.props.update(steps=4, eval_every=2, log_every=1)
    return small


def _graphs(registry: Registry) -> list[tuple[str, GraphDocument]]:
    """Every shipped example, and the arm with each trainer no example uses (its defaults)."""
    graphs = [(name, load_graph(example_path(name))) for name in example_names()]
    used = {n.type for _, doc in graphs for n in doc.nodes}
    for spec in registry:
        if spec.category.lower().startswith("trainer") and spec.type not in used:
            doc = load_graph(example_path("robot_arm_reach"))
            for node in doc.nodes:
                if node.type.startswith("trainer."):
                    node.type, node.props = spec.type, {}
            graphs.append((f"robot_arm_reach with {spec.type}", doc))
    return graphs


def test_every_metric_key_a_run_emits_has_a_name_and_a_unit(registry: Registry) -> None:
    unnamed: list[str] = []
    seen: set[str] = set()
    for what, doc in _graphs(registry):
        pipeline = Pipeline(_tiny(doc), registry)
        runner = Runner(pipeline)
        events: list[Event] = []
        runner.events.subscribe(events.append)
        runner.run()
        names = {n.id: n.name or n.id for n in doc.nodes}
        keys = {k for e in events if e.kind == "step" for k in e.data["metrics"]}
        assert keys, what
        for key in sorted(keys - seen):
            named = describe(key, names)
            if named is None or not named.name or not named.unit:
                unnamed.append(f"{what}: {key}")
            else:
                assert "/" not in named.name and "_" not in named.name, (key, named)
        seen |= keys
    assert not unnamed, "metrics without a display name and unit:\n" + "\n".join(unnamed)
    assert {"loss/total", "perf/env_steps_per_s", "lr", "eval/success_rate"} <= seen


@pytest.mark.parametrize(
    ("key", "label"),
    [
        ("loss/policy", "Policy loss"),
        ("reward/near", "Reward: Distance to target (per step)"),
        ("eval/median_error_mm", "Median reach error (test) (mm)"),
        ("scene/success_rate", "Reached (training) (share)"),
        ("eval/p95_return", "95th-percentile episode return (test) (reward)"),
        ("perf/updates_per_s", "Updates per second (updates/s)"),
        ("lr", "Learning rate"),
        ("loss/q_target", "Q target loss"),
        ("lr/critic", "Learning rate, critic"),
    ],
)
def test_keys_read_as_words(key: str, label: str) -> None:
    named = describe(key, {"near": "Distance to target"})
    assert named is not None and named.label() == label


def test_a_key_in_an_unknown_namespace_has_no_name() -> None:
    assert describe("custom/thing") is None and describe("loss/") is None
    assert describe("lr").unit == NO_UNIT  # type: ignore[union-attr]
