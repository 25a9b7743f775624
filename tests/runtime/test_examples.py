"""Every shipped example compiles, trains a few updates at a small size and is evaluated."""

from __future__ import annotations

import math

import pytest

from atrap_studio.core.registry import Registry
from atrap_studio.core.validation import analyse
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_names, example_path
from atrap_studio.runtime.pipeline import Pipeline
from tests.conftest import shrink


@pytest.mark.parametrize("name", example_names())
def test_example_trains_a_few_updates(name: str, registry: Registry) -> None:
    graph = load_graph(example_path(name))
    assert analyse(graph, registry).ok
    doc = shrink(graph, horizon=8, minibatches=2, epochs=1)
    pipeline = Pipeline(doc, registry)
    trainer = pipeline.trainer
    trainer.plan(3)
    for step in range(3):
        metrics = trainer.step(step)
        assert math.isfinite(float(metrics["loss/total"])), (name, step)
    summary = pipeline.evaluate(trainer.policy, 8, seed=0).summary()
    assert summary["episodes"] == 8
    assert math.isfinite(summary[pipeline.outcome.summary_keys()[0]])
