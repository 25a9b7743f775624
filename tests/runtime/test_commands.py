"""Commands from the editor to a running scene: plain numbers in, applied between updates."""

from __future__ import annotations

import pytest
import torch

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.events import Event
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.runtime.commands import hold_target, move_target, release_target
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


@pytest.mark.parametrize("mode", ["random_in_reach", "near_effector"])
def test_a_held_target_stays_through_one_step_episodes_until_let_go(
    small_doc: GraphDocument, registry: Registry, mode: str
) -> None:
    """Issue 12: with one-step episodes the target jumps at every update and could not be
    grabbed; a held target stays, whatever the target mode, until it is let go."""
    doc = shrink(small_doc, steps=8, log_every=1, eval_every=8)
    doc.node("arm").props.update(target=mode, episode_steps=1)  # type: ignore[union-attr]
    runner = Runner(Pipeline(doc, registry))
    scene = runner.pipeline.scene
    point = torch.tensor([0.1, 0.2, 0.3])
    seen: list[torch.Tensor] = []

    def watch(event: Event) -> None:
        if event.kind == "step":
            seen.append(scene.target[2].clone())  # type: ignore[attr-defined]
            if event.step == 4:
                runner.submit(release_target(2))

    runner.events.subscribe(watch)
    runner.submit(hold_target(2, [0.1, 0.2, 0.3]))
    runner.run()
    assert len(seen) == 8
    for target in seen[:4]:  # held: four one-step episodes ended, the target stayed
        torch.testing.assert_close(target, point)
    assert all(not torch.allclose(target, point) for target in seen[5:]), "let go: new targets"
    assert 2 not in scene.user_targets  # type: ignore[attr-defined]


def test_a_user_driven_target_stays_after_it_is_let_go(
    small_doc: GraphDocument, registry: Registry
) -> None:
    doc = shrink(small_doc, steps=3, eval_every=3)
    doc.node("arm").props.update(target="user_driven", episode_steps=1)  # type: ignore[union-attr]
    runner = Runner(Pipeline(doc, registry))
    runner.submit(hold_target(1, [0.1, 0.2, 0.3]))
    runner.submit(release_target(1))
    runner.run()
    scene = runner.pipeline.scene
    torch.testing.assert_close(scene.target[1], torch.tensor([0.1, 0.2, 0.3]))  # type: ignore[attr-defined]
    assert 1 in scene.user_targets  # type: ignore[attr-defined]
