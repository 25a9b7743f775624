"""Learned IK of whole poses, from a network trained for real on the position-and-orientation
example: fed as the graph's sensors feed it, refined on the 6-D error without ever getting
worse, the unreachable flagged, and a missing orientation refused."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from atrap_studio.ik import LearnedIK
from atrap_studio.ik.rotations import angle_between
from atrap_studio.nodes import builtin_registry
from atrap_studio.runtime.arm_scene import ArmScene, joint_targets_from_unit
from atrap_studio.runtime.netfile import load_network
from atrap_studio.runtime.pipeline import Pipeline
from tests.ik.nets import pose_doc, train


@pytest.fixture(scope="module")
def pose_net(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(pose_doc(), tmp_path_factory.mktemp("pose"))


def poses_of(solver: LearnedIK, n: int, seed: int = 7) -> tuple[torch.Tensor, torch.Tensor]:
    position, rotation, _ = solver.chain.sample_poses(n, torch.Generator().manual_seed(seed))
    return position, rotation


def test_the_guess_is_the_network_fed_by_the_graphs_own_sensors(pose_net: Path) -> None:
    loaded = load_network(pose_net)
    assert [p.type for p in loaded.manifest.inputs] == [
        "sensor.target_position",
        "sensor.target_orientation",
    ]
    solver = LearnedIK(loaded)
    assert solver.reads_orientation
    pipeline = Pipeline(pose_doc(), builtin_registry())
    scene = pipeline.scene
    assert isinstance(scene, ArmScene)
    with torch.no_grad():
        unit = loaded.module(pipeline.observe(scene))
    expected = solver.chain.clamp(joint_targets_from_unit(scene.chain, unit))
    guess = solver.guess(scene.target, rotations=scene.target_rotation)
    torch.testing.assert_close(guess, expected)


def test_refinement_of_poses_never_makes_an_answer_worse(pose_net: Path) -> None:
    solver = LearnedIK.from_file(pose_net, dtype=torch.float64)
    position, rotation = poses_of(solver, 400)
    alone = solver.solve(position, rotations=rotation, refine=0)
    assert alone.angle is not None and alone.guess_angle is not None
    tip, turned = solver.chain.pose(alone.q)
    torch.testing.assert_close(alone.angle, angle_between(turned, rotation))
    torch.testing.assert_close(alone.error, (tip - position).norm(dim=1))

    def score(error: torch.Tensor, angle: torch.Tensor, weight: float = 0.15) -> torch.Tensor:
        return torch.hypot(error, weight * angle)

    previous = score(alone.error, alone.angle).median()
    for steps in (1, 3, 10, 30):
        refined = solver.solve(position, rotations=rotation, refine=steps)
        assert refined.angle is not None and refined.guess_angle is not None
        torch.testing.assert_close(refined.guess_angle, alone.angle)
        assert bool((score(refined.error, refined.angle) <= score(alone.error, alone.angle)).all())
        now = score(refined.error, refined.angle).median()
        assert now < previous
        previous = now
    # Another weighing of angles against metres is kept to as well.
    heavy = solver.solve(position, rotations=rotation, refine=3, metres_per_radian=1.0)
    assert heavy.angle is not None
    assert bool(
        (score(heavy.error, heavy.angle, 1.0) <= score(alone.error, alone.angle, 1.0)).all()
    )
    # The fallback (pose DLS from a cold start) reaches nearly every pose the refinement missed,
    # and reached means within both tolerances.
    saved = solver.solve(position, rotations=rotation, refine=3, fallback=True)
    assert saved.angle is not None
    assert bool(saved.rescued.any())
    assert float(saved.reached.double().mean()) > 0.95
    within = (saved.error <= 1e-3) & (saved.angle <= math.radians(0.5))
    assert torch.equal(saved.reached, within)


def test_unreachable_poses_are_flagged(pose_net: Path) -> None:
    solver = LearnedIK.from_file(pose_net, dtype=torch.float64)
    position, rotation = poses_of(solver, 4, seed=3)
    reach = solver.geometry.reach
    position[0] = torch.tensor([2 * reach, 0.0, 0.0], dtype=torch.float64)
    # A reachable position asked with the tip turned as no pose there can: the arm pointing
    # its last link back at its own base from far out in front.
    far = 0.9 * reach
    position[1] = torch.tensor([far, 0.0, solver.geometry.link_lengths[0]], dtype=torch.float64)
    rotation[1] = torch.tensor(
        [[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=torch.float64
    )
    result = solver.solve(position, rotations=rotation, refine=10, fallback=True)
    assert result.angle is not None
    assert result.beyond_reach.tolist() == [True, False, False, False]
    assert result.reached.tolist()[:2] == [False, False]
    assert bool(torch.isfinite(result.q).all())
    assert float(result.error[1]) > 1e-3 or float(result.angle[1]) > math.radians(0.5)


def test_a_pose_network_needs_orientations(pose_net: Path) -> None:
    solver = LearnedIK.from_file(pose_net)
    position, rotation = poses_of(solver, 4)
    with pytest.raises(ValueError, match="give the targets' orientations too"):
        solver.solve(position.float())
    with pytest.raises(ValueError, match=r"orientations must have shape \(4, 3, 3\)"):
        solver.solve(position.float(), rotations=rotation[:2].float())
    broken = rotation.float().clone()
    broken[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN or infinite"):
        solver.solve(position.float(), rotations=broken)
