"""Learned IK from network files trained for real: the guess is what the network answers when fed
by the graph's own sensors, refinement only ever helps, and unfit networks are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from atrap_studio.core.errors import NetworkFileError
from atrap_studio.ik import ArmGeometry, LearnedIK, NetworkUnfitError
from atrap_studio.nodes import builtin_registry
from atrap_studio.runtime.arm_scene import ArmScene, joint_targets_from_unit
from atrap_studio.runtime.netfile import PortMeaning, load_network, save_network
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.provenance import SceneVariant
from tests.ik.nets import arm_doc, every_sensor_doc, train


@pytest.fixture(scope="module")
def arm_net(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(arm_doc(), tmp_path_factory.mktemp("arm"))


@pytest.fixture(scope="module")
def every_sensor_net(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(every_sensor_doc(), tmp_path_factory.mktemp("every-sensor"))


def targets_of(solver: LearnedIK, n: int, seed: int = 7) -> torch.Tensor:
    """Reachable targets of the solver's arm, in float64."""
    return solver.chain.sample_targets(n, torch.Generator().manual_seed(seed))[0]


def test_refinement_reduces_the_error_of_the_network_alone(arm_net: Path) -> None:
    solver = LearnedIK.from_file(arm_net, dtype=torch.float64)
    assert solver.joints == 3  # the arm named in the file, not the default 6-joint one
    targets = targets_of(solver, 500)
    alone = solver.solve(targets, refine=0)
    assert torch.equal(alone.error, alone.guess_error) and alone.iterations == 0
    measured = torch.linalg.vector_norm(solver.chain.effector(alone.q) - targets, dim=1)
    torch.testing.assert_close(alone.error, measured)
    previous = alone.error
    for steps in (1, 3, 10):
        refined = solver.solve(targets, refine=steps)
        torch.testing.assert_close(refined.guess_error, alone.error)
        # Never worse for any target, and clearly better than fewer steps on the median.
        assert bool((refined.error <= refined.guess_error).all())
        assert float(refined.error.median()) < 0.8 * float(previous.median())
        previous = refined.error
    assert float(previous.median()) < 1e-6  # 10 steps: float64 DLS converges from the guess
    assert float(refined.reached.double().mean()) > 0.9


def test_the_guess_is_the_network_fed_by_the_graphs_own_sensors(every_sensor_net: Path) -> None:
    """Quaternion joint angles, the tip's position and the direction to the target, computed by
    the solver, must equal what the sensors of the graph the network trained with read."""
    loaded = load_network(every_sensor_net)
    assert [p.type for p in loaded.manifest.inputs] == [
        "sensor.joint_angles",
        "sensor.target_position",
        "sensor.effector_position",
        "sensor.distance_to_target",
    ]
    solver = LearnedIK(loaded)
    pipeline = Pipeline(every_sensor_doc(), builtin_registry())
    scene = pipeline.scene  # its first poses and targets, drawn by the scene itself
    assert isinstance(scene, ArmScene)
    with torch.no_grad():
        unit = loaded.module(pipeline.observe(scene))
    span = float(loaded.manifest.outputs[0].props["range"])
    expected = solver.chain.clamp(joint_targets_from_unit(scene.chain, span * unit))
    torch.testing.assert_close(solver.guess(scene.target, q_start=scene.q), expected)


def test_large_batches_are_solved_in_chunks_alike(arm_net: Path) -> None:
    solver = LearnedIK.from_file(arm_net, dtype=torch.float64)
    targets = targets_of(solver, 300)
    whole = solver.solve(targets, refine=2)
    chunked = solver.solve(targets, refine=2, chunk=64)
    torch.testing.assert_close(chunked.q, whole.q)
    torch.testing.assert_close(chunked.error, whole.error)


