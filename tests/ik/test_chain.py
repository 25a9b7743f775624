"""Arm geometry validation and the batched forward kinematics."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from atrap_studio.ik import ArmChain, ArmGeometry

DEFAULT_LENGTHS = (0.30, 0.45, 0.40, 0.10, 0.10, 0.08, 0.06)


def _rng(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(axes=("z", "w"), link_lengths=(1.0, 1.0), limits=((-1, 1),) * 2), "axis must be"),
        (dict(axes=("z", "y"), link_lengths=(1.0,), limits=((-1, 1),) * 2), "one entry per joint"),
        (dict(axes=("z", "y"), link_lengths=(1.0, 1.0), limits=((-1, 1),)), "one entry per joint"),
        (dict(axes=("z",), link_lengths=(1.0,), limits=((-1, 1),)), "2 to 7 joints, got 1"),
        (dict(axes=("z",) * 8, link_lengths=(1.0,) * 8, limits=((-1, 1),) * 8), "got 8"),
        (dict(axes=("z", "y"), link_lengths=(1.0, 0.0), limits=((-1, 1),) * 2), "joint 1: link"),
        (
            dict(axes=("z", "y"), link_lengths=(1.0, math.inf), limits=((-1, 1),) * 2),
            "finite and > 0",
        ),
        (dict(axes=("z", "y"), link_lengths=(1.0, 1.0), limits=((1, -1), (-1, 1))), "lo < hi"),
        (dict(axes=("z", "y"), link_lengths=(1.0, 1.0), limits=((1, 1), (-1, 1))), "joint 0"),
    ],
)
def test_geometry_rejects_bad_layouts(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ArmGeometry(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("joints", range(2, 8))
def test_industrial_layouts(joints: int) -> None:
    geometry = ArmGeometry.industrial(joints)
    assert geometry.joints == joints
    assert geometry.axes == ("z", "y", "y", "z", "y", "z", "y")[:joints]
    assert geometry.reach == pytest.approx(sum(DEFAULT_LENGTHS[:joints]))
    for axis, (lo, hi) in zip(geometry.axes, geometry.limits, strict=True):
        expected = math.radians(170 if axis == "z" else 120)
        assert (lo, hi) == pytest.approx((-expected, expected))


@pytest.mark.parametrize("joints", [1, 8])
def test_industrial_rejects_joint_counts(joints: int) -> None:
    with pytest.raises(ValueError, match="2 to 7 joints"):
        ArmGeometry.industrial(joints)


def test_from_props_empty_means_default() -> None:
    assert ArmGeometry.from_props(4, [], [], []) == ArmGeometry.industrial(4)


def test_from_props_overrides_each_entry() -> None:
    geometry = ArmGeometry.from_props(3, ["x", "y", "x"], [0.5, 0.25, 0.25], [90, 45, 30])
    assert geometry.axes == ("x", "y", "x")
    assert geometry.link_lengths == (0.5, 0.25, 0.25)
    assert geometry.limits[1] == pytest.approx((-math.pi / 4, math.pi / 4))
    assert geometry.reach == pytest.approx(1.0)
    # Only the limits given, the rest default.
    mixed = ArmGeometry.from_props(2, [], [], [10, 20])
    assert mixed.axes == ("z", "y")
    assert mixed.limits[0] == pytest.approx((-math.radians(10), math.radians(10)))


def test_from_props_rejects_mismatch_and_bad_limits() -> None:
    with pytest.raises(ValueError, match="one entry per joint"):
        ArmGeometry.from_props(3, ["z", "y"], [], [])
    with pytest.raises(ValueError, match="> 0 degrees"):
        ArmGeometry.from_props(2, [], [], [10, -5])


def test_geometry_is_hashable_with_list_inputs() -> None:
    geometry = ArmGeometry(axes=["z", "y"], link_lengths=[1, 2], limits=[[-1, 1], [-2, 2]])  # type: ignore[arg-type]
    assert geometry == ArmGeometry(("z", "y"), (1.0, 2.0), ((-1.0, 1.0), (-2.0, 2.0)))
    assert hash(geometry)


def test_zero_configuration_points_straight_up() -> None:
    chain = ArmChain(ArmGeometry.industrial(), dtype=torch.float64)
    positions = chain.positions(torch.zeros(1, 6, dtype=torch.float64))
    assert positions.shape == (1, 7, 3)
    heights = torch.tensor([0.0, 0.30, 0.75, 1.15, 1.25, 1.35, 1.43], dtype=torch.float64)
    torch.testing.assert_close(positions[0, :, 2], heights)
    torch.testing.assert_close(positions[0, :, :2], torch.zeros(7, 2, dtype=torch.float64))
    effector = chain.effector(torch.zeros(1, 6, dtype=torch.float64))
    torch.testing.assert_close(effector, torch.tensor([[0.0, 0.0, 1.43]], dtype=torch.float64))


def test_hand_computed_two_joint_arm() -> None:
    # Base twist of 90° turns the y hinge onto world -x; bending it 90° then lays link 1 along
    # the hinge's local +x, which the twist has turned onto world +y.
    geometry = ArmGeometry(axes=("z", "y"), link_lengths=(1.0, 0.5), limits=((-3, 3), (-3, 3)))
    chain = ArmChain(geometry, dtype=torch.float64)
    q = torch.tensor([[0.0, math.pi / 2], [math.pi / 2, math.pi / 2], [0.0, -math.pi / 2]])
    positions = chain.positions(q.double())
    expected_effectors = torch.tensor(
        [[0.5, 0.0, 1.0], [0.0, 0.5, 1.0], [-0.5, 0.0, 1.0]], dtype=torch.float64
    )
    torch.testing.assert_close(positions[:, 2], expected_effectors)
    torch.testing.assert_close(positions[:, 1], torch.tensor([[0.0, 0.0, 1.0]] * 3).double())
    rotations, _ = chain.frames(q.double())
    assert rotations.shape == (3, 2, 3, 3)
    # R_0 of the 90° twist maps local x to world y.
    torch.testing.assert_close(rotations[1, 0, :, 0], torch.tensor([0.0, 1.0, 0.0]).double())


def test_x_axis_joint_bends_towards_minus_y() -> None:
    geometry = ArmGeometry(axes=("x", "x"), link_lengths=(1.0, 1.0), limits=((-3, 3), (-3, 3)))
    chain = ArmChain(geometry, dtype=torch.float64)
    effector = chain.effector(torch.tensor([[math.pi / 2, 0.0]], dtype=torch.float64))
    torch.testing.assert_close(effector, torch.tensor([[0.0, -2.0, 0.0]], dtype=torch.float64))


def test_batched_equals_one_by_one() -> None:
    chain = ArmChain(ArmGeometry.industrial(7), dtype=torch.float64)
    q = chain.sample_q(16, _rng(1))
    rotations, origins = chain.frames(q)
    for k in range(q.shape[0]):
        r_k, o_k = chain.frames(q[k : k + 1])
        torch.testing.assert_close(rotations[k : k + 1], r_k)
        torch.testing.assert_close(origins[k : k + 1], o_k)
    # The frames are rotations: R^T R = I.
    eye = torch.eye(3, dtype=torch.float64).expand_as(rotations)
    torch.testing.assert_close(rotations.transpose(-1, -2) @ rotations, eye)


def test_rejects_wrong_q_shape() -> None:
    chain = ArmChain(ArmGeometry.industrial())
    with pytest.raises(ValueError, match=r"\(N, 6\)"):
        chain.effector(torch.zeros(3, 5))
    with pytest.raises(ValueError, match=r"\(N, 6\)"):
        chain.effector(torch.zeros(6))


@pytest.mark.parametrize("joints", [2, 6, 7])
def test_jacobian_matches_autograd(joints: int) -> None:
    chain = ArmChain(ArmGeometry.industrial(joints), dtype=torch.float64)
    q = chain.sample_q(5, _rng(2))
    analytic = chain.jacobian(q)
    assert analytic.shape == (5, 3, joints)
    # effector rows are independent, so the batch jacobian is block diagonal.
    full = torch.autograd.functional.jacobian(lambda x: chain.effector(x).sum(0), q)
    torch.testing.assert_close(analytic, full.permute(1, 0, 2))
    effector, jac = chain.effector_and_jacobian(q)
    torch.testing.assert_close(effector, chain.effector(q))
    torch.testing.assert_close(jac, analytic)


def test_jacobian_matches_autograd_on_x_axes() -> None:
    geometry = ArmGeometry.from_props(4, ["x", "y", "z", "x"], [], [])
    chain = ArmChain(geometry, dtype=torch.float64)
    q = chain.sample_q(4, _rng(3))
    full = torch.autograd.functional.jacobian(lambda x: chain.effector(x).sum(0), q)
    torch.testing.assert_close(chain.jacobian(q), full.permute(1, 0, 2))


def test_effector_is_differentiable() -> None:
    chain = ArmChain(ArmGeometry.industrial())
    q = chain.sample_q(8, _rng(4)).requires_grad_(True)
    chain.effector(q).square().sum().backward()
    assert q.grad is not None
    assert torch.isfinite(q.grad).all()
    assert q.grad.abs().sum() > 0


def test_sample_q_within_limits_and_reproducible() -> None:
    chain = ArmChain(ArmGeometry.industrial(), dtype=torch.float32)
    q = chain.sample_q(2000, _rng(5))
    assert q.shape == (2000, 6)
    assert q.dtype == torch.float32
    assert ((q >= chain.lower) & (q <= chain.upper)).all()
    # Uses the whole range, not a corner of it.
    assert (q.amin(0) < chain.lower * 0.9).all()
    assert (q.amax(0) > chain.upper * 0.9).all()
    torch.testing.assert_close(q, chain.sample_q(2000, _rng(5)))


def test_sample_targets_are_reached_by_their_q() -> None:
    chain = ArmChain(ArmGeometry.industrial(), dtype=torch.float64)
    targets, q = chain.sample_targets(64, _rng(6))
    assert targets.shape == (64, 3)
    assert q.shape == (64, 6)
    assert ((q >= chain.lower) & (q <= chain.upper)).all()
    torch.testing.assert_close(chain.effector(q), targets, rtol=0, atol=1e-12)


def test_clamp_into_limits() -> None:
    chain = ArmChain(ArmGeometry.industrial(2))
    q = torch.tensor([[10.0, -10.0], [0.1, 0.2]])
    clamped = chain.clamp(q)
    torch.testing.assert_close(clamped[0], torch.stack([chain.upper[0], chain.lower[1]]))
    torch.testing.assert_close(clamped[1], q[1])


@settings(max_examples=40, deadline=None)
@given(
    joints=st.integers(2, 7),
    seed=st.integers(0, 2**31 - 1),
)
def test_fk_stays_within_reach(joints: int, seed: int) -> None:
    chain = ArmChain(ArmGeometry.industrial(joints), dtype=torch.float64)
    positions = chain.positions(chain.sample_q(32, _rng(seed)))
    distances = positions.norm(dim=-1)
    assert (distances <= chain.geometry.reach + 1e-12).all()
    # Each link keeps its length.
    links = (positions[:, 1:] - positions[:, :-1]).norm(dim=-1)
    lengths = torch.tensor(chain.geometry.link_lengths, dtype=torch.float64).expand_as(links)
    torch.testing.assert_close(links, lengths)


def test_effector_fast_path_matches_frames() -> None:
    chain = ArmChain(ArmGeometry.industrial(7), dtype=torch.float64)
    q = chain.sample_q(64, torch.Generator().manual_seed(3))
    torch.testing.assert_close(chain.effector(q), chain.frames(q)[1][:, -1], rtol=0, atol=1e-12)
