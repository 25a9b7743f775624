"""The tip's orientation: rotation encodings, the angle and turn between orientations (zero for
known poses), the scene's target poses, and DLS solving whole poses without ever getting worse."""

from __future__ import annotations

import math

import pytest
import torch

from atrap_studio.ik import ArmChain, ArmGeometry, solve_dls
from atrap_studio.ik.features import turn_to_target
from atrap_studio.ik.rotations import (
    angle_between,
    from_quaternion,
    from_six_d,
    quaternion,
    rotation_vector,
    six_d,
)
from atrap_studio.runtime.arm_scene import ArmScene
from atrap_studio.runtime.context import Command


def _about(axis: int, angles: torch.Tensor) -> torch.Tensor:
    """Rotations (N, 3, 3) by ``angles`` about base axis 0, 1 or 2."""
    vector = torch.zeros(angles.shape[0], 3, dtype=angles.dtype)
    vector[:, axis] = 1.0
    half = angles / 2
    q = torch.cat([torch.cos(half)[:, None], torch.sin(half)[:, None] * vector], dim=1)
    return from_quaternion(q)


def test_encodings_give_back_the_rotation(chain64: ArmChain) -> None:
    _, rotation, _ = chain64.sample_poses(500, torch.Generator().manual_seed(1))
    torch.testing.assert_close(from_six_d(six_d(rotation)), rotation)
    torch.testing.assert_close(from_quaternion(quaternion(rotation)), rotation)
    assert bool((quaternion(rotation)[:, 0] >= 0).all())
    # A network's raw 6 values (not orthonormal) still read as a proper rotation.
    raw = from_six_d(torch.randn(100, 6, dtype=torch.float64, generator=torch.Generator()))
    eye = torch.eye(3, dtype=torch.float64).expand(100, 3, 3)
    torch.testing.assert_close(raw.transpose(1, 2) @ raw, eye)
    torch.testing.assert_close(torch.linalg.det(raw), torch.ones(100, dtype=torch.float64))


def test_angles_and_turns_of_known_rotations() -> None:
    angles = torch.tensor([0.0, 1e-7, 0.3, 2.0, math.pi - 1e-6, math.pi], dtype=torch.float64)
    for axis in range(3):
        turned = _about(axis, angles)
        identity = torch.eye(3, dtype=torch.float64).expand_as(turned)
        torch.testing.assert_close(angle_between(identity, turned), angles)
        expected = torch.zeros(len(angles), 3, dtype=torch.float64)
        expected[:, axis] = angles
        # At exactly pi the axis's sign is a choice: compare the angle there.
        vectors = rotation_vector(turned)
        torch.testing.assert_close(vectors[:-1], expected[:-1])
        torch.testing.assert_close(vectors[-1].norm(), angles[-1])


def test_orientation_error_of_known_poses_is_zero(chain64: ArmChain) -> None:
    position, rotation, q = chain64.sample_poses(1000, torch.Generator().manual_seed(2))
    tip, tip_rotation = chain64.pose(q)
    torch.testing.assert_close(tip, position)
    assert float(angle_between(tip_rotation, rotation).max()) == 0.0
    for mode in ("rotation_vector", "angle"):
        assert float(turn_to_target(tip_rotation, rotation, mode).abs().max()) == 0.0
    # The pose is the last joint frame's, the same as the full frames give.
    rotations, origins = chain64.frames(q)
    torch.testing.assert_close(rotations[:, -1], tip_rotation)
    torch.testing.assert_close(origins[:, -1], tip)


def test_the_scene_draws_poses_the_arm_can_take_and_scores_them() -> None:
    generator = torch.Generator().manual_seed(3)
    scene = ArmScene(ArmGeometry.industrial(6), instances=256, generator=generator)
    # Known poses: put every arm where its own target was drawn from -> nothing left to turn.
    q = scene.chain.sample_q(256, torch.Generator().manual_seed(4))
    scene.target, scene.target_rotation = scene.chain.pose(q)
    scene.apply([Command("joint_targets", _unit(scene.chain, q))])
    assert float(scene.angle().max()) < 1e-3  # float32 angles near 0 are ~1e-4 rad
    assert float(scene.distance().max()) < 1e-5
    # Fresh targets are whole poses: DLS from a cold start reaches nearly all of them.
    scene.begin_step()
    solved = solve_dls(
        ArmChain(scene.geometry, dtype=torch.float64), scene.target, rotations=scene.target_rotation
    )
    assert solved.angle is not None
    assert float(((solved.error < 1e-3) & (solved.angle < 1e-3)).double().mean()) > 0.9
    # success_deg also judges the orientation.
    strict = ArmScene(
        ArmGeometry.industrial(6), instances=256, success_deg=5.0, generator=generator
    )
    strict.target, strict.target_rotation = scene.target, scene.target_rotation
    strict.apply([Command("joint_targets", _unit(strict.chain, solved.q.float()))])
    outcome = strict.outcome()
    turned_right = strict.angle() < math.radians(5.0)
    torch.testing.assert_close(outcome["success"], (strict.distance() < 0.01) & turned_right)


def test_scene_state_keeps_the_target_orientations() -> None:
    scene = ArmScene(
        ArmGeometry.industrial(6), instances=8, generator=torch.Generator().manual_seed(5)
    )
    state = scene.state_tensors()
    other = ArmScene(
        ArmGeometry.industrial(6), instances=8, generator=torch.Generator().manual_seed(6)
    )
    other.load_state_tensors(state)
    torch.testing.assert_close(other.target_rotation, scene.target_rotation)
    del state["target_rotation"]  # a checkpoint from before poses still loads
    other.load_state_tensors(state)
    assert other.target_rotation.shape == (8, 3, 3)


@pytest.mark.parametrize("weight", [0.05, 0.15, 0.5])
def test_pose_dls_reaches_poses_and_never_ends_worse_than_it_started(
    chain64: ArmChain, weight: float
) -> None:
    position, rotation, q = chain64.sample_poses(300, torch.Generator().manual_seed(7))
    noise = torch.randn(q.shape, generator=torch.Generator().manual_seed(8), dtype=q.dtype)
    start = chain64.clamp(q + 0.3 * noise)
    solved = solve_dls(
        chain64, position, start, iterations=30, rotations=rotation, metres_per_radian=weight
    )
    assert solved.angle is not None
    assert float(((solved.error < 1e-4) & (solved.angle < 1e-4)).double().mean()) > 0.95

    def score(error: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
        return torch.hypot(error, weight * angle)

    tip, turned = chain64.pose(start)
    before = score((tip - position).norm(dim=1), angle_between(turned, rotation))
    assert bool((score(solved.error, solved.angle) <= before).all())
    # One step only: still never worse than the start, target by target.
    one = solve_dls(
        chain64, position, start, iterations=1, rotations=rotation, metres_per_radian=weight
    )
    assert one.angle is not None
    assert bool(
        (score(one.error, one.angle) <= score(*_measured(chain64, start, position, rotation))).all()
    )


def _measured(
    chain: ArmChain, q: torch.Tensor, position: torch.Tensor, rotation: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    tip, turned = chain.pose(q)
    return (tip - position).norm(dim=1), angle_between(turned, rotation)


def _unit(chain: ArmChain, q: torch.Tensor) -> torch.Tensor:
    """Joint angles as the joint_targets command's values in [-1, 1]."""
    middle, half = (chain.upper + chain.lower) / 2, (chain.upper - chain.lower) / 2
    return (q.to(middle.dtype) - middle) / half
