"""Blocks: grouping is an overlay, block files and the clipboard carry pieces of graph safely."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from atrap_studio.core.blocks import (
    BlockFile,
    block_file,
    boundary_ports,
    extract,
    group,
    insert,
    port_names,
    ungroup,
    update_block,
)
from atrap_studio.core.document import (
    BlockDoc,
    BlockPort,
    GraphDocument,
    Link,
    NodeDoc,
)
from atrap_studio.core.editing import EditRefused, connect, disconnect, rename
from atrap_studio.core.errors import GraphFileError
from atrap_studio.core.registry import Registry
from atrap_studio.core.validation import validate
from atrap_studio.core.yaml_io import (
    dump_block,
    dump_graph,
    load_block,
    load_graph,
    parse_block,
    save_block,
    save_graph,
)
from tests.core.helpers import ep, node


def ports(items: list[BlockPort]) -> list[tuple[str, str]]:
    return [(p.name, str(p.port)) for p in items]


def pairs(doc: GraphDocument | BlockFile) -> list[list[str]]:
    return [lk.to_pair() for lk in doc.links]


@pytest.fixture
def grouped(arm_doc: GraphDocument, registry: Registry) -> GraphDocument:
    doc, block_id = group(arm_doc, registry, ["goal", "q"], "Sensors")
    assert block_id == "sensors"
    return doc


def test_group_the_sensors(arm_doc: GraphDocument, grouped: GraphDocument) -> None:
    block = grouped.block("sensors")
    assert block is not None
    assert (block.name, block.nodes, block.collapsed) == ("Sensors", ["q", "goal"], False)
    assert block.pos == (300, 0)  # the members' centre
    # both members' ports are called 'scene' and 'value', so they are told apart by node
    assert ports(block.inputs) == [("q.scene", "q.scene"), ("goal.scene", "goal.scene")]
    assert ports(block.outputs) == [("q.value", "q.value"), ("goal.value", "goal.value")]
    assert grouped.block_of("goal") == block and grouped.block_of("arm") is None
    assert (grouped.nodes, grouped.links) == (arm_doc.nodes, arm_doc.links)
    assert arm_doc.blocks == []


@pytest.mark.parametrize(
    ("members", "inputs", "outputs"),
    [
        (
            ["q", "brain"],
            [("scene", "q.scene"), ("state", "brain.state")],
            [("action", "brain.action"), ("network", "brain.network")],
        ),
        (["near", "teach"], [("scene", "near.scene"), ("network", "teach.network")], []),
        (["move"], [("values", "move.values")], [("command", "move.command")]),
    ],
)
def test_boundary_ports_and_their_names(
    arm_doc: GraphDocument,
    registry: Registry,
    members: list[str],
    inputs: list[tuple[str, str]],
    outputs: list[tuple[str, str]],
) -> None:
    doc, block_id = group(arm_doc, registry, members)
    block = doc.block(block_id)
    assert block is not None
    assert (ports(block.inputs), ports(block.outputs)) == (inputs, outputs)


def test_required_inputs_left_unlinked_are_exposed(registry: Registry) -> None:
    doc = GraphDocument(
        nodes=[NodeDoc(id="a", type="sensor.joint_angles"), NodeDoc(id="b", type="nn.factory")],
        links=[Link.model_validate(["a.value", "b.state"])],
    )
    inputs, outputs = boundary_ports(doc, ["a", "b"], registry)
    assert (inputs, outputs) == ([ep("a.scene")], [])
    assert ports(port_names([ep("a.scene"), ep("b.state"), ep("c.scene")])) == [
        ("a.scene", "a.scene"),
        ("state", "b.state"),
        ("c.scene", "c.scene"),
    ]


@pytest.mark.parametrize(
    ("selection", "reason"),
    [
        ([], "select the nodes to group first"),
        (["ghost"], "there is no node 'ghost'"),
        (["q", "brain"], "node 'q' is already in block 'Sensors'; ungroup that block first"),
    ],
)
def test_group_refusals(
    grouped: GraphDocument, registry: Registry, selection: list[str], reason: str
) -> None:
    with pytest.raises(EditRefused, match=re.escape(reason)):
        group(grouped, registry, selection)


def test_group_refuses_an_unknown_node(arm_doc: GraphDocument, registry: Registry) -> None:
    with pytest.raises(EditRefused, match="there is no node 'ghost'"):
        group(arm_doc, registry, ["q", "ghost"])


def test_group_takes_any_iterable(arm_doc: GraphDocument, registry: Registry) -> None:
    doc, block_id = group(arm_doc, registry, iter(["q", "goal"]))
    block = doc.block(block_id)
    assert block is not None and block.nodes == ["q", "goal"]


def test_group_of_long_ids_gets_short_port_names(registry: Registry) -> None:
    long_a, long_b = "a" * 62, "b" * 62  # ids may be 64 characters long
    doc = GraphDocument(
        nodes=[
            NodeDoc(id=long_a, type="sensor.joint_angles"),
            NodeDoc(id=long_b, type="sensor.joint_angles"),
        ]
    )
    grouped, block_id = group(doc, registry, [long_a, long_b])
    block = grouped.block(block_id)
    assert block is not None
    assert [(p.name, p.port.node) for p in block.inputs] == [
        ("scene_1", long_a),
        ("scene_2", long_b),
    ]


def test_ungroup_restores_the_document_exactly(
    arm_doc: GraphDocument, grouped: GraphDocument
) -> None:
    collapsed = update_block(grouped, "sensors", collapsed=True, name="Eyes", pos=(5, 6))
    block = collapsed.block("sensors")
    assert block is not None and (block.collapsed, block.name, block.pos) == (True, "Eyes", (5, 6))
    for doc in (grouped, collapsed):
        back = ungroup(doc, "sensors")
        assert back == arm_doc
        assert dump_graph(back) == dump_graph(arm_doc)
    with pytest.raises(EditRefused, match="there is no block 'ghost'"):
        ungroup(grouped, "ghost")
    with pytest.raises(ValueError, match="nodes"):
        update_block(grouped, "sensors", nodes=["arm"])


@pytest.mark.parametrize(
    "broken",
    [
        [],
        [("brain.network", "teach.network")],
        [("q.value", "brain.state"), ("arm.scene", "goal.scene")],
    ],
    ids=["valid", "unconnected trainer", "missing sensor links"],
)
def test_validation_sees_through_blocks(
    arm_doc: GraphDocument, registry: Registry, broken: list[tuple[str, str]]
) -> None:
    for src, dst in broken:
        arm_doc = disconnect(arm_doc, ep(src), ep(dst))
    doc, block_id = group(arm_doc, registry, ["q", "goal", "brain"], "Perception")
    doc = update_block(doc, block_id, collapsed=True)
    assert validate(doc, registry) == validate(arm_doc, registry)
    assert bool(broken) == bool(validate(doc, registry))


def test_graph_with_blocks_survives_save_and_load(
    grouped: GraphDocument, registry: Registry, tmp_path: Path
) -> None:
    doc, _ = group(grouped, registry, ["near", "teach"], "Learning")
    doc = update_block(doc, "sensors", collapsed=True)
    path = tmp_path / "g.yaml"
    save_graph(doc, path)
    text = path.read_text()
    assert "\nblocks:\n" in text and "{name: q.scene, port: q.scene}" in text
    again = load_graph(path)
    assert again == doc
    assert dump_graph(again) == text
    assert "blocks" not in dump_graph(ungroup(ungroup(doc, "sensors"), "learning"))


def test_block_file_inserted_as_a_block(
    arm_doc: GraphDocument, registry: Registry, tmp_path: Path
) -> None:
    doc, block_id = group(arm_doc, registry, ["q", "goal", "brain"], "Perception")
    fragment = block_file(doc, block_id)
    assert [n.id for n in fragment.nodes] == ["q", "goal", "brain"]
    assert pairs(fragment) == [["q.value", "brain.state"], ["goal.value", "brain.state"]]
    assert ports(fragment.inputs) == [("q.scene", "q.scene"), ("goal.scene", "goal.scene")]
    assert ports(fragment.outputs) == [("action", "brain.action"), ("network", "brain.network")]
    path = tmp_path / "perception.yaml"
    save_block(fragment, path)
    assert path.read_text().startswith("format: atrap-block\n")
    loaded = load_block(path)
    assert loaded == fragment

    target = arm_doc.model_copy(deep=True)  # holds q, goal and brain already
    new, ids, new_block = insert(target, loaded, at=(1000, 500), as_block=True)
    assert target == arm_doc
    assert ids == ["q_2", "goal_2", "brain_2"]
    assert new_block == "perception"
    block = new.block(new_block)
    assert block is not None
    assert (block.nodes, block.collapsed, block.pos) == (ids, True, (1000, 500))
    assert ports(block.inputs) == [("q.scene", "q_2.scene"), ("goal.scene", "goal_2.scene")]
    assert ports(block.outputs) == [("action", "brain_2.action"), ("network", "brain_2.network")]
    # the fragment's top-left corner (300, -80) lands at (1000, 500)
    assert [node(new, i).pos for i in ids] == [(1000, 500), (1000, 660), (1300, 580)]
    assert pairs(new)[len(arm_doc.links) :] == [
        ["q_2.value", "brain_2.state"],
        ["goal_2.value", "brain_2.state"],
    ]
    assert new.nodes[: len(arm_doc.nodes)] == arm_doc.nodes
    assert not [i for i in validate(new, registry) if i.code.startswith("block.")]
    # wiring the block's exposed inputs is all the new nodes need
    for exposed in block.inputs:
        new = connect(new, registry, ep("arm.scene"), exposed.port)
    assert [i for i in validate(new, registry) if i.severity == "error"] == []


def test_copy_and_paste(arm_doc: GraphDocument, grouped: GraphDocument) -> None:
    doc = rename(arm_doc, "q", "Joint angles")
    clip = extract(doc, ["brain", "q", "goal"])
    assert [n.id for n in clip.nodes] == ["q", "goal", "brain"]
    assert pairs(clip) == [["q.value", "brain.state"], ["goal.value", "brain.state"]]
    assert parse_block(dump_block(clip)) == clip  # the clipboard's text round trip

    pasted, ids, block_id = insert(doc, clip, at=(0, 400))
    assert (ids, block_id) == (["q_2", "goal_2", "brain_2"], None)
    assert [node(pasted, i).name for i in ids] == ["Joint angles 2", None, None]
    assert node(pasted, "q_2").pos == (0, 400)
    assert pairs(pasted) == [
        *pairs(doc),
        ["q_2.value", "brain_2.state"],
        ["goal_2.value", "brain_2.state"],
    ]  # links to nodes outside the selection (arm.scene → q.scene...) are not copied
    again, ids, _ = insert(pasted, clip)
    assert ids == ["q_3", "goal_3", "brain_3"]
    assert node(again, "q_3").name == "Joint angles 3"
    assert node(again, "q_3").pos == (300, -80)  # no 'at': as copied

    # a block wholly inside the selection travels with it, under a fresh id
    with_block = extract(grouped, ["q", "goal", "brain"])
    assert [b.id for b in with_block.blocks] == ["sensors"]
    assert extract(grouped, ["q", "brain"]).blocks == []
    pasted, ids, _ = insert(grouped, with_block, at=(0, 0))
    block = pasted.block("sensors_2")
    assert block is not None
    assert block.nodes == ["q_2", "goal_2"]
    assert ports(block.inputs) == [("q.scene", "q_2.scene"), ("goal.scene", "goal_2.scene")]
    assert block.pos == (0, 80)  # moved by the same offset as its nodes


BLOCK_HEADER = "format: atrap-block\nschema_version: 1\n"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "format: atrap-graph\nschema_version: 1\n",
            "not an ATRAP block: 'format' is 'atrap-graph', expected 'atrap-block'",
        ),
        ("format: atrap-blocks\nschema_version: 1\n", "'format' is 'atrap-blocks'"),
        (
            BLOCK_HEADER + "nodes:\n  - &n {id: q, type: sensor.joint_angles}\n  - *n\n",
            "anchors and aliases",
        ),
        (BLOCK_HEADER + "name: !!python/object/apply:os.system [ls]\n", "YAML tags"),
        (BLOCK_HEADER + "nodes:\n  - !node {id: q, type: sensor.joint_angles}\n", "'!node'"),
        (BLOCK_HEADER + "run: now\n", "run: Extra inputs are not permitted"),
        (BLOCK_HEADER + "inputs:\n  - {name: x, port: not a port}\n", "is not 'node.port'"),
        ("- format: atrap-block\n", "expected a mapping"),
    ],
    ids=[
        "graph file",
        "misspelt format",
        "alias",
        "python tag",
        "local tag",
        "unknown key",
        "bad port",
        "list",
    ],
)
def test_hostile_block_files_are_refused(text: str, reason: str, tmp_path: Path) -> None:
    with pytest.raises(GraphFileError, match=re.escape(reason)):
        parse_block(text)
    path = tmp_path / "b.yaml"
    path.write_text(text)
    with pytest.raises(GraphFileError, match=re.escape(str(path))):
        load_block(path)


@pytest.mark.parametrize(
    ("body", "as_block", "reason"),
    [
        (
            "links:\n  - [ghost.value, q.scene]\n",
            False,
            "the fragment's link ['ghost.value', 'q.scene'] names a node it lacks",
        ),
        (
            "links:\n  - [q.value, ghost.state]\n",
            True,
            "the fragment's link ['q.value', 'ghost.state'] names a node it lacks",
        ),
        (
            "outputs:\n  - {name: out, port: ghost.value}\n",
            True,
            "the block's port 'out' names a node it lacks",
        ),
    ],
    ids=["link from a stranger", "link to a stranger", "port of a stranger"],
)
def test_fragments_naming_missing_nodes_are_refused(
    arm_doc: GraphDocument, body: str, as_block: bool, reason: str
) -> None:
    text = BLOCK_HEADER + "nodes:\n  - {id: q, type: sensor.joint_angles}\n" + body
    fragment = parse_block(text)  # well-formed YAML and structure: refused when inserted
    with pytest.raises(EditRefused, match=re.escape(reason)):
        insert(arm_doc, fragment, as_block=as_block)


def test_fragment_with_repeated_ids_is_refused(arm_doc: GraphDocument) -> None:
    text = BLOCK_HEADER + (
        "nodes:\n"
        "  - {id: twin, type: sensor.joint_angles}\n"
        "  - {id: twin, type: sensor.target_position}\n"
    )
    fragment = parse_block(text)
    with pytest.raises(EditRefused, match="one node id for several nodes"):
        insert(arm_doc, fragment)


def _nodes(*ids: str) -> list[NodeDoc]:
    return [NodeDoc(id=i, type="sensor.joint_angles") for i in ids]


VALIDATION_CASES = [
    (
        GraphDocument(nodes=[NodeDoc(id="q", type="sensor.joint_angles", name="  ")]),
        "name.empty",
        "warning",
        "q",
        "empty name",
    ),
    (
        GraphDocument(
            nodes=[
                NodeDoc(id="a", type="sensor.joint_angles", name="Eyes"),
                NodeDoc(id="b", type="sensor.joint_angles", name="Eyes "),
            ]
        ),
        "name.duplicate",
        "warning",
        "b",
        "the name 'Eyes' is also used by node 'a'",
    ),
    (
        GraphDocument(nodes=_nodes("q"), blocks=[BlockDoc(id="q", nodes=["q"])]),
        "block.id.duplicate",
        "error",
        None,
        "block 'Block' (q): its id is already used",
    ),
    (
        GraphDocument(
            nodes=_nodes("a", "b"),
            blocks=[BlockDoc(id="k", nodes=["a"]), BlockDoc(id="k", nodes=["b"])],
        ),
        "block.id.duplicate",
        "error",
        None,
        "(k): its id is already used",
    ),
    (
        GraphDocument(nodes=_nodes("q"), blocks=[BlockDoc(id="k", name="Void")]),
        "block.empty",
        "warning",
        None,
        "block 'Void' (k) holds no nodes",
    ),
    (
        GraphDocument(nodes=_nodes("q"), blocks=[BlockDoc(id="k", nodes=["q", "ghost"])]),
        "block.member.unknown",
        "error",
        None,
        "lists node 'ghost', which is not in the graph",
    ),
    (
        GraphDocument(
            nodes=_nodes("a", "b"),
            blocks=[BlockDoc(id="k", nodes=["a", "b"]), BlockDoc(id="m", nodes=["b"])],
        ),
        "block.member.shared",
        "error",
        "b",
        "in two blocks, 'k' and 'm'",
    ),
    (
        GraphDocument(
            nodes=_nodes("a", "b"),
            blocks=[
                BlockDoc(id="k", nodes=["a"], inputs=[BlockPort(name="in", port=ep("b.scene"))])
            ],
        ),
        "block.port.unknown",
        "error",
        None,
        "its input 'in' points at b.scene, but node 'b' is not in the block",
    ),
    (
        GraphDocument(
            nodes=_nodes("a"),
            blocks=[
                BlockDoc(id="k", nodes=["a"], outputs=[BlockPort(name="o", port=ep("a.scene"))])
            ],
        ),
        "block.port.unknown",
        "error",
        None,
        "'Joint angles' has no output 'scene'",
    ),
]


@pytest.mark.parametrize(
    ("doc", "code", "severity", "node", "fragment"),
    VALIDATION_CASES,
    ids=[f"{c[1]}-{i}" for i, c in enumerate(VALIDATION_CASES)],
)
def test_each_block_and_name_problem_is_reported(
    registry: Registry,
    doc: GraphDocument,
    code: str,
    severity: str,
    node: str | None,
    fragment: str,
) -> None:
    issues = [i for i in validate(doc, registry) if i.code.startswith(("block.", "name."))]
    if code == "name.duplicate":  # every node sharing the name is told; check the last one
        assert [i.node for i in issues] == ["a", "b"]
        issues = issues[1:]
    assert [(i.code, i.severity, i.node) for i in issues] == [(code, severity, node)], issues
    assert fragment in issues[0].message
    assert issues[0].hint
