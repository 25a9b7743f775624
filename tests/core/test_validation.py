"""Validation: each kind of mistake gives its own issue code, all at once, keyed by node."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from atrap_studio.core.document import GraphDocument, Link, NodeDoc
from atrap_studio.core.registry import Registry
from atrap_studio.core.validation import analyse, validate


def _node(doc: GraphDocument, node_id: str) -> NodeDoc:
    node = doc.node(node_id)
    assert node is not None
    return node


def _link(text: str) -> Link:
    src, dst = text.split(" ")
    return Link.model_validate([src, dst])


def test_examples_are_valid(arm_doc: GraphDocument, registry: Registry) -> None:
    assert validate(arm_doc, registry) == []


def test_sizes_are_inferred_along_links(arm_doc: GraphDocument, registry: Registry) -> None:
    result = analyse(arm_doc, registry)
    assert result.inputs[("brain", "state")] == (9,)  # 6 joint angles + 3 target coordinates
    assert result.outputs[("brain", "action")] == (6,)  # inferred from the action downstream
    assert result.scene == "arm" and result.trainer == "teach"
    assert result.order.index("q") < result.order.index("brain") < result.order.index("move")


def test_quaternions_change_the_inferred_size(arm_doc: GraphDocument, registry: Registry) -> None:
    _node(arm_doc, "q").props["encoding"] = "quaternion"
    _node(arm_doc, "arm").props["joints"] = 4
    result = analyse(arm_doc, registry)
    assert result.ok, result.issues
    assert result.inputs[("brain", "state")] == (4 * 4 + 3,)
    assert result.outputs[("brain", "action")] == (4,)


Mutation = Callable[[GraphDocument], None]


def _set(node_id: str, prop: str, value: object) -> Mutation:
    return lambda doc: _node(doc, node_id).props.__setitem__(prop, value)


def _add_link(text: str) -> Mutation:
    return lambda doc: doc.links.append(_link(text))


def _drop_links(predicate: Callable[[Link], bool]) -> Mutation:
    def mutate(doc: GraphDocument) -> None:
        doc.links = [lk for lk in doc.links if not predicate(lk)]

    return mutate


def _drop_node(node_id: str) -> Mutation:
    def mutate(doc: GraphDocument) -> None:
        doc.nodes = [n for n in doc.nodes if n.id != node_id]
        doc.links = [lk for lk in doc.links if node_id not in (lk.src.node, lk.dst.node)]

    return mutate


def _retype(node_id: str, type_id: str) -> Mutation:
    return lambda doc: setattr(_node(doc, node_id), "type", type_id)


def _add_node(node_id: str, type_id: str, **props: object) -> Mutation:
    return lambda doc: doc.nodes.append(NodeDoc(id=node_id, type=type_id, props=dict(props)))


CASES: list[tuple[str, Mutation, str, str | None, str | None]] = [
    ("unknown type", _retype("q", "sensor.joint_angle"), "type.unknown", "q", "joint_angles"),
    ("unknown prop", _set("arm", "jionts", 6), "prop.unknown", "arm", "'joints'"),
    ("wrong kind", _set("arm", "joints", "six"), "prop.kind", "arm", "without quotes"),
    ("float for int", _set("arm", "instances", 1e3), "prop.kind", "arm", "write 1000"),
    ("out of range", _set("arm", "joints", 9), "prop.range", "arm", "[2, 7]"),
    ("bad choice", _set("q", "encoding", "degrees"), "prop.choice", "q", "radians"),
    ("bad list item", _set("brain", "hidden", [64, 0]), "prop.range", "brain", "item 1"),
    ("list vs joints", _set("arm", "axes", ["z", "y"]), "prop.check", "arm", "one entry per"),
    ("unknown port", _add_link("goal.value brain.sate"), "link.port_unknown", "brain", "state"),
    ("reversed link", _add_link("q.scene brain.state"), "link.port_unknown", "q", "an input"),
    ("unknown node", _add_link("ghost.value brain.state"), "link.node_unknown", "brain", None),
    (
        "type mismatch",
        _add_link("near.reward brain.state"),
        "link.type_mismatch",
        "brain",
        "Reward",
    ),
    (
        "size mismatch",
        _add_link("q.value move.values"),
        "size.mismatch",
        "move",
        "needs 6 values but its links bring 6 and more: brain.action (?), q.value (6)",
    ),
    (
        "single input twice",
        _add_link("arm.scene teach.network"),
        "link.type_mismatch",
        "teach",
        None,
    ),
    (
        "unconnected",
        _drop_links(lambda lk: lk.dst.port == "network"),
        "port.unconnected",
        "teach",
        "network",
    ),
    ("duplicate id", _add_node("q", "sensor.target_position"), "id.duplicate", "q", None),
    ("no scene", _drop_node("arm"), "graph.no_scene", None, "scene.robot_arm"),
    ("two scenes", _add_node("arm2", "scene.robot_arm"), "graph.scenes", "arm2", None),
    ("no trainer", _drop_node("teach"), "graph.no_trainer", None, "trainer.direct"),
    ("two trainers", _add_node("t2", "trainer.ppo"), "graph.trainers", "t2", None),
    (
        "unresolved size",
        lambda doc: (
            _drop_links(lambda lk: str(lk.src) == "brain.action")(doc),
            _add_node("brain2", "nn.factory")(doc),
            _add_link("brain.action brain2.state")(doc),
        ),
        "size.unresolved",
        "brain",
        None,
    ),
]


@pytest.mark.parametrize(
    ("mutate", "code", "node", "fragment"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_each_mistake_is_reported(
    arm_doc: GraphDocument,
    registry: Registry,
    mutate: Mutation,
    code: str,
    node: str | None,
    fragment: str | None,
) -> None:
    mutate(arm_doc)
    issues = validate(arm_doc, registry)
    matching = [i for i in issues if i.code == code]
    assert matching, f"expected {code}, got {[(i.code, i.message) for i in issues]}"
    issue = matching[0]
    assert issue.node == node
    if fragment:
        assert fragment in issue.message + " " + issue.hint
    assert issue.format("g.yaml").startswith("g.yaml: ")


def test_concatenated_input_infers_the_missing_part(
    arm_doc: GraphDocument, registry: Registry
) -> None:
    arm_doc.links.append(_link("goal.value move.values"))  # 3 + brain.action = 6 joints
    result = analyse(arm_doc, registry)
    assert result.ok
    assert result.outputs[("brain", "action")] == (3,)


def test_cycle_is_reported(arm_doc: GraphDocument, registry: Registry) -> None:
    arm_doc.nodes.append(NodeDoc(id="mix", type="reward.weighted_sum"))
    arm_doc.nodes.append(NodeDoc(id="mix2", type="reward.weighted_sum"))
    arm_doc.links += [_link("mix.reward mix2.terms"), _link("mix2.reward mix.terms")]
    issues = validate(arm_doc, registry)
    cycles = [i for i in issues if i.code == "graph.cycle"]
    assert len(cycles) == 1
    assert "mix → mix2 → mix" in cycles[0].message


def test_a_cycle_with_nodes_downstream_of_it_is_reported_not_a_crash(
    arm_doc: GraphDocument, registry: Registry
) -> None:
    # mix -> mix2 -> mix, and 'a_sum' (first by name) downstream of the loop, leading nowhere
    for node_id in ("mix", "mix2", "a_sum"):
        arm_doc.nodes.append(NodeDoc(id=node_id, type="reward.weighted_sum"))
    arm_doc.links += [
        _link("mix.reward mix2.terms"),
        _link("mix2.reward mix.terms"),
        _link("mix2.reward a_sum.terms"),
    ]
    cycles = [i for i in validate(arm_doc, registry) if i.code == "graph.cycle"]
    assert len(cycles) == 1
    assert "mix → mix2 → mix" in cycles[0].message


def test_feedback_loop_is_not_a_cycle(arm_doc: GraphDocument, registry: Registry) -> None:
    # arm → q → brain → move → arm.actuators closes the agent's loop across time steps
    assert not [i for i in validate(arm_doc, registry) if i.code == "graph.cycle"]


def test_multiple_links_into_single_input(arm_doc: GraphDocument, registry: Registry) -> None:
    arm_doc.nodes.append(NodeDoc(id="brain2", type="nn.factory"))
    arm_doc.links += [_link("q.value brain2.state"), _link("brain2.network teach.network")]
    issues = validate(arm_doc, registry)
    assert [i.code for i in issues if i.node == "teach"] == ["link.multiple"]


def test_every_problem_at_once(arm_doc: GraphDocument, registry: Registry) -> None:
    _node(arm_doc, "arm").props["joints"] = 99
    _node(arm_doc, "q").props["encoding"] = 3
    _node(arm_doc, "teach").props["lr"] = -1.0
    arm_doc.links.append(_link("near.reward brain.state"))
    codes = sorted(i.code for i in validate(arm_doc, registry))
    assert codes == ["link.type_mismatch", "prop.kind", "prop.range", "prop.range"]


def test_trainer_needs_a_differentiable_scene(arm_doc: GraphDocument, registry: Registry) -> None:
    # every built-in scene is differentiable, so declare one that is not (as a tank arena will be)
    arm = registry.get("scene.robot_arm")
    assert arm is not None and arm.facts is not None
    arm_facts = arm.facts
    rigid = replace(
        arm,
        type="scene.rigid_arm",
        facts=lambda props: {**arm_facts(props), "differentiable": False},
    )
    reg = Registry([rigid, *(s for s in registry if s.category != "scene")])
    _node(arm_doc, "arm").type = "scene.rigid_arm"
    issues = validate(arm_doc, reg)
    assert [(i.code, i.node) for i in issues] == [("scene.unsupported", "teach")]
    assert "differentiable" in issues[0].message
    _node(arm_doc, "teach").type = "trainer.ppo"
    _node(arm_doc, "teach").props = {}
    assert validate(arm_doc, reg) == []


def test_duplicate_link_is_a_warning(arm_doc: GraphDocument, registry: Registry) -> None:
    arm_doc.links.append(arm_doc.links[0])
    issues = validate(arm_doc, registry)
    assert [(i.code, i.severity) for i in issues] == [("link.duplicate", "warning")]
    assert analyse(arm_doc, registry).ok
