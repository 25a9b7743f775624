"""Small helpers shared by the core tests."""

from __future__ import annotations

from atrap_studio.core.document import Endpoint, GraphDocument, NodeDoc


def ep(text: str) -> Endpoint:
    return Endpoint.parse(text)


def node(doc: GraphDocument, node_id: str) -> NodeDoc:
    found = doc.node(node_id)
    assert found is not None, node_id
    return found
