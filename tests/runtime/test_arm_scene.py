"""The batched arm scene on its own: targets, curriculum, commands, state."""

from __future__ import annotations

import pytest
import torch

from atrap_studio.ik.chain import ArmGeometry
from atrap_studio.runtime.arm_scene import ArmScene
from atrap_studio.runtime.context import Command


def _scene(mode: str = "random_in_reach", progress: float = 0.0, seed: int = 0) -> ArmScene:
    scene = ArmScene(
        ArmGeometry.industrial(6),
        instances=2048,
        target_mode=mode,
        generator=torch.Generator().manual_seed(seed),
    )
    scene.progress = progress
    scene.done[:] = True
    scene.begin_step()  # new episodes under this progress
    return scene


def test_targets_are_reachable_and_fresh_each_episode() -> None:
    scene = _scene()
    assert float(scene.target.norm(dim=-1).max()) <= scene.geometry.reach + 1e-5
    before = scene.target.clone()
    scene.apply([Command("joint_targets", torch.zeros(2048, 6))])
    assert bool(scene.done.all())
    scene.begin_step()
    assert not torch.equal(before, scene.target)


def test_near_effector_curriculum_widens_with_progress() -> None:
    def mean_distance(scene: ArmScene) -> float:
        return float(scene.distance().mean())

    early = mean_distance(_scene("near_effector", progress=0.0))
    late = mean_distance(_scene("near_effector", progress=1.0))
    anywhere = mean_distance(_scene("random_in_reach"))
    assert early < 0.25 * anywhere
    assert early < 0.5 * late


def test_commands_respect_limits_and_unknown_ones_are_refused() -> None:
    scene = _scene()
    scene.apply([Command("joint_targets", torch.full((2048, 6), 5.0))])  # far past +1
    assert torch.allclose(scene.q, scene.chain.upper.expand(2048, 6))
    with pytest.raises(ValueError, match="does not understand 'fly'"):
        scene.apply([Command("fly", torch.zeros(2048, 6))])


def test_state_round_trip_continues_identically() -> None:
    a, b = _scene(seed=1), _scene(seed=2)
    b.load_state_tensors(a.state_tensors())
    for scene in (a, b):
        scene.apply([Command("joint_deltas", torch.full((2048, 6), 0.1))])
        scene.begin_step()
    assert torch.equal(a.q, b.q) and torch.equal(a.target, b.target)
    with pytest.raises(ValueError, match="joint states"):
        _scene().load_state_tensors({**a.state_tensors(), "q": torch.zeros(3, 6)})
