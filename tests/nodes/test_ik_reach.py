"""The Reach-by-IK action in real graphs: a trained arm network file used as the arm's IK solver
drives the tip to the point asked without learning reaching again, a network before it learns
through it, and a missing or unfit file is refused naming the node."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from atrap_studio.cli.main import main
from atrap_studio.core.document import GraphDocument, Link, NodeDoc
from atrap_studio.core.errors import RunError
from atrap_studio.core.validation import analyse
from atrap_studio.core.yaml_io import save_graph
from atrap_studio.ik.dls import METRES_PER_RADIAN
from atrap_studio.ik.rotations import six_d
from atrap_studio.nodes import builtin_registry
from atrap_studio.runtime.arm_scene import ArmScene
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.runner import Runner
from tests.ik.nets import arm_doc, pose_doc, train


@pytest.fixture(scope="module")
def pose_net(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(pose_doc(), tmp_path_factory.mktemp("pose"))


@pytest.fixture(scope="module")
def reach_net(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(arm_doc(), tmp_path_factory.mktemp("reach"))


def through_ik(doc: GraphDocument, file: str, **props: object) -> GraphDocument:
    """``doc`` with its joint-targets action replaced by Reach by IK solving with ``file``: the
    network now answers where the tip goes."""
    out = doc.model_copy(deep=True)
    move = out.node("move")
    assert move is not None
    move.type = "action.ik_reach"
    move.props = {"file": file, **props}
    out.links.append(Link.model_validate(["arm.scene", "move.scene"]))
    return out


def _unit_point(scene: ArmScene) -> torch.Tensor:
    return scene.target / scene.geometry.reach


def test_it_drives_the_arm_to_the_pose_asked_without_training(pose_net: Path) -> None:
    doc = through_ik(pose_doc(), str(pose_net), orientation="given", refine=30)
    pipeline = Pipeline(doc, builtin_registry())
    scene = pipeline.scene
    assert isinstance(scene, ArmScene)
    # Ask, for every arm, its scene's own target pose: the solver alone must bring it there.
    asked = torch.cat([_unit_point(scene), six_d(scene.target_rotation)], dim=1)
    command = pipeline.impls["move"].forward({"scene": scene, "values": asked})["command"]
    scene.apply([command])
    within = (scene.distance() < 1e-3) & (scene.angle() < math.radians(0.5))
    assert float(within.double().mean()) > 0.9
    assert float(scene.distance().median()) < 1e-4


def test_a_network_learns_through_it_in_a_headless_run(pose_net: Path, tmp_path: Path) -> None:
    doc = through_ik(pose_doc(), str(pose_net), orientation="given", refine=5)
    assert analyse(doc, builtin_registry()).ok
    pipeline = Pipeline(doc, builtin_registry(), source=str(tmp_path / "graph.yaml"))
    before = [p.detach().clone() for p in pipeline.network.parameters()]
    result = Runner(pipeline, out_dir=tmp_path / "run").run()
    assert result.error is None and result.network_path is not None
    # The gradient of the rewards reached the network through the solver.
    after = list(pipeline.network.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before, strict=True))
    assert result.evaluation is not None
    assert math.isfinite(float(result.evaluation["median_error_mm"]))


def test_atrap_run_refuses_a_missing_or_unfit_file_naming_the_node(
    reach_net: Path, pose_net: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = tmp_path / "graph.yaml"
    cases = {
        "missing.atrapnet": "node 'move' cannot use",
        str(pose_net): "node 'move': " + str(pose_net) + " was trained on poses",
    }
    junk = tmp_path / "junk.atrapnet"
    junk.write_bytes(b"not a network at all")
    cases[str(junk)] = "node 'move' cannot use " + str(junk)
    for file, expected in cases.items():
        save_graph(through_ik(arm_doc(), file), graph)
        assert (
            main(["run", str(graph), "--steps", "2", "--out", str(tmp_path / "r"), "--quiet"]) == 1
        )
        err = capsys.readouterr().err
        assert expected in err, err
        assert "Traceback" not in err
    # An arm other than the solver's: refused when the scene is first met.
    doc = through_ik(arm_doc(), str(reach_net))
    arm = doc.node("arm")
    assert arm is not None
    arm.props["link_lengths"] = [0.5, 0.4, 0.3]
    pipeline = Pipeline(doc, builtin_registry())
    with pytest.raises(RunError, match="solves for another arm") as caught:
        pipeline.trainer.step(0)
    assert caught.value.node == "move"


def test_validation_names_the_node_without_a_network_file() -> None:
    for file, expected in (("", "no network file is chosen"), ("net.onnx", "not an .atrapnet")):
        issues = analyse(through_ik(arm_doc(), file), builtin_registry()).errors
        named = [i for i in issues if (i.node, i.prop) == ("move", "file")]
        assert len(named) == 1 and expected in named[0].message, issues


def test_it_takes_a_point_or_a_pose_as_its_orientation_says(reach_net: Path) -> None:
    registry = builtin_registry()
    free = analyse(through_ik(arm_doc(), str(reach_net)), registry)
    assert free.ok and free.inputs[("move", "values")] == (3,)
    given = analyse(through_ik(pose_doc(), "x.atrapnet", orientation="given"), registry)
    assert given.inputs[("move", "values")] == (9,)
    # A scene without a tip (a gymnasium environment) is told apart by validation.
    doc = GraphDocument.model_validate(
        {
            "format": "atrap-graph",
            "schema_version": 1,
            "name": "x",
            "nodes": [{"id": "env", "type": "scene.gymnasium"}],
            "links": [],
        }
    )
    doc.nodes.append(NodeDoc(id="move", type="action.ik_reach", props={"file": "a.atrapnet"}))
    doc.links.append(Link.model_validate(["env.scene", "move.scene"]))
    codes = {(i.code, i.node) for i in analyse(doc, registry).errors}
    assert any(node == "move" for _, node in codes), codes


def test_its_gradient_moves_the_tip_as_the_asked_point_moves(pose_net: Path) -> None:
    """Through the node, d(tip)/d(point asked) is the reach times the identity (to first order,
    as the solution would move) wherever the pose was solved, away from the joint limits and
    from singular poses (where the damping keeps the gradient bounded instead)."""
    doc = through_ik(pose_doc(), str(pose_net), orientation="given", refine=30)
    pipeline = Pipeline(doc, builtin_registry())
    scene = pipeline.scene
    assert isinstance(scene, ArmScene)
    node = pipeline.impls["move"]
    asked = torch.cat([_unit_point(scene), six_d(scene.target_rotation)], dim=1)[:64]
    arms = ArmScene(scene.geometry, instances=64, generator=torch.Generator().manual_seed(1))
    arms.target = scene.target[:64]  # what was asked: the distance says which were solved
    for axis in range(3):
        values = asked.clone().requires_grad_(True)
        command = node.forward({"scene": arms, "values": values})["command"]
        arms.apply([command])
        arms.effector[:, axis].sum().backward()
        assert values.grad is not None
        chain = arms.chain
        _, _, jac = chain.pose_and_jacobian(arms.q.detach())
        weighted = torch.cat([jac[:, :3], METRES_PER_RADIAN * jac[:, 3:]], dim=1)
        conditioned = torch.linalg.svdvals(weighted).amin(dim=1) > 0.05  # damping 0.01: <= 4%
        inside = ((arms.q > chain.lower + 1e-3) & (arms.q < chain.upper - 1e-3)).all(dim=1)
        solved = arms.distance().detach() < 1e-4
        free = conditioned & inside & solved
        assert int(free.sum()) >= 8
        expected = torch.zeros(64, 3)
        expected[:, axis] = scene.geometry.reach
        off = (values.grad[free, :3] - expected[free]).abs() / scene.geometry.reach
        assert float(off.max()) < 0.05, off
