"""Blocks: named groups of nodes with their own ports, and the files that carry them.

A block is an overlay on the flat graph (see :class:`~atrap_studio.core.document.BlockDoc`), so
grouping never changes what runs. A *fragment* (:class:`BlockFile`) is a self-contained piece of
graph, nodes with the links among them, used both for block files that people re-use between
graphs and for the clipboard.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from atrap_studio.core.document import (
    SCHEMA_VERSION,
    BlockDoc,
    BlockPort,
    Endpoint,
    GraphDocument,
    Link,
    NodeDoc,
)
from atrap_studio.core.editing import (
    EditRefused,
    Position,
    check_name,
    numbered,
    taken_ids,
    unique_id,
)
from atrap_studio.core.registry import Registry

BLOCK_FORMAT: Final = "atrap-block"


class BlockFile(BaseModel):
    """A piece of graph that travels on its own: a saved block, or what was copied."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["atrap-block"] = BLOCK_FORMAT
    schema_version: int = SCHEMA_VERSION
    name: str = Field(default="Block", max_length=200)
    description: str = Field(default="", max_length=20_000)
    nodes: list[NodeDoc] = Field(default_factory=list, max_length=10_000)
    links: list[Link] = Field(default_factory=list, max_length=100_000)
    inputs: list[BlockPort] = Field(default_factory=list, max_length=1_000)
    outputs: list[BlockPort] = Field(default_factory=list, max_length=1_000)
    blocks: list[BlockDoc] = Field(default_factory=list, max_length=10_000)

    def to_data(self) -> dict[str, Any]:
        graph = GraphDocument(
            name=self.name,
            description=self.description,
            nodes=self.nodes,
            links=self.links,
            blocks=self.blocks,
        ).to_data()
        data: dict[str, Any] = {**graph, "format": self.format}
        for side in ("inputs", "outputs"):
            ports = getattr(self, side)
            if ports:
                data[side] = [{"name": p.name, "port": str(p.port)} for p in ports]
        if self.blocks:  # keep 'blocks' last, as in graph files
            data["blocks"] = data.pop("blocks")
        return data


def boundary_ports(
    doc: GraphDocument, members: Iterable[str], registry: Registry
) -> tuple[list[Endpoint], list[Endpoint]]:
    """The members' ports a block must show: (inputs, outputs), in document order.

    Inputs: those fed from outside the group, and required inputs not linked at all (so a
    block inserted into another graph shows where it still needs wiring). Outputs: those that
    feed nodes outside the group.
    """
    inside = set(members)
    inputs: list[Endpoint] = []
    outputs: list[Endpoint] = []
    for lk in doc.links:
        if lk.dst.node in inside and lk.src.node not in inside and lk.dst not in inputs:
            inputs.append(lk.dst)
        if lk.src.node in inside and lk.dst.node not in inside and lk.src not in outputs:
            outputs.append(lk.src)
    linked = {lk.dst for lk in doc.links}
    for node in doc.nodes:
        spec = registry.get(node.type) if node.id in inside else None
        for port in spec.inputs if spec else ():
            end = Endpoint(node=node.id, port=port.name)
            if port.required and end not in linked and end not in inputs:
                inputs.append(end)
    return inputs, outputs


def port_names(ends: list[Endpoint]) -> list[BlockPort]:
    """Name exposed ports by their port name, or ``node.port`` where names would repeat."""
    counts: dict[str, int] = {}
    for end in ends:
        counts[end.port] = counts.get(end.port, 0) + 1
    names = [end.port if counts[end.port] == 1 else str(end) for end in ends]
    names = [
        name if len(name) <= 64 else f"{end.port}_{i + 1}"
        for i, (name, end) in enumerate(zip(names, ends, strict=True))
    ]
    return [BlockPort(name=name, port=end) for name, end in zip(names, ends, strict=True)]


def group(
    doc: GraphDocument, registry: Registry, node_ids: Iterable[str], name: str = "Block"
) -> tuple[GraphDocument, str]:
    """Group nodes into a new (expanded) block; returns the document and the block's id.

    Raises:
        EditRefused: when nothing is selected, a node is unknown or already in a block.
    """
    check_name(name, "a block's name")
    chosen = set(node_ids)
    if not chosen:
        raise EditRefused("select the nodes to group first")
    unknown = chosen - {n.id for n in doc.nodes}
    if unknown:
        raise EditRefused(f"there is no node {', '.join(repr(u) for u in sorted(unknown))}")
    members = [n.id for n in doc.nodes if n.id in chosen]
    for node_id in members:
        owner = doc.block_of(node_id)
        if owner is not None:
            raise EditRefused(
                f"node '{node_id}' is already in block '{owner.name}'; ungroup that block first"
            )
    inputs, outputs = boundary_ports(doc, members, registry)
    block_id = unique_id(taken_ids(doc), name.lower() if name.strip() else "block")
    positions = [n.pos for n in doc.nodes if n.id in members and n.pos is not None]
    count = len(positions)
    pos = (
        (sum(p[0] for p in positions) / count, sum(p[1] for p in positions) / count)
        if positions
        else None
    )
    block = BlockDoc(
        id=block_id,
        name=name,
        nodes=members,
        pos=pos,
        inputs=port_names(inputs),
        outputs=port_names(outputs),
    )
    return doc.model_copy(update={"blocks": [*doc.blocks, block]}), block_id


def ungroup(doc: GraphDocument, block_id: str) -> GraphDocument:
    """Dissolve a block; its nodes and links stay as they are."""
    _need(doc, block_id)
    blocks = [b for b in doc.blocks if b.id != block_id]
    return doc.model_copy(update={"blocks": blocks})


