"""Property-based: random documents only ever give issues or the project's own error."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import AtrapError
from atrap_studio.core.registry import Registry
from atrap_studio.core.validation import Issue, validate
from atrap_studio.core.yaml_io import parse_graph
from atrap_studio.nodes import builtin_registry
from atrap_studio.nodes.specs import CATALOGUE

REGISTRY: Registry = builtin_registry()
TYPES = [s.type for s in CATALOGUE]
PORTS = sorted({p.name for s in CATALOGUE for p in (*s.inputs, *s.outputs)})
PROPS = sorted({p.name for s in CATALOGUE for p in s.props})

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4), max_leaves=8)
ids = st.sampled_from(["arm", "q", "goal", "brain", "move", "near", "teach", "x"])
nodes = st.fixed_dictionaries(
    {"id": ids, "type": st.one_of(st.sampled_from(TYPES), st.text(max_size=12))},
    optional={
        "props": st.dictionaries(st.sampled_from(PROPS), values, max_size=4),
        "pos": st.lists(st.floats(allow_nan=False, width=32), min_size=2, max_size=2),
    },
)
links = st.lists(
    st.tuples(ids, st.sampled_from(PORTS), ids, st.sampled_from(PORTS)).map(
        lambda t: [f"{t[0]}.{t[1]}", f"{t[2]}.{t[3]}"]
    ),
    max_size=12,
)
documents = st.fixed_dictionaries(
    {"format": st.just("atrap-graph"), "schema_version": st.just(1)},
    optional={"nodes": st.lists(nodes, max_size=8), "links": links, "name": st.text(max_size=5)},
)


def _dump(data: dict[str, Any]) -> str:
    import io

    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(data, out)
    return out.getvalue()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_loader_and_validator_never_crash(data: dict[str, Any]) -> None:
    try:
        doc = parse_graph(_dump(data))
    except AtrapError:
        return
    issues = validate(doc, REGISTRY)
    assert all(isinstance(i, Issue) for i in issues)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes(text: str) -> None:
    try:
        doc = parse_graph(text)
    except AtrapError:
        return
    assert isinstance(doc, GraphDocument)
    validate(doc, REGISTRY)
