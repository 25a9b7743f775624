"""Replaying a person's drags: each target is held from its recorded update for its recorded
number of updates, through the editor's own commands, on arm ``i mod instances``."""

from __future__ import annotations

import pytest
import torch

from atrap_studio.core.errors import AtrapError
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes import builtin_registry
from atrap_studio.runtime.arm_scene import ArmScene
from atrap_studio.runtime.drag_log import Drag
from atrap_studio.runtime.drag_replay import DragReplay
from atrap_studio.runtime.pipeline import Pipeline
from tests.conftest import shrink

A, B = (0.1, 0.2, 0.3), (0.3, -0.1, 0.2)


def trained_targets(drags: list[Drag], updates: int) -> tuple[list[torch.Tensor], DragReplay]:
    """Arm 2's target at each update of a 16-arm run replaying ``drags``."""
    doc = shrink(load_graph(example_path("robot_arm_reach")))
    doc.node("arm").props.update(instances=16)  # type: ignore[union-attr]
    pipeline = Pipeline(doc, builtin_registry(), seed=1)
    scene = pipeline.scene
    assert isinstance(scene, ArmScene)
    replay = DragReplay(pipeline, drags, updates)
    seen = []
    for step in range(updates):
        replay.before_update(step)
        pipeline.trainer.step(step)
        seen.append(scene.target[2].clone())
    return seen, replay


def held(seen: list[torch.Tensor], point: tuple[float, float, float]) -> list[int]:
    """The updates (counted from 1) that trained with arm 2's target at ``point``."""
    return [i + 1 for i, t in enumerate(seen) if torch.allclose(t, torch.tensor(point))]


def test_a_target_is_held_for_its_updates_then_let_go() -> None:
    seen, replay = trained_targets([Drag(1, 2, A, 3)], updates=8)
    assert held(seen, A) == [2, 3, 4]  # put after update 1: updates 2 to 4 trained with it
    assert replay.held_arm_updates == 3 and replay.arms == {2}


def test_arms_map_modulo_the_instances_and_the_later_hold_takes_over() -> None:
    drags = [Drag(0, 2, A, 10, line=2), Drag(3, 18, B, 2, line=3)]  # arm 18 is arm 2 of 16
    seen, replay = trained_targets(drags, updates=8)
    assert held(seen, A) == [1, 2, 3]  # not resumed once the other is let go
    assert held(seen, B) == [4, 5]
    assert replay.held_arm_updates == 5


def test_a_hold_past_the_budget_ends_with_the_run() -> None:
    seen, replay = trained_targets([Drag(5, 2, B, 1000)], updates=8)
    assert held(seen, B) == [6, 7, 8]
    assert replay.held_arm_updates == 3


def test_a_scene_without_targets_is_refused() -> None:
    doc = shrink(load_graph(example_path("cartpole_ppo")))
    with pytest.raises(AtrapError, match="holds no targets"):
        DragReplay(Pipeline(doc, builtin_registry()), [Drag(0, 0, A, 1)], 10)
