"""Compiling graphs into pipelines and stepping them."""

from __future__ import annotations

import math

import pytest
import torch

from atrap_studio.core.document import GraphDocument, Link, NodeDoc
from atrap_studio.core.errors import RunError
from atrap_studio.core.registry import Registry
from atrap_studio.runtime.arm_scene import ArmScene
from atrap_studio.runtime.pipeline import GraphInvalidError, Pipeline


def _node(doc: GraphDocument, node_id: str):  # type: ignore[no-untyped-def]
    node = doc.node(node_id)
    assert node is not None
    return node


def huber(units: torch.Tensor) -> torch.Tensor:
    """The Huber reward worked out by hand: quadratic within one unit, linear beyond."""
    return -torch.where(units < 1, 0.5 * units.square(), units - 0.5)


def near_reward(scene: ArmScene) -> torch.Tensor:
    """The example's distance reward: Huber, its knee at 10 mm."""
    return huber(scene.distance() / 0.01)


def _still_arms_reward(doc: GraphDocument, registry: Registry) -> tuple[torch.Tensor, ArmScene]:
    """The 'near' reward after one step in which every arm is sent to mid-range, and its scene."""
    pipeline = Pipeline(doc, registry)
    scene = pipeline.scene
    pipeline.observe(scene)
    pipeline.act(scene, torch.zeros(128, 3))
    return pipeline.rewards(scene)["near"], scene


def test_compiles_and_steps_all_instances_at_once(
    small_doc: GraphDocument, registry: Registry
) -> None:
    pipeline = Pipeline(small_doc, registry)
    scene = pipeline.scene
    assert pipeline.architecture.inputs == 3 + 3 and pipeline.architecture.outputs == 3
    scene.begin_step()
    obs = pipeline.observe(scene)
    assert obs.shape == (128, 6)
    assert torch.equal(obs[:, :3], scene.q) and torch.equal(obs[:, 3:], scene.target)
    action = torch.zeros(128, 3)
    pipeline.act(scene, action)
    middle = (scene.chain.lower + scene.chain.upper) / 2
    assert torch.allclose(scene.q, middle.expand(128, 3))
    terms = pipeline.rewards(scene)
    assert list(terms) == ["near"]
    assert torch.allclose(terms["near"], near_reward(scene))
    assert bool(scene.done.all())  # one-step episodes


def test_reward_is_differentiable_through_the_scene(
    small_doc: GraphDocument, registry: Registry
) -> None:
    pipeline = Pipeline(small_doc, registry)
    scene = pipeline.scene
    scene.begin_step()
    pipeline.observe(scene)
    action = torch.zeros(128, 3, requires_grad=True)
    pipeline.act(scene, action)
    pipeline.rewards(scene)["near"].sum().backward()
    assert action.grad is not None and float(action.grad.abs().sum()) > 0


def test_quaternion_sensor(small_doc: GraphDocument, registry: Registry) -> None:
    _node(small_doc, "q").props["encoding"] = "quaternion"
    pipeline = Pipeline(small_doc, registry)
    scene = pipeline.scene
    obs = pipeline.observe(scene)
    assert obs.shape == (128, 3 * 4 + 3)
    quats = obs[:, :12].reshape(128, 3, 4)
    assert torch.allclose(quats.norm(dim=-1), torch.ones(128, 3), atol=1e-6)
    angles = 2 * torch.atan2(quats[..., 1:].norm(dim=-1), quats[..., 0])
    assert torch.allclose(angles, scene.q.abs(), atol=1e-5)


def test_joint_deltas_move_by_at_most_the_step(
    small_doc: GraphDocument, registry: Registry
) -> None:
    _node(small_doc, "move").type = "action.joint_deltas"
    _node(small_doc, "move").props = {"max_step_deg": 5.0}
    _node(small_doc, "arm").props["episode_steps"] = 3
    pipeline = Pipeline(small_doc, registry)
    scene = pipeline.scene
    scene.begin_step()
    before = scene.q.clone()
    pipeline.observe(scene)
    pipeline.act(scene, torch.ones(128, 3))
    moved = scene.q - before
    assert float(moved.max()) <= math.radians(5.0) + 1e-6
    assert not bool(scene.done.any())