def update_block(doc: GraphDocument, block_id: str, **changes: Any) -> GraphDocument:
    """Change a block's ``name``, ``collapsed`` state or ``pos``."""
    _need(doc, block_id)
    unknown = set(changes) - {"name", "collapsed", "pos"}
    if unknown:
        raise ValueError(f"cannot change {sorted(unknown)} of a block")
    if "name" in changes:
        check_name(changes["name"], "a block's name")
    blocks = [b.model_copy(update=changes) if b.id == block_id else b for b in doc.blocks]
    return doc.model_copy(update={"blocks": blocks})


def extract(doc: GraphDocument, node_ids: Iterable[str], name: str = "Fragment") -> BlockFile:
    """The given nodes with the links among them and the blocks wholly inside them."""
    chosen = set(node_ids)
    return BlockFile(
        name=name,
        nodes=[n for n in doc.nodes if n.id in chosen],
        links=[lk for lk in doc.links if lk.src.node in chosen and lk.dst.node in chosen],
        blocks=[b for b in doc.blocks if b.nodes and set(b.nodes) <= chosen],
    ).model_copy(deep=True)


def block_file(doc: GraphDocument, block_id: str) -> BlockFile:
    """A block as a file to re-use in other graphs: members, inner links, exposed ports."""
    block = _need(doc, block_id)
    fragment = extract(doc, block.nodes, block.name)
    fragment.blocks = []
    fragment.inputs = list(block.inputs)
    fragment.outputs = list(block.outputs)
    return fragment


def insert(
    doc: GraphDocument,
    fragment: BlockFile,
    at: Position | None = None,
    *,
    as_block: bool = False,
) -> tuple[GraphDocument, list[str], str | None]:
    """Add a fragment's nodes under fresh ids, moved so their top-left corner lands at ``at``.

    Returns the new document, the new node ids in fragment order, and the new block's id when
    ``as_block`` (the fragment then becomes one block exposing its declared ports).

    Raises:
        EditRefused: when the fragment's links or ports name nodes it does not hold.
    """
    own = {n.id for n in fragment.nodes}
    if len(own) != len(fragment.nodes):
        raise EditRefused(f"the fragment '{fragment.name}' uses one node id for several nodes")
    for lk in fragment.links:
        for end in (lk.src, lk.dst):
            if end.node not in own:
                raise EditRefused(f"the fragment's link {lk.to_pair()} names a node it lacks")
    taken = taken_ids(doc)
    names = {n.name for n in doc.nodes if n.name}
    mapping: dict[str, str] = {}
    for node in fragment.nodes:
        mapping[node.id] = unique_id(taken, node.id)
        taken.add(mapping[node.id])
    offset = _offset(fragment, at)
    nodes = []
    for node in fragment.nodes:
        name = node.name
        if name:
            name = numbered(names, name)
            names.add(name)
        pos = (node.pos[0] + offset[0], node.pos[1] + offset[1]) if node.pos else None
        nodes.append(node.model_copy(update={"id": mapping[node.id], "name": name, "pos": pos}))

    def remap(end: Endpoint) -> Endpoint:
        return Endpoint(node=mapping[end.node], port=end.port)

    links = [Link(src=remap(lk.src), dst=remap(lk.dst)) for lk in fragment.links]
    new_blocks: list[BlockDoc] = []
    block_id: str | None = None
    if as_block:
        for side in (fragment.inputs, fragment.outputs):
            for port in side:
                if port.port.node not in own:
                    raise EditRefused(f"the block's port '{port.name}' names a node it lacks")
        block_id = unique_id(taken, fragment.name.lower() or "block")
        block_pos = (at[0], at[1]) if at is not None else None
        new_blocks.append(
            BlockDoc(
                id=block_id,
                name=fragment.name,
                nodes=[mapping[n.id] for n in fragment.nodes],
                collapsed=True,
                pos=block_pos,
                inputs=[BlockPort(name=p.name, port=remap(p.port)) for p in fragment.inputs],
                outputs=[BlockPort(name=p.name, port=remap(p.port)) for p in fragment.outputs],
            )
        )
    else:
        for block in fragment.blocks:
            if not set(block.nodes) <= own:
                continue
            new_id = unique_id(taken, block.id)
            taken.add(new_id)
            pos = (block.pos[0] + offset[0], block.pos[1] + offset[1]) if block.pos else None
            new_blocks.append(
                block.model_copy(
                    update={
                        "id": new_id,
                        "nodes": [mapping[n] for n in block.nodes],
                        "pos": pos,
                        "inputs": [
                            BlockPort(name=p.name, port=remap(p.port))
                            for p in block.inputs
                            if p.port.node in own
                        ],
                        "outputs": [
                            BlockPort(name=p.name, port=remap(p.port))
                            for p in block.outputs
                            if p.port.node in own
                        ],
                    }
                )
            )
    new_doc = doc.model_copy(
        update={
            "nodes": [*doc.nodes, *nodes],
            "links": [*doc.links, *links],
            "blocks": [*doc.blocks, *new_blocks],
        },
    )
    return new_doc, [mapping[n.id] for n in fragment.nodes], block_id


def _need(doc: GraphDocument, block_id: str) -> BlockDoc:
    block = doc.block(block_id)
    if block is None:
        raise EditRefused(f"there is no block '{block_id}'")
    return block


def _offset(fragment: BlockFile, at: Position | None) -> Position:
    positions = [n.pos for n in fragment.nodes if n.pos is not None]
    if at is None or not positions:
        return (0.0, 0.0)
    return (at[0] - min(p[0] for p in positions), at[1] - min(p[1] for p in positions))