def test_targets_beyond_reach_are_flagged_not_garbage(arm_net: Path) -> None:
    solver = LearnedIK.from_file(arm_net, dtype=torch.float64)
    reach = solver.geometry.reach
    far = [[2 * reach, 0.0, 0.0], [0.0, 0.0, 1.5 * reach], [0.0, 1e300, 0.0]]
    result = solver.solve(torch.tensor(far, dtype=torch.float64), refine=20)
    assert result.beyond_reach.tolist() == [True, True, True]
    assert not bool(result.reached.any())
    assert bool(torch.isfinite(result.q).all()) and bool(torch.isfinite(result.error).all())
    assert bool((result.error <= result.guess_error).all())
    # The arm stretched towards each target: never nearer than the reach allows, much nearer
    # than the base is, and straight up (every joint in the middle) exactly the reach short.
    assert float(result.error[0]) >= reach and float(result.error[0]) < 1.75 * reach
    assert float(result.error[1]) == pytest.approx(0.5 * reach, abs=1e-6)
    assert float(result.error[2]) == pytest.approx(1e300)
    with pytest.raises(ValueError, match="NaN or infinite"):
        solver.solve(torch.tensor([[0.1, float("nan"), 0.2]]))


def _edited(source: Path, out: Path, **changes: Any) -> Path:
    """A copy of a real network file whose manifest says other things (as a stranger's might)."""
    loaded = load_network(source)
    save_network(out, loaded.module, loaded.manifest.model_copy(update=changes))
    return out


def test_networks_that_cannot_solve_ik_are_refused_naming_why(
    arm_net: Path, tmp_path: Path
) -> None:
    manifest = load_network(arm_net).manifest
    q_in, goal_in = manifest.inputs
    camera = PortMeaning(node="eye", type="sensor.camera", size=goal_in.size)
    cases: dict[str, dict[str, Any]] = {
        "reads 'eye' (sensor.camera), which a solver cannot give": {"inputs": [q_in, camera]},
        "it never reads the target": {
            "inputs": [q_in, goal_in.model_copy(update={"type": "sensor.effector_position"})]
        },
        "it answers with [('action.joint_deltas', 3)]": {
            "outputs": [manifest.outputs[0].model_copy(update={"type": "action.joint_deltas"})]
        },
        "it was trained on scene.gymnasium, not on scene.robot_arm": {
            "provenance": manifest.provenance.model_copy(
                update={"scene": SceneVariant(type="scene.gymnasium")}
            )
        },
        "it does not say which scene it was trained on": {
            "provenance": manifest.provenance.model_copy(update={"scene": None})
        },
    }
    for i, (why, changes) in enumerate(cases.items()):
        path = _edited(arm_net, tmp_path / f"unfit-{i}.atrapnet", **changes)
        with pytest.raises(NetworkUnfitError, match="cannot serve as a learned IK solver") as err:
            LearnedIK.from_file(path)
        assert why in str(err.value) and str(path) in str(err.value)
    with pytest.raises(NetworkUnfitError, match="trained on another arm"):
        LearnedIK.from_file(arm_net, geometry=ArmGeometry.industrial(6))
    # A file without its scene is usable when the caller says which arm it drives.
    bare = tmp_path / "unfit-4.atrapnet"
    assert LearnedIK.from_file(bare, geometry=ArmGeometry.industrial(3)).joints == 3
    broken = tmp_path / "broken.atrapnet"
    broken.write_bytes(arm_net.read_bytes()[:100])
    with pytest.raises(NetworkFileError):
        LearnedIK.from_file(broken)


def test_the_fallback_solves_again_only_what_the_refinement_missed(arm_net: Path) -> None:
    solver = LearnedIK.from_file(arm_net, dtype=torch.float64)
    targets = targets_of(solver, 400, seed=11)
    plain = solver.solve(targets, refine=2)
    saved = solver.solve(targets, refine=2, fallback=True)
    missed = ~plain.reached
    assert int(missed.sum()) > 40  # a network of 40 updates misses many: the test means something
    assert not bool(plain.rescued.any())
    assert bool(saved.rescued.any()) and not bool((saved.rescued & ~missed).any())
    assert bool(saved.reached.all())  # DLS from a cold start reaches every reachable target
    kept = ~saved.rescued
    assert torch.equal(saved.q[kept], plain.q[kept])
    assert bool((saved.error <= plain.error).all())