def test_fine_joint_deltas_shrink_with_the_distance_left(
    small_doc: GraphDocument, registry: Registry
) -> None:
    """Within 'fine_within_mm' the largest turn is the step times distance / fine: the same
    values turn a joint less the closer the tip is, and as much as before farther out."""
    _node(small_doc, "move").type = "action.joint_deltas"
    _node(small_doc, "move").props = {"max_step_deg": 5.0, "fine_within_mm": 400.0}
    small_doc.links.append(Link.model_validate(["arm.scene", "move.scene"]))
    _node(small_doc, "arm").props["episode_steps"] = 3
    pipeline = Pipeline(small_doc, registry)
    scene = pipeline.scene
    scene.begin_step()
    before, distance = scene.q.clone(), scene.distance()
    assert bool((distance < 0.4).any()) and bool((distance > 0.4).any())  # both sides seen
    pipeline.observe(scene)
    pipeline.act(scene, torch.full((128, 3), 0.5))
    share = (distance / 0.4).clamp(max=1.0)
    expected = scene.chain.clamp(before + 0.5 * math.radians(5.0) * share[:, None])
    torch.testing.assert_close(scene.q, expected)


def test_fine_joint_deltas_need_the_scene_linked(
    small_doc: GraphDocument, registry: Registry
) -> None:
    _node(small_doc, "move").type = "action.joint_deltas"
    _node(small_doc, "move").props = {"fine_within_mm": 100.0}
    with pytest.raises(GraphInvalidError) as info:
        Pipeline(small_doc, registry)
    (issue,) = info.value.issues  # the cause alone: the network's size is not a second problem
    assert issue.node == "move" and issue.code == "port.unconnected" and issue.port == "scene"
    assert "'fine_within_mm' above 0 reads the distance" in issue.message
    _node(small_doc, "move").props = {"fine_within_mm": 0.0}  # fixed turns need no scene
    Pipeline(small_doc, registry)


def test_invalid_graph_lists_every_issue(small_doc: GraphDocument, registry: Registry) -> None:
    _node(small_doc, "arm").props["joints"] = 42
    small_doc.links.append(Link.model_validate(["near.reward", "brain.state"]))
    with pytest.raises(GraphInvalidError) as info:
        Pipeline(small_doc, registry, source="g.yaml")
    assert sorted(i.code for i in info.value.issues) == ["link.type_mismatch", "prop.range"]
    assert "g.yaml: node 'arm'" in str(info.value)


def test_failing_node_is_named(small_doc: GraphDocument, registry: Registry) -> None:
    from atrap_studio.core.document import NodeDoc

    small_doc.nodes.append(NodeDoc(id="mix", type="reward.weighted_sum", props={"weights": [1, 2]}))
    small_doc.links = [lk for lk in small_doc.links if str(lk.dst) != "teach.reward"]
    small_doc.links += [
        Link.model_validate(["near.reward", "mix.terms"]),
        Link.model_validate(["mix.reward", "teach.reward"]),
    ]
    pipeline = Pipeline(small_doc, registry)
    with pytest.raises(RunError, match=r"node 'mix' \(reward.weighted_sum\) failed: .*2 weights"):
        pipeline.trainer.step(0)


def test_weighted_sum_adds_terms(small_doc: GraphDocument, registry: Registry) -> None:
    from atrap_studio.core.document import NodeDoc

    small_doc.nodes += [
        NodeDoc(id="hit", type="reward.reached", props={"tolerance_mm": 1e6}),
        NodeDoc(id="mix", type="reward.weighted_sum", props={"weights": [2.0, 0.5]}),
    ]
    small_doc.links = [lk for lk in small_doc.links if str(lk.dst) != "teach.reward"]
    small_doc.links += [
        Link.model_validate(["arm.scene", "hit.scene"]),
        Link.model_validate(["near.reward", "mix.terms"]),
        Link.model_validate(["hit.reward", "mix.terms"]),
        Link.model_validate(["mix.reward", "teach.reward"]),
    ]
    pipeline = Pipeline(small_doc, registry)
    scene = pipeline.scene
    pipeline.observe(scene)
    pipeline.act(scene, torch.zeros(128, 3))
    total = pipeline.rewards(scene)["mix"]
    assert torch.allclose(total, 2.0 * near_reward(scene) + 0.5)


