"""Edits of a graph document, as pure functions: each takes a document and returns a new one.

The editor builds every user action (add, delete, connect, move, property change, rename) from
these, so its undo history is a list of documents and the same rules hold in scripts and tests.
An edit that would break the graph's structure is refused with :class:`EditRefused`, whose
message says why in the user's words. Documents are values: an edit never changes its input,
and the document it returns may share unchanged parts with it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from atrap_studio.core.document import BlockDoc, Endpoint, GraphDocument, Link, NodeDoc
from atrap_studio.core.errors import AtrapError
from atrap_studio.core.registry import Registry
from atrap_studio.core.specs import NodeSpec

Position = tuple[float, float]

#: The longest node or block name a graph file holds.
MAX_NAME = 200

#: Column and row spacing of :func:`auto_layout`, in canvas units.
LAYOUT_STEP = (300.0, 150.0)
#: A node box's title and port rows as drawn (pixels), and the least gap between two boxes.
BOX_TITLE_PX, BOX_PORT_PX, LAYOUT_GAP_PX = 30.0, 22.0, 30.0


class EditRefused(AtrapError):
    """An edit was refused; the message says why and what to do instead."""


def unique_id(taken: Iterable[str], base: str) -> str:
    """A slug id from ``base`` (``joint_angles``, ``joint_angles_2``...) not in ``taken``."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", base).strip("_-")[:56] or "node"
    if not re.match(r"^[A-Za-z_]", slug):
        slug = f"n_{slug}"
    return numbered(set(taken), slug, separator="_")


def unique_name(doc: GraphDocument, base: str) -> str:
    """``base``, or ``base 2``, ``base 3``... so that no two nodes share a name."""
    return numbered({n.name for n in doc.nodes if n.name}, base)


def numbered(used: set[str], base: str, separator: str = " ") -> str:
    """``base`` if it is not in ``used``, else the first free ``base 2``, ``base 3``...

    Results stay within :data:`MAX_NAME` characters (the base is shortened for the number).
    """
    if base not in used:
        return base
    stem = base[: MAX_NAME - 12]
    number = 2
    while f"{stem}{separator}{number}" in used:
        number += 1
    return f"{stem}{separator}{number}"


def check_name(name: str, what: str = "a name") -> None:
    """Refuse names the file format would not accept."""
    if len(name) > MAX_NAME:
        raise EditRefused(f"{what} is at most {MAX_NAME} characters")


def taken_ids(doc: GraphDocument) -> set[str]:
    """Ids in use by nodes and blocks (they share one namespace)."""
    return {n.id for n in doc.nodes} | {b.id for b in doc.blocks}


def add_node(
    doc: GraphDocument, spec: NodeSpec, pos: Position | None = None
) -> tuple[GraphDocument, str]:
    """Place a new node of ``spec``'s type with its default properties and a unique name."""
    node_id = unique_id(taken_ids(doc), spec.type.partition(".")[2])
    node = NodeDoc(
        id=node_id,
        type=spec.type,
        name=unique_name(doc, spec.title),
        props=spec.defaults(),
        pos=pos,
    )
    return doc.model_copy(update={"nodes": [*doc.nodes, node]}), node_id


def remove_nodes(doc: GraphDocument, node_ids: Iterable[str]) -> GraphDocument:
    """Delete nodes with their links; blocks drop them (and their exposed ports)."""
    gone = set(node_ids)
    blocks = []
    for block in doc.blocks:
        members = [n for n in block.nodes if n not in gone]
        if not members:
            continue
        blocks.append(
            block.model_copy(
                update={
                    "nodes": members,
                    "inputs": [p for p in block.inputs if p.port.node not in gone],
                    "outputs": [p for p in block.outputs if p.port.node not in gone],
                }
            )
        )
    return doc.model_copy(
        update={
            "nodes": [n for n in doc.nodes if n.id not in gone],
            "links": [lk for lk in doc.links if not {lk.src.node, lk.dst.node} & gone],
            "blocks": blocks,
        },
    )


