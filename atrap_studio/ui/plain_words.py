"""Messages in the person's words: node names and port labels where the core says ids.

Validation and the runtime name nodes by id (``brain``), ports as ``brain.state`` and node types
as ``trainer.direct``: exact for files, terminals and tests. The editor shows the same messages
with the names its canvas shows (``NN Factory · state``, ``Direct trainer``), rewriting only
what it can tell apart for sure: a ``node.port`` whose node is in the graph, a registered type,
a quoted node id, and node ids in a list or a chain of arrows.
"""

from __future__ import annotations

import dataclasses
import math
import re

from atrap_studio.core.document import Endpoint, GraphDocument
from atrap_studio.core.editing import end_label, node_label
from atrap_studio.core.registry import Registry
from atrap_studio.core.validation import Analysis, Issue

#: What the input and the output neurons of a network stand for, in order: (label, size)
#: slices, e.g. ``[("Joint angles · value", 6), ("Target position · value", 3)]``.
Meanings = tuple[list[tuple[str, int]], list[tuple[str, int]]]

_WORDS = re.compile(
    r"(?P<dotted>(?<![\w.-])[A-Za-z_][\w-]*\.[A-Za-z_]\w*(?![\w-]|\.\w))"
    r"|(?<!input )(?<!output )(?<!property )(?<!port )'(?P<quoted>[\w-]+)'"
    r"|(?P<word>(?<![\w.'-])[A-Za-z_][\w-]*(?![\w.'-]))"
)


class PlainWords:
    """Names for the nodes of one graph, and messages rewritten with them."""

    def __init__(self, doc: GraphDocument, registry: Registry) -> None:
        self.doc, self.registry = doc, registry
        self._ids = {n.id for n in doc.nodes}

    def node(self, node_id: str) -> str:
        """``NN Factory``: the node's name, or its type's title (its id if it has none)."""
        return node_label(self.doc, self.registry, node_id)

    def where(self, issue: Issue) -> str:
        """Where an issue is: ``NN Factory · state``, ``Direct trainer · lr``, or ``graph``."""
        if issue.node is None:
            return "graph"
        detail = issue.port or issue.prop
        return f"{self.node(issue.node)} · {detail}" if detail else self.node(issue.node)

    def text(self, message: str) -> str:
        """``message`` with ids replaced by names (anything else is left as it is)."""
        said = _WORDS.sub(lambda found: self._replace(found, message), message)
        return said.replace("[?]", "")  # a size not worked out yet: "Vector", not "Vector[?]"

    def issue(self, issue: Issue) -> Issue:
        """The same issue, its message and hint in the person's words."""
        return dataclasses.replace(
            issue, message=self.text(issue.message), hint=self.text(issue.hint)
        )

    def _replace(self, found: re.Match[str], message: str) -> str:
        token = found.group(0)
        if found.group("dotted"):
            spec = self.registry.get(token)
            if spec is not None:
                return spec.title
            node, _, port = token.partition(".")
            return (
                end_label(self.doc, self.registry, Endpoint(node=node, port=port))
                if (node in self._ids)
                else token
            )
        quoted = found.group("quoted")
        if quoted:
            return f"'{self.node(quoted)}'" if quoted in self._ids else token
        if token in self._ids and _listed(message, found.start(), found.end()):
            return self.node(token)
        return token


def _listed(message: str, start: int, end: int) -> bool:
    """Whether the word at ``start:end`` stands in a list ``(a, b)`` or a chain ``a → b``."""
    before, after = message[:start], message[end:]
    opens = before.endswith(("(", ", ", "→ "))
    closes = after.startswith((")", ",", " →")) or not after
    return (opens or after.startswith(" →")) and closes


def network_meanings(doc: GraphDocument, analysis: Analysis, registry: Registry) -> Meanings:
    """What the trained network's input and output neurons stand for, from the graph: the
    sensors linked into its ``state`` (in link order) and the actions its ``action`` feeds."""
    trainer = analysis.trainer
    network = next(
        (
            lk.src.node
            for lk in doc.links
            if trainer and lk.dst == Endpoint(node=trainer, port="network")
        ),
        None,
    )
    if network is None:
        return [], []
    inputs = [  # a picture linked into 'image' comes first in the flat input, then 'state'
        (end_label(doc, registry, lk.src), _size(analysis.outputs.get((lk.src.node, lk.src.port))))
        for port in ("image", "state")
        for lk in doc.links
        if lk.dst == Endpoint(node=network, port=port)
    ]
    feeds = [lk.dst for lk in doc.links if lk.src == Endpoint(node=network, port="action")]
    total = _size(analysis.outputs.get((network, "action")))
    outputs = [
        (
            end_label(doc, registry, end),
            total if len(feeds) == 1 else _size(analysis.inputs.get((end.node, end.port))),
        )
        for end in feeds
    ]
    return inputs, outputs


def _size(shape: tuple[int, ...] | None) -> int:
    """How many values a port carries: a Vector's length, a picture's height x width x channels."""
    return int(math.prod(shape)) if shape else 0
