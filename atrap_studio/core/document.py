"""The graph document: what a graph file holds (nodes, properties, positions, links).

This is the file format's model, validated by pydantic; whether the graph makes sense (types,
sizes, cycles) is :mod:`atrap_studio.core.validation`'s job, so that a document with mistakes
still loads, can be shown, fixed and saved.
"""

from __future__ import annotations

import re
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

from atrap_studio.core.errors import quoted

FORMAT: Final = "atrap-graph"
SCHEMA_VERSION: Final = 1

NODE_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]*$"
_ENDPOINT_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)\.([A-Za-z_][A-Za-z0-9_]*)$")


def _slug(value: str) -> str:
    if not re.match(NODE_ID_PATTERN, value):
        raise ValueError(
            f"id {quoted(value)} must start with a letter or '_' and hold only letters, "
            "digits, '_' or '-' (no dots or spaces), for example 'brain'"
        )
    return value


def _finite(pos: tuple[float, float] | None) -> tuple[float, float] | None:
    if pos is not None and not all(abs(v) < 1e9 for v in pos):
        raise ValueError("position must be two finite numbers below 1e9")
    return pos


class Endpoint(BaseModel):
    """One end of a link: a node id and one of its ports."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    node: str
    port: str

    def __str__(self) -> str:
        return f"{self.node}.{self.port}"

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        match = _ENDPOINT_RE.match(text.strip()) if isinstance(text, str) else None
        if not match:
            raise ValueError(f"{quoted(text)} is not 'node.port' (for example 'brain.state')")
        return cls(node=match.group(1), port=match.group(2))


class Link(BaseModel):
    """A link from an output port to an input port, written ``[src.port, dst.port]``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    src: Endpoint
    dst: Endpoint

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, data: Any) -> Any:
        if isinstance(data, list | tuple):
            if len(data) != 2 or not all(isinstance(x, str) for x in data):
                raise ValueError("a link is a pair [from_node.output, to_node.input]")
            return {"src": Endpoint.parse(data[0]), "dst": Endpoint.parse(data[1])}
        return data

    def to_pair(self) -> list[str]:
        return [str(self.src), str(self.dst)]


class NodeDoc(BaseModel):
    """One node placed in a graph."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(max_length=64)
    type: str = Field(max_length=100)
    name: str | None = Field(default=None, max_length=200)
    props: dict[str, JsonValue] = Field(default_factory=dict)
    pos: tuple[float, float] | None = None

    _slug_id = field_validator("id")(_slug)
    _finite_pos = field_validator("pos")(_finite)


class BlockPort(BaseModel):
    """A port of a member node that a block shows on its outside when collapsed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    port: Endpoint

    @field_validator("port", mode="before")
    @classmethod
    def _parse_port(cls, value: Any) -> Any:
        return Endpoint.parse(value) if isinstance(value, str) else value


class BlockDoc(BaseModel):
    """A named group of nodes, drawn as one box with its own ports when collapsed.

    A block is an overlay on the flat graph: its members stay in ``nodes`` and links still join
    the members' own ports, so validation and the runtime see straight through it.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(max_length=64)
    name: str = Field(default="Block", max_length=200)
    nodes: list[str] = Field(default_factory=list, max_length=10_000)
    collapsed: bool = False
    pos: tuple[float, float] | None = None
    inputs: list[BlockPort] = Field(default_factory=list, max_length=1_000)
    outputs: list[BlockPort] = Field(default_factory=list, max_length=1_000)

    _slug_id = field_validator("id")(_slug)
    _finite_pos = field_validator("pos")(_finite)

    def to_data(self) -> dict[str, Any]:
        item: dict[str, Any] = {"id": self.id, "name": self.name, "nodes": list(self.nodes)}
        if self.collapsed:
            item["collapsed"] = True
        if self.pos is not None:
            item["pos"] = [_number(self.pos[0]), _number(self.pos[1])]
        for side in ("inputs", "outputs"):
            ports = getattr(self, side)
            if ports:
                item[side] = [{"name": p.name, "port": str(p.port)} for p in ports]
        return item


class GraphDocument(BaseModel):
    """A whole graph file: header, nodes in order, links in order, and blocks."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["atrap-graph"] = FORMAT
    schema_version: int = SCHEMA_VERSION
    name: str = Field(default="Untitled", max_length=200)
    description: str = Field(default="", max_length=20_000)
    nodes: list[NodeDoc] = Field(default_factory=list, max_length=10_000)
    links: list[Link] = Field(default_factory=list, max_length=100_000)
    blocks: list[BlockDoc] = Field(default_factory=list, max_length=10_000)

    def node(self, node_id: str) -> NodeDoc | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def links_into(self, node_id: str, port: str | None = None) -> list[Link]:
        """Links arriving at a node (or one of its ports), in document order."""
        return [lk for lk in self.links if lk.dst.node == node_id and port in (None, lk.dst.port)]

    def links_from(self, node_id: str, port: str | None = None) -> list[Link]:
        """Links leaving a node (or one of its ports), in document order."""
        return [lk for lk in self.links if lk.src.node == node_id and port in (None, lk.src.port)]

    def to_data(self) -> dict[str, Any]:
        """Plain data in file order, as written to YAML (defaults that carry meaning kept)."""
        nodes: list[dict[str, Any]] = []
        for node in self.nodes:
            item: dict[str, Any] = {"id": node.id, "type": node.type}
            if node.name is not None:
                item["name"] = node.name
            if node.props:
                item["props"] = dict(node.props)
            if node.pos is not None:
                item["pos"] = [_number(node.pos[0]), _number(node.pos[1])]
            nodes.append(item)
        data: dict[str, Any] = {
            "format": self.format,
            "schema_version": self.schema_version,
            "name": self.name,
        }
        if self.description:
            data["description"] = self.description
        data["nodes"] = nodes
        data["links"] = [lk.to_pair() for lk in self.links]
        if self.blocks:
            data["blocks"] = [block.to_data() for block in self.blocks]
        return data

    def block(self, block_id: str) -> BlockDoc | None:
        return next((b for b in self.blocks if b.id == block_id), None)

    def block_of(self, node_id: str) -> BlockDoc | None:
        """The block a node belongs to, if any."""
        return next((b for b in self.blocks if node_id in b.nodes), None)


def _number(value: float) -> float | int:
    """Whole positions are written as integers, so hand-written files stay as they were."""
    return int(value) if float(value).is_integer() else value
