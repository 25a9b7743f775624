"""NodeGraphQt node classes generated from the core's node specs (one adapter for all types).

Nothing here declares a node type: each class is made from a :class:`NodeSpec`, so a node added
to the catalogue appears in the palette, the Tab search and the canvas without code here. Two
extra classes stand for things that have no spec: a node whose type this version does not know
(shown, never dropped) and a collapsed block.
"""

from __future__ import annotations

from typing import Any

from NodeGraphQt import BaseNode

from atrap_studio.core.ports import PortType
from atrap_studio.core.registry import Registry
from atrap_studio.core.specs import NodeSpec, PortSpec

IDENTIFIER = "atrap"

#: Port colours by kind, so a port's colour tells what may plug into it.
PORT_COLOURS: dict[str, tuple[int, int, int]] = {
    "Scene": (64, 196, 200),
    "Vector": (236, 200, 70),
    "Image": (170, 110, 230),
    "Reward": (90, 200, 110),
    "Network": (240, 140, 60),
    "Action": (230, 80, 90),
    "Event": (160, 160, 160),
}

#: Node header colours by category.
CATEGORY_COLOURS: dict[str, tuple[int, int, int]] = {
    "scene": (28, 92, 110),
    "sensor": (96, 84, 30),
    "nn": (110, 62, 24),
    "action": (104, 34, 44),
    "reward": (34, 90, 50),
    "trainer": (58, 52, 112),
    "helper": (70, 70, 70),
    "monitor": (50, 70, 90),
}
MISSING_COLOUR = (90, 30, 30)
BLOCK_COLOUR = (44, 60, 84)


def port_colour(type_text: str) -> tuple[int, int, int]:
    return PORT_COLOURS.get(PortType.parse(type_text).kind, (200, 200, 200))


def port_tooltip(port: PortSpec, direction: str) -> str:
    extras = [
        text
        for flag, text in (
            (not port.required and direction == "input", "optional"),
            (port.multiple, "takes several links"),
            (port.feedback, "read at the next step"),
        )
        if flag
    ]
    more = f" ({', '.join(extras)})" if extras else ""
    return f"<b>{port.name}</b>: {port.type}{more}<br>{port.help}"


def node_tooltip(spec: NodeSpec) -> str:
    props = "".join(f"<li><b>{p.name}</b>: {p.help}</li>" for p in spec.props)
    listing = f"<ul>{props}</ul>" if props else ""
    return f"<b>{spec.title}</b> <i>({spec.type})</i><br>{spec.help}{listing}"


class SpecNode(BaseNode):
    """Base of the generated classes; ``SPEC`` is set on each generated subclass."""

    __identifier__ = IDENTIFIER
    NODE_NAME = "Node"
    SPEC: NodeSpec

    def __init__(self) -> None:
        super().__init__()
        spec = self.SPEC
        self.set_color(*CATEGORY_COLOURS.get(spec.category, (70, 70, 70)))
        for port in spec.inputs:
            item = self.add_input(
                port.name, multi_input=port.multiple, color=port_colour(port.type)
            )
            item.view.setToolTip(port_tooltip(port, "input"))
        for port in spec.outputs:
            item = self.add_output(port.name, multi_output=True, color=port_colour(port.type))
            item.view.setToolTip(port_tooltip(port, "output"))
        self.view.setToolTip(node_tooltip(spec))


class MissingNode(BaseNode):
    """A node whose type this version does not know: kept, shown, saved back unchanged.

    Its ports are the ones its links use, added by the canvas as it draws them.
    """

    __identifier__ = IDENTIFIER
    NODE_NAME = "Missing node"

    def __init__(self) -> None:
        super().__init__()
        self.set_color(*MISSING_COLOUR)


class BlockNode(BaseNode):
    """A collapsed block: one box whose ports stand for its members' exposed ports."""

    __identifier__ = IDENTIFIER
    NODE_NAME = "Block"

    def __init__(self) -> None:
        super().__init__()
        self.set_color(*BLOCK_COLOUR)


def node_classes(registry: Registry) -> dict[str, type[Any]]:
    """One NodeGraphQt class per spec, keyed by the spec's type id."""
    classes: dict[str, type[Any]] = {}
    for spec in registry:
        name = "".join(part.title() for part in spec.type.replace(".", "_").split("_"))
        classes[spec.type] = type(name, (SpecNode,), {"NODE_NAME": spec.title, "SPEC": spec})
    return classes