def test_seeds_decide_weights_and_targets(small_doc: GraphDocument, registry: Registry) -> None:
    a, b = Pipeline(small_doc, registry), Pipeline(small_doc, registry)
    c = Pipeline(small_doc, registry, seed=7)
    assert torch.equal(a.scene.target, b.scene.target)
    assert torch.equal(a.network[0].weight, b.network[0].weight)
    assert not torch.equal(a.scene.target, c.scene.target)
    assert not torch.equal(a.network[0].weight, c.network[0].weight)


def test_evaluation_is_repeatable(small_doc: GraphDocument, registry: Registry) -> None:
    pipeline = Pipeline(small_doc, registry)
    first = pipeline.evaluate(pipeline.network, 300, seed=5).summary()
    again = pipeline.evaluate(pipeline.network, 300, seed=5).summary()
    assert first == again and first["episodes"] == 300
    assert 0 <= first["success_rate"] <= 1 and first["p95_error_mm"] >= first["median_error_mm"]


@pytest.mark.parametrize("mode", ["vector", "direction", "length", "log_length"])
def test_tip_to_target_sensor_modes(
    mode: str, small_doc: GraphDocument, registry: Registry
) -> None:
    small_doc.nodes.append(
        NodeDoc(id="gap", type="sensor.distance_to_target", props={"mode": mode})
    )
    small_doc.links += [
        Link.model_validate(["arm.scene", "gap.scene"]),
        Link.model_validate(["gap.value", "brain.state"]),
    ]
    pipeline = Pipeline(small_doc, registry)
    scene = pipeline.scene
    value = pipeline.observe(scene)[:, 6:]
    delta = scene.target - scene.effector
    length = torch.linalg.vector_norm(delta, dim=-1, keepdim=True)
    expected = {
        "vector": delta,
        "direction": delta / length,
        "length": length,
        "log_length": torch.log1p(length * 1000.0),
    }[mode]
    torch.testing.assert_close(value, expected)


def test_joint_pull_is_minus_the_gradient_of_the_distance(
    small_doc: GraphDocument, registry: Registry
) -> None:
    """Each joint's pull is how fast turning it shortens the distance to the target: what
    autograd gives through the arm's own forward kinematics."""
    small_doc.nodes.append(NodeDoc(id="pull", type="sensor.joint_pull"))
    small_doc.links += [
        Link.model_validate(["arm.scene", "pull.scene"]),
        Link.model_validate(["pull.value", "brain.state"]),
    ]
    pipeline = Pipeline(small_doc, registry)
    assert pipeline.architecture.inputs == 3 + 3 + 3
    scene = pipeline.scene
    pull = pipeline.observe(scene)[:, 6:]
    q = scene.q.clone().requires_grad_(True)
    distance = torch.linalg.vector_norm(scene.target - scene.chain.effector(q), dim=-1)
    (gradient,) = torch.autograd.grad(distance.sum(), q)
    torch.testing.assert_close(pull, -gradient)
    assert float(pull.abs().min(dim=1).values.max()) > 0.01  # not a vector of zeros


def test_log_reward_keeps_rewarding_the_last_millimetres(
    small_doc: GraphDocument, registry: Registry
) -> None:
    _node(small_doc, "near").props.update(shape="log", scale_mm=20.0)
    reward, scene = _still_arms_reward(small_doc, registry)
    torch.testing.assert_close(reward, -torch.log1p(scene.distance() / 0.02))
    # 1 mm closer is worth more near the target than far from it
    near = -math.log1p(0.002 / 0.02) + math.log1p(0.003 / 0.02)
    far = -math.log1p(0.300 / 0.02) + math.log1p(0.301 / 0.02)
    assert near > 10 * far


def test_huber_reward_is_quadratic_within_its_scale_and_linear_beyond(
    small_doc: GraphDocument, registry: Registry
) -> None:
    _node(small_doc, "near").props.update(shape="huber", scale_mm=200.0)
    reward, scene = _still_arms_reward(small_doc, registry)
    units = scene.distance() / 0.2
    assert bool((units < 1).any()) and bool((units > 1).any())  # both sides of the knee
    torch.testing.assert_close(reward, huber(units))
