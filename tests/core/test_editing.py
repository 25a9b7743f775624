"""Document edits: pure functions that refuse, in words, what would break the graph."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from atrap_studio.core.blocks import group
from atrap_studio.core.document import (
    NODE_ID_PATTERN,
    BlockDoc,
    Endpoint,
    GraphDocument,
    Link,
    NodeDoc,
)
from atrap_studio.core.editing import (
    EditRefused,
    add_node,
    connect,
    disconnect,
    link_problem,
    move,
    numbered,
    remove_nodes,
    rename,
    set_prop,
    taken_ids,
    unique_id,
    unique_name,
)
from atrap_studio.core.registry import Registry
from atrap_studio.core.specs import NodeSpec
from atrap_studio.core.validation import validate
from tests.core.helpers import ep, node


def block(doc: GraphDocument, block_id: str) -> BlockDoc:
    found = doc.block(block_id)
    assert found is not None, block_id
    return found


def spec(registry: Registry, type_id: str) -> NodeSpec:
    found = registry.get(type_id)
    assert found is not None
    return found


def pairs(doc: GraphDocument) -> list[list[str]]:
    return [lk.to_pair() for lk in doc.links]


@pytest.mark.parametrize(
    ("taken", "base", "expected"),
    [
        ([], "joint_angles", "joint_angles"),
        (["joint_angles"], "joint_angles", "joint_angles_2"),
        (["x", "x_2", "x_3"], "x", "x_4"),
        ([], "3d cam!", "n_3d_cam"),
        ([], "My Block", "My_Block"),
        ([], "...", "node"),
        ([], "a" * 100, "a" * 56),
    ],
)
def test_unique_id(taken: list[str], base: str, expected: str) -> None:
    result = unique_id(taken, base)
    assert result == expected
    assert re.match(NODE_ID_PATTERN, result)


@pytest.mark.parametrize(
    ("used", "expected"),
    [(set(), "Arm"), ({"Arm"}, "Arm 2"), ({"Arm", "Arm 2"}, "Arm 3"), ({"Arm 2"}, "Arm")],
)
def test_numbered(used: set[str], expected: str) -> None:
    assert numbered(used, "Arm") == expected


def test_add_node_gives_unique_ids_names_and_defaults(
    arm_doc: GraphDocument, registry: Registry
) -> None:
    before = arm_doc.model_copy(deep=True)
    sensor = spec(registry, "sensor.joint_angles")
    doc1, first = add_node(arm_doc, sensor, (10.0, 20.0))
    doc2, second = add_node(doc1, sensor)
    assert (first, second) == ("joint_angles", "joint_angles_2")
    one, two = doc2.node(first), doc2.node(second)
    assert one is not None and two is not None
    assert (one.name, two.name) == ("Joint angles", "Joint angles 2")
    assert one.type == two.type == "sensor.joint_angles"
    assert one.props == two.props == {"encoding": "radians"} == sensor.defaults()
    assert (one.pos, two.pos) == ((10.0, 20.0), None)
    assert [n.id for n in doc2.nodes] == [*(n.id for n in arm_doc.nodes), first, second]
    assert doc2.links == arm_doc.links
    assert arm_doc == before  # pure: the input document is untouched
    assert len(doc1.nodes) == len(arm_doc.nodes) + 1


def test_add_node_avoids_block_ids_and_copies_defaults(
    arm_doc: GraphDocument, registry: Registry
) -> None:
    grouped, block_id = group(arm_doc, registry, ["q", "goal"], "factory")
    assert block_id == "factory"
    doc, node_id = add_node(grouped, spec(registry, "nn.factory"))
    assert node_id == "factory_2"  # nodes and blocks share one id namespace
    assert taken_ids(doc) >= {"factory", "factory_2", "brain"}
    props = node(doc, node_id).props
    assert isinstance(props["hidden"], list)
    props["hidden"].append(7)  # a new node's defaults are its own
    assert spec(registry, "nn.factory").defaults()["hidden"] == [128] * 3
    assert unique_name(doc, "NN Factory") == "NN Factory 2"


def test_remove_nodes_drops_links_and_block_membership(
    arm_doc: GraphDocument, registry: Registry
) -> None:
    grouped, block_id = group(arm_doc, registry, ["q", "goal"], "Sensors")
    before = grouped.model_copy(deep=True)

    without_q = remove_nodes(grouped, ["q"])
    assert without_q.node("q") is None
    assert not [lk for lk in without_q.links if "q" in (lk.src.node, lk.dst.node)]
    assert len(without_q.links) == len(grouped.links) - 2  # arm.scene→q.scene, q.value→brain
    block = without_q.block(block_id)
    assert block is not None
    assert block.nodes == ["goal"]
    assert [str(p.port) for p in block.inputs] == ["goal.scene"]
    assert [str(p.port) for p in block.outputs] == ["goal.value"]
    assert grouped == before

    without_both = remove_nodes(grouped, ["goal", "q"])
    assert without_both.blocks == []  # a block left empty goes with its members
    assert [n.id for n in without_both.nodes] == ["arm", "brain", "move", "near", "teach"]


REFUSALS = [
    ("unknown source", "ghost.value", "brain.state", "there is no node 'ghost'"),
    ("unknown target", "q.value", "ghost.state", "there is no node 'ghost'"),
    ("self link", "brain.action", "brain.state", "a node cannot feed itself"),
    ("unknown output", "q.val", "brain.state", "'Joint angles' has no output 'val'"),
    ("unknown input", "q.value", "brain.sate", "'NN Factory' has no input 'sate'"),
    ("input as output", "q.scene", "brain.state", "'Joint angles' has no output 'scene'"),
    (
        "kind mismatch",
        "arm.scene",
        "brain.state",
        "Robot arm · scene → NN Factory · state: a Scene cannot feed 'state', which takes a "
        "Vector; link it to an input that takes a Scene",
    ),
    ("reward into network", "near.reward", "teach.network", "which takes a Network"),
    (
        "duplicate",
        "goal.value",
        "brain.state",
        "Target position · value is already linked to NN Factory · state",
    ),
]


@pytest.mark.parametrize(
    ("src", "dst", "reason"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_link_refusals(
    arm_doc: GraphDocument, registry: Registry, src: str, dst: str, reason: str
) -> None:
    problem = link_problem(arm_doc, registry, ep(src), ep(dst))
    assert problem is not None and reason in problem
    before = arm_doc.model_copy(deep=True)
    with pytest.raises(EditRefused, match=re.escape(reason)):
        connect(arm_doc, registry, ep(src), ep(dst))
    assert arm_doc == before


def test_link_into_unknown_type_is_refused(registry: Registry) -> None:
    doc = GraphDocument(
        nodes=[NodeDoc(id="q", type="sensor.joint_angles"), NodeDoc(id="x", type="sensor.nope")]
    )
    problem = link_problem(doc, registry, ep("q.value"), ep("x.state"))
    assert problem is not None and "type this version does not know ('sensor.nope')" in problem


def test_cycle_is_refused_but_feedback_is_allowed(
    arm_doc: GraphDocument, registry: Registry
) -> None:
    doc, brain2 = add_node(arm_doc, spec(registry, "nn.factory"))
    doc = connect(doc, registry, ep("brain.action"), ep(f"{brain2}.state"))
    problem = link_problem(doc, registry, ep(f"{brain2}.action"), ep("brain.state"))
    assert problem is not None and "would close a loop" in problem
    assert f"'NN Factory ({brain2})' already depends on 'NN Factory (brain)'" in problem
    # a longer loop: brain → brain2 → brain3 → brain
    doc, brain3 = add_node(doc, spec(registry, "nn.factory"))
    doc = connect(doc, registry, ep(f"{brain2}.action"), ep(f"{brain3}.state"))
    problem = link_problem(doc, registry, ep(f"{brain3}.action"), ep("brain.state"))
    assert problem is not None and "would close a loop" in problem
    assert link_problem(doc, registry, ep(f"{brain3}.action"), ep("move.values")) is None

    # the scene's actuators take a value back from later nodes: that closes no loop
    loose = disconnect(arm_doc, ep("move.command"), ep("arm.actuators"))
    assert link_problem(loose, registry, ep("move.command"), ep("arm.actuators")) is None
    assert connect(loose, registry, ep("move.command"), ep("arm.actuators")).links[-1] == Link(
        src=ep("move.command"), dst=ep("arm.actuators")
    )


def test_connect_replaces_a_single_link_and_appends_to_a_multiple_one(
    arm_doc: GraphDocument, registry: Registry
) -> None:
    doc, brain2 = add_node(arm_doc, spec(registry, "nn.factory"))
    replaced = connect(doc, registry, ep(f"{brain2}.network"), ep("teach.network"))
    assert [str(lk.src) for lk in replaced.links_into("teach", "network")] == [f"{brain2}.network"]
    assert len(replaced.links) == len(doc.links)

    doc, sensor = add_node(doc, spec(registry, "sensor.joint_angles"))
    appended = connect(doc, registry, ep(f"{sensor}.value"), ep("brain.state"))
    assert [str(lk.src) for lk in appended.links_into("brain", "state")] == [
        "q.value",
        "goal.value",
        f"{sensor}.value",
    ]
    assert len(appended.links) == len(doc.links) + 1
    assert [str(lk.src) for lk in doc.links_into("brain", "state")] == ["q.value", "goal.value"]


def test_disconnect(arm_doc: GraphDocument) -> None:
    doc = disconnect(arm_doc, ep("goal.value"), ep("brain.state"))
    assert ["goal.value", "brain.state"] not in pairs(doc)
    assert len(doc.links) == len(arm_doc.links) - 1
    assert ["goal.value", "brain.state"] in pairs(arm_doc)
    assert disconnect(doc, ep("goal.value"), ep("brain.state")) == doc  # no such link: no change


def test_move_nodes_and_blocks(arm_doc: GraphDocument, registry: Registry) -> None:
    grouped, block_id = group(arm_doc, registry, ["q", "goal"], "Sensors")
    moved = move(grouped, {"q": (1.5, -2.0), block_id: (40, 50)})
    assert node(moved, "q").pos == (1.5, -2.0)
    assert block(moved, block_id).pos == (40, 50)
    assert node(moved, "arm").pos == (0, 0)
    assert node(grouped, "q").pos == (300, -80)
    assert block(grouped, block_id).pos == (300, 0)


def test_set_prop_and_rename(arm_doc: GraphDocument) -> None:
    doc = set_prop(arm_doc, "arm", "joints", 4)
    doc = rename(doc, "q", "Eyes")
    arm, q = doc.node("arm"), doc.node("q")
    assert arm is not None and q is not None
    assert arm.props == {"joints": 4, "instances": 1024, "success_mm": 10.0}
    assert (q.id, q.name) == ("q", "Eyes")
    assert node(arm_doc, "arm").props["joints"] == 6
    assert node(arm_doc, "q").name is None


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda d: set_prop(d, "ghost", "joints", 4), "there is no node 'ghost'"),
        (lambda d: rename(d, "ghost", "Eyes"), "there is no node 'ghost'"),
        (lambda d: rename(d, "q", "x" * 201), "at most 200 characters"),
    ],
    ids=["set_prop", "rename", "long name"],
)
def test_edits_of_unknown_nodes_are_refused(
    arm_doc: GraphDocument, edit: Callable[[GraphDocument], GraphDocument], reason: str
) -> None:
    with pytest.raises(EditRefused, match=re.escape(reason)):
        edit(arm_doc)


def test_arm_example_built_by_edits_alone(arm_doc: GraphDocument, registry: Registry) -> None:
    doc = GraphDocument(name="Built")
    ids: dict[str, str] = {}
    for original in arm_doc.nodes:
        doc, ids[original.id] = add_node(doc, spec(registry, original.type), original.pos)
    for lk in arm_doc.links:
        src = Endpoint(node=ids[lk.src.node], port=lk.src.port)
        dst = Endpoint(node=ids[lk.dst.node], port=lk.dst.port)
        doc = connect(doc, registry, src, dst)
    for original in arm_doc.nodes:
        for name, value in original.props.items():
            doc = set_prop(doc, ids[original.id], name, value)

    assert [i for i in validate(doc, registry) if i.severity == "error"] == []
    assert validate(doc, registry) == []
    assert list(ids.values()) == [
        "robot_arm",
        "joint_angles",
        "target_position",
        "factory",
        "joint_targets",
        "distance_to_target",
        "direct",
    ]
    assert len(doc.links) == 9
    renamed = {new: old for old, new in ids.items()}
    assert [
        [f"{renamed[lk.src.node]}.{lk.src.port}", f"{renamed[lk.dst.node]}.{lk.dst.port}"]
        for lk in doc.links
    ] == pairs(arm_doc)
    for built, original in zip(doc.nodes, arm_doc.nodes, strict=True):
        assert renamed[built.id] == original.id
        assert (built.type, built.pos) == (original.type, original.pos)
        assert built.props == {**spec(registry, original.type).defaults(), **original.props}