def link_problem(
    doc: GraphDocument, registry: Registry, src: Endpoint, dst: Endpoint
) -> str | None:
    """Why a link from output ``src`` to input ``dst`` cannot be made, or ``None`` if it can.

    The reason names nodes and ports as the canvas shows them ("Joint angles · value"), never
    by their ids.
    """
    nodes = {n.id: n for n in doc.nodes}
    if src.node not in nodes or dst.node not in nodes:
        missing = src.node if src.node not in nodes else dst.node
        return f"there is no node '{missing}'"
    if src.node == dst.node:
        return "a node cannot feed itself; link it to another node"
    src_spec, dst_spec = registry.get(nodes[src.node].type), registry.get(nodes[dst.node].type)
    for node_id, spec in ((src.node, src_spec), (dst.node, dst_spec)):
        if spec is None:
            return (
                f"'{node_label(doc, registry, node_id)}' has a type this version does not know "
                f"('{nodes[node_id].type}'), so its ports cannot be checked"
            )
    assert src_spec is not None and dst_spec is not None
    out_port, in_port = src_spec.output(src.port), dst_spec.input(dst.port)
    if out_port is None:
        return f"'{node_label(doc, registry, src.node)}' has no output '{src.port}'"
    if in_port is None:
        return f"'{node_label(doc, registry, dst.node)}' has no input '{dst.port}'"
    said_src, said_dst = end_label(doc, registry, src), end_label(doc, registry, dst)
    out_type, in_type = out_port.port_type, in_port.port_type
    if not in_type.accepts(out_type):
        kinds = out_type.kind != in_type.kind  # "Vector[3]" only where the sizes differ
        gives, takes = (out_type.kind, in_type.kind) if kinds else (out_type, in_type)
        return (
            f"{said_src} → {said_dst}: a {gives} cannot feed '{dst.port}', which takes a "
            f"{takes}; link it to an input that takes a {gives}"
        )
    if Link(src=src, dst=dst) in doc.links:
        return f"{said_src} is already linked to {said_dst}"
    if not in_port.feedback and _reaches(doc, registry, dst.node, src.node):
        return (
            f"linking {said_src} to {said_dst} would close a loop "
            f"('{node_label(doc, registry, src.node)}' already depends on "
            f"'{node_label(doc, registry, dst.node)}'); only a scene's actuators may take a "
            "value back from later nodes"
        )
    return None


def node_label(doc: GraphDocument, registry: Registry, node_id: str) -> str:
    """A node as the canvas names it: its name, else its type's title, else its id; with its
    id in brackets where another node shows the same name (``NN Factory (brain)``)."""
    node = doc.node(node_id)
    if node is None:
        return node_id
    shown = _shown_name(node, registry)
    twins = sum(1 for other in doc.nodes if _shown_name(other, registry) == shown)
    return shown if twins <= 1 or shown == node_id else f"{shown} ({node_id})"


def _shown_name(node: NodeDoc, registry: Registry) -> str:
    if node.name:
        return node.name
    spec = registry.get(node.type)
    return spec.title if spec is not None else node.id


def end_label(doc: GraphDocument, registry: Registry, end: Endpoint) -> str:
    """A port as the canvas shows it: ``NN Factory · state``."""
    return f"{node_label(doc, registry, end.node)} · {end.port}"


def connect(doc: GraphDocument, registry: Registry, src: Endpoint, dst: Endpoint) -> GraphDocument:
    """Link ``src`` to ``dst``; a link already in a single-link input is replaced.

    Raises:
        EditRefused: with :func:`link_problem`'s reason.
    """
    problem = link_problem(doc, registry, src, dst)
    if problem:
        raise EditRefused(problem)
    links = list(doc.links)
    spec = registry.get(next(n.type for n in doc.nodes if n.id == dst.node))
    port = spec.input(dst.port) if spec else None
    if port is not None and not port.multiple:
        links = [lk for lk in links if lk.dst != dst]
    links.append(Link(src=src, dst=dst))
    return doc.model_copy(update={"links": links})


def disconnect(doc: GraphDocument, src: Endpoint, dst: Endpoint) -> GraphDocument:
    """Remove the link from ``src`` to ``dst`` (no change if there is none)."""
    links = [lk for lk in doc.links if not (lk.src == src and lk.dst == dst)]
    return doc.model_copy(update={"links": links})


def move(doc: GraphDocument, positions: Mapping[str, Position]) -> GraphDocument:
    """Place nodes and blocks (by id) at new positions."""
    for key, pos in positions.items():
        if not all(abs(v) < 1e9 for v in pos):
            raise EditRefused(f"'{key}' cannot be placed at {pos}: positions must be finite")
    nodes = [
        n.model_copy(update={"pos": tuple(positions[n.id])}) if n.id in positions else n
        for n in doc.nodes
    ]
    blocks = [
        b.model_copy(update={"pos": tuple(positions[b.id])}) if b.id in positions else b
        for b in doc.blocks
    ]
    return doc.model_copy(update={"nodes": nodes, "blocks": blocks})


def set_prop(doc: GraphDocument, node_id: str, name: str, value: Any) -> GraphDocument:
    """Set one property of one node (checked by validation, not here, so typing can pause)."""
    if doc.node(node_id) is None:
        raise EditRefused(f"there is no node '{node_id}'")
    nodes = [
        n.model_copy(update={"props": {**n.props, name: value}}) if n.id == node_id else n
        for n in doc.nodes
    ]
    return doc.model_copy(update={"nodes": nodes})


