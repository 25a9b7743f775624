"""Node specs: each node type declared once, as data, with typed ports and properties.

The palette, the validator, the CLI help and (later) the editor are all generated from these.
A spec names its implementation as an import string, loaded only when a run starts, so reading
specs never imports torch.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from atrap_studio.core.errors import quoted
from atrap_studio.core.outcome import Outcome
from atrap_studio.core.ports import PortType

Props = Mapping[str, Any]
#: Facts a scene declares about itself for the nodes around it (``joints``, ``differentiable``...).
Facts = Mapping[str, Any]
#: Computes a port's shape from the node's own properties and the scene's facts.
ShapeRule = Callable[[Props, Facts], tuple[int, ...]]
#: A cross-property check: returns (property, message, hint) for each problem found.
PropsCheck = Callable[[Props, Facts], list[tuple[str, str, str]]]

TYPE_ID_RE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
CATEGORIES = ("scene", "sensor", "nn", "action", "reward", "trainer", "helper", "monitor")

PropKind = Literal["int", "float", "bool", "choice", "str", "int_list", "float_list", "str_list"]


@dataclass(frozen=True)
class PortSpec:
    """One input or output of a node.

    Attributes:
        name: unique among the node's ports of the same direction.
        type: a port type string, e.g. ``Vector`` or ``Image[32,32,3]``.
        help: shown as tooltip and in the node reference.
        required: an input that must be linked for the graph to run.
        multiple: an input that accepts several links (Vectors concatenate in link order,
            Rewards and Actions are gathered).
        feedback: an input consumed at the next simulation step, so a link into it closes the
            agent's loop across time instead of forming a cycle.
        shape: how the shape is computed from properties and scene facts, when it is fixed.
        needed_when: for an optional input, the properties that make it needed after all
            (the graph does not run with them and the input unlinked); the message says why.
    """

    name: str
    type: str
    help: str
    required: bool = True
    multiple: bool = False
    feedback: bool = False
    shape: ShapeRule | None = None
    needed_when: tuple[Callable[[Props], bool], str] | None = None

    @cached_property
    def port_type(self) -> PortType:
        """The parsed type (parsed once: the pipeline asks at every step)."""
        return PortType.parse(self.type)


@dataclass(frozen=True)
class PropSpec:
    """One property of a node, with its kind, default, allowed range and help text."""

    name: str
    kind: PropKind
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    min_items: int = 0
    max_items: int | None = None
    required: bool = False
    #: For a ``str`` property that names a file: the suffixes it takes (the editor offers a
    #: file chooser), e.g. ``(".atrapnet",)``.
    file_types: tuple[str, ...] = ()

    def check(self, value: Any) -> tuple[str, str, str] | None:
        """Return ``(code, message, hint)`` when ``value`` does not fit, else ``None``.

        Codes: ``prop.kind`` (wrong type of value), ``prop.range``, ``prop.choice``,
        ``prop.items`` (list length).
        """
        if self.kind.endswith("_list"):
            if not isinstance(value, list):
                return (
                    "prop.kind",
                    f"expected a list, got {_describe(value)}",
                    "write [a, b, ...]",
                )
            if len(value) < self.min_items:
                return (
                    "prop.items",
                    f"needs at least {self.min_items} item(s), got {len(value)}",
                    self.help,
                )
            if self.max_items is not None and len(value) > self.max_items:
                return (
                    "prop.items",
                    f"takes at most {self.max_items} item(s), got {len(value)}",
                    self.help,
                )
            item_kind = {"int_list": "int", "float_list": "float", "str_list": "choice"}[self.kind]
            for index, item in enumerate(value):
                problem = self._check_scalar(item_kind, item)
                if problem:
                    return (problem[0], f"item {index}: {problem[1]}", problem[2])
            return None
        return self._check_scalar(self.kind, value)

    def _check_scalar(self, kind: str, value: Any) -> tuple[str, str, str] | None:
        if kind == "bool":
            if not isinstance(value, bool):
                return (
                    "prop.kind",
                    f"expected true or false, got {_describe(value)}",
                    "write true or false",
                )
            return None
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                hint = "write a whole number"
                if isinstance(value, float) and value.is_integer():
                    hint = f"write {int(value)} (without a decimal point or exponent)"
                elif isinstance(value, str):
                    hint = "write a plain number, without quotes"
                return ("prop.kind", f"expected an integer, got {_describe(value)}", hint)
            return self._check_range(value)
        if kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                hint = "write a plain number, without quotes" if isinstance(value, str) else ""
                return (
                    "prop.kind",
                    f"expected a number, got {_describe(value)}",
                    hint or "write a number",
                )
            if not math.isfinite(value):
                return (
                    "prop.range",
                    f"must be a finite number, got {value}",
                    "write a finite number",
                )
            return self._check_range(value)
        if kind in ("str", "choice"):
            if not isinstance(value, str):
                return ("prop.kind", f"expected text, got {_describe(value)}", "write it as text")
            if self.choices and value not in self.choices:
                return (
                    "prop.choice",
                    f"{quoted(value)} is not one of the choices",
                    "choose one of: " + ", ".join(self.choices),
                )
            return None
        raise AssertionError(f"unknown property kind {kind}")  # specs are checked at registration

    def _check_range(self, value: float) -> tuple[str, str, str] | None:
        low, high = self.min, self.max
        if (low is not None and value < low) or (high is not None and value > high):
            return (
                "prop.range",
                f"{quoted(value)} is out of range",
                f"use a value in {_range_text(low, high)}",
            )
        return None


@dataclass(frozen=True)
class NodeSpec:
    """The declaration of one node type.

    Attributes:
        type: ``category.name`` id written in graph files.
        version: bumped when the meaning of properties changes (migrations key on it).
        title: short human title for the palette.
        category: one of :data:`CATEGORIES`.
        help: one or two sentences: what the node does and when to use it.
        impl: ``"module:Class"`` of the implementation, imported only when a run starts.
        inputs, outputs, props: the node's ports and properties.
        legacy_ids: older type ids that files may still use; they load as this type.
        facts: for scenes, what the scene tells the nodes around it (from its properties).
        outcome: for scenes, how its episodes are judged (score, success, snapshot kind).
        examples: for scenes, names of shipped example graphs built on it (the first is the
            base graph the contract test puts every node of the catalogue into).
        requires_facts: facts this node needs from the scene (e.g. ``joints``).
        checks: cross-property checks beyond each property's own kind and range.
        seat: the property naming which of the scene's bodies (its ``seats`` fact) the node
            reads, drives or is rewarded for, in a scene where several agents learn (the tank
            arena's ``tank``); ``None``: the scene's first body.
    """

    type: str
    version: int
    title: str
    category: str
    help: str
    impl: str
    inputs: tuple[PortSpec, ...] = ()
    outputs: tuple[PortSpec, ...] = ()
    props: tuple[PropSpec, ...] = ()
    legacy_ids: tuple[str, ...] = ()
    facts: Callable[[Props], dict[str, Any]] | None = None
    outcome: Callable[[Props], Outcome] | None = None
    examples: tuple[str, ...] = ()
    requires_facts: tuple[str, ...] = ()
    checks: tuple[PropsCheck, ...] = field(default=())
    seat: str | None = None

    def input(self, name: str) -> PortSpec | None:
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> PortSpec | None:
        return next((p for p in self.outputs if p.name == name), None)

    def prop(self, name: str) -> PropSpec | None:
        return next((p for p in self.props if p.name == name), None)

    def defaults(self) -> dict[str, Any]:
        """A fresh copy of every optional property's default value."""
        return {p.name: _copy(p.default) for p in self.props if not p.required}

    def resolved_props(self, given: Props) -> dict[str, Any]:
        """The defaults overlaid with the given properties (unknown names are kept out)."""
        props = self.defaults()
        known = {p.name for p in self.props}
        props.update({k: v for k, v in given.items() if k in known})
        return props

    def spec_problems(self) -> list[str]:
        """Problems with the declaration itself (checked when a spec is registered)."""
        problems: list[str] = []
        if not TYPE_ID_RE.match(self.type):
            problems.append(f"type id {self.type!r} must look like 'category.name'")
        if self.category not in CATEGORIES:
            problems.append(f"category {self.category!r} is not one of {CATEGORIES}")
        elif not self.type.startswith(self.category + ".") and self.category != "helper":
            problems.append(f"type id {self.type!r} must start with its category")
        if self.category == "scene" and self.outcome is None:
            problems.append("a scene must declare its outcome (score, success, snapshot kind)")
        if self.category == "scene" and not self.examples:
            problems.append("a scene must name at least one shipped example graph")
        if ":" not in self.impl:
            problems.append(f"impl {self.impl!r} must be 'module:Class'")
        for group, ports in (("input", self.inputs), ("output", self.outputs)):
            names = [p.name for p in ports]
            if len(set(names)) != len(names):
                problems.append(f"{group} port names are not unique: {names}")
            for port in ports:
                if not NAME_RE.match(port.name):
                    problems.append(f"{group} port name {port.name!r} is not snake_case")
                try:
                    port.port_type  # noqa: B018 - parsing is the check
                except ValueError as exc:
                    problems.append(f"{group} port {port.name!r}: {exc}")
        names = [p.name for p in self.props]
        if len(set(names)) != len(names):
            problems.append(f"property names are not unique: {names}")
        for prop in self.props:
            if not NAME_RE.match(prop.name):
                problems.append(f"property name {prop.name!r} is not snake_case")
            if prop.kind == "choice" and not prop.choices:
                problems.append(f"property {prop.name!r} is a choice without choices")
            problem = None if prop.required else prop.check(prop.default)
            if problem:
                problems.append(f"default of {prop.name!r} fails its own check: {problem[1]}")
        if self.seat is not None and self.prop(self.seat) is None:
            problems.append(f"seat names {self.seat!r}, which is not one of its properties")
        return problems


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"text {quoted(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return quoted(value)


def _range_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"[{low:g}, {high:g}]"
    if low is not None:
        return f"[{low:g}, ∞)"
    return f"(-∞, {high:g}]"
