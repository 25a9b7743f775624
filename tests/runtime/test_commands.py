"""Commands from the editor to a running scene: plain numbers in, applied between updates."""

from __future__ import annotations

import torch

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.runtime.commands import move_target
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.runner import Runner
from tests.conftest import shrink


def test_move_target_reaches_the_arm_on_the_training_thread(
    small_doc: GraphDocument, registry: Registry
) -> None:
    doc = shrink(small_doc, steps=3, eval_every=3)
    doc.node("arm").props["target"] = "user_driven"  # type: ignore[union-attr]
    runner = Runner(Pipeline(doc, registry))
    runner.submit(move_target(2, [0.1, 0.2, 0.3]))
    runner.run()
    scene = runner.pipeline.scene
    torch.testing.assert_close(scene.target[2], torch.tensor([0.1, 0.2, 0.3]))  # type: ignore[attr-defined]
    assert 2 in scene.user_targets  # type: ignore[attr-defined]


def test_a_scene_without_targets_ignores_it(registry: Registry) -> None:
    doc = shrink(load_graph(example_path("cartpole_ppo")))
    pipeline = Pipeline(doc, registry)
    before = pipeline.scene.obs.clone()  # type: ignore[attr-defined]
    move_target(0, (1.0, 2.0, 3.0))(pipeline)
    assert torch.equal(pipeline.scene.obs, before)  # type: ignore[attr-defined]
    move_target(99, (0.0, 0.0, 0.0))(pipeline)  # no such instance: nothing happens