def retype(
    doc: GraphDocument, spec: NodeSpec, node_id: str, props: Mapping[str, Any]
) -> GraphDocument:
    """Turn a node into one of another type in place (same id, name and place), keeping the
    links whose ports the new type has too, e.g. an NN Factory into a Load network node."""
    old = doc.node(node_id)
    if old is None:
        raise EditRefused(f"there is no node '{node_id}'")
    inputs = {p.name for p in spec.inputs}
    outputs = {p.name for p in spec.outputs}
    links = [
        link
        for link in doc.links
        if (link.dst.node != node_id or link.dst.port in inputs)
        and (link.src.node != node_id or link.src.port in outputs)
    ]
    node = old.model_copy(update={"type": spec.type, "props": dict(props)})
    nodes = [node if n.id == node_id else n for n in doc.nodes]
    return doc.model_copy(update={"nodes": nodes, "links": links})


def rename(doc: GraphDocument, node_id: str, name: str) -> GraphDocument:
    """Give a node a new display name (its id, which links use, stays)."""
    check_name(name)
    if doc.node(node_id) is None:
        raise EditRefused(f"there is no node '{node_id}'")
    nodes = [n.model_copy(update={"name": name}) if n.id == node_id else n for n in doc.nodes]
    return doc.model_copy(update={"nodes": nodes})


def feedback_inputs(doc: GraphDocument, registry: Registry) -> set[Endpoint]:
    """The linked inputs that are read at the next step (they close loops in time, not cycles)."""
    types = {n.id: n.type for n in doc.nodes}
    found = set()
    for lk in doc.links:
        spec = registry.get(types.get(lk.dst.node, ""))
        port = spec.input(lk.dst.port) if spec else None
        if port is not None and port.feedback:
            found.add(lk.dst)
    return found


def _reaches(doc: GraphDocument, registry: Registry, start: str, goal: str) -> bool:
    """Whether ``goal`` is downstream of ``start`` along links that are not feedback."""
    feedback = feedback_inputs(doc, registry)
    nexts: dict[str, list[str]] = {}
    for lk in doc.links:
        if lk.dst not in feedback:
            nexts.setdefault(lk.src.node, []).append(lk.dst.node)
    seen, stack = {start}, [start]
    while stack:
        for nxt in nexts.get(stack.pop(), []):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return start == goal


def auto_layout(doc: GraphDocument, registry: Registry) -> GraphDocument:
    """Place nodes in columns by how far downstream they are (feedback links ignored)."""
    feedback = feedback_inputs(doc, registry)
    column = {n.id: 0 for n in doc.nodes}
    for _ in range(len(doc.nodes)):  # longest path, bounded so a cycle cannot hang it
        changed = False
        for lk in doc.links:
            if lk.dst in feedback or lk.src.node not in column or lk.dst.node not in column:
                continue
            if column[lk.dst.node] < column[lk.src.node] + 1 <= len(doc.nodes):
                column[lk.dst.node] = column[lk.src.node] + 1
                changed = True
        if not changed:
            break
    # a closed block is one box: placed once, in its members' first column, given the rows
    # its ports need (its hidden members keep their places for when it opens)
    closed = {member: block for block in doc.blocks if block.collapsed for member in block.nodes}
    rows: dict[int, int] = {}
    positions: dict[str, Position] = {}
    for node in doc.nodes:
        block = closed.get(node.id)
        if block is None:
            key, col, size = node.id, column[node.id], 1
        elif block.id in positions:
            continue
        else:
            members = [m for m in block.nodes if m in column]
            key, col, size = block.id, min(column[m] for m in members), _block_rows(doc, block)
        row = rows.get(col, 0)
        rows[col] = row + size
        positions[key] = (float(col * LAYOUT_STEP[0]), float(row * LAYOUT_STEP[1]))
    return move(doc, positions)


def _block_rows(doc: GraphDocument, block: BlockDoc) -> int:
    """How many layout rows a closed block's box takes: one per few ports it shows."""
    inside = set(block.nodes)
    ins = {lk.dst for lk in doc.links if lk.dst.node in inside and lk.src.node not in inside}
    outs = {lk.src for lk in doc.links if lk.src.node in inside and lk.dst.node not in inside}
    ins |= {p.port for p in block.inputs}
    outs |= {p.port for p in block.outputs}
    height = BOX_TITLE_PX + BOX_PORT_PX * max(len(ins), len(outs), 1)
    return max(1, math.ceil(height / (LAYOUT_STEP[1] - LAYOUT_GAP_PX)))
