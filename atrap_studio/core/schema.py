"""The graph file's JSON Schema, with each node type's properties spelled out.

Editors and other tools can check graph files with it; it is generated from the document model
and the node specs, so it never drifts from what the validator accepts.
"""

from __future__ import annotations

from typing import Any

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.registry import Registry
from atrap_studio.core.specs import NodeSpec, PropSpec

_SCALAR = {
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "choice": "string",
    "str": "string",
}


def graph_schema(registry: Registry) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a graph file for the node types in ``registry``."""
    schema = GraphDocument.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ATRAP Studio graph"
    node_def = schema["$defs"]["NodeDoc"]
    schema["$defs"]["NodeDoc"] = {
        "allOf": [node_def],
        "oneOf": [
            _node_schema(spec, legacy)
            for spec in registry
            for legacy in (spec.type, *spec.legacy_ids)
        ],
    }
    schema["properties"]["links"] = {
        "type": "array",
        "items": {
            "type": "array",
            "items": {
                "type": "string",
                "pattern": r"^[A-Za-z_][A-Za-z0-9_-]*\.[A-Za-z_][A-Za-z0-9_]*$",
            },
            "minItems": 2,
            "maxItems": 2,
        },
    }
    return schema


def _node_schema(spec: NodeSpec, type_id: str) -> dict[str, Any]:
    return {
        "properties": {
            "type": {"const": type_id},
            "props": {
                "type": "object",
                "properties": {p.name: _prop_schema(p) for p in spec.props},
                "required": [p.name for p in spec.props if p.required],
                "additionalProperties": False,
            },
        },
        "description": spec.help,
    }


def _prop_schema(prop: PropSpec) -> dict[str, Any]:
    if prop.kind.endswith("_list"):
        item_kind = {"int_list": "int", "float_list": "float", "str_list": "choice"}[prop.kind]
        schema: dict[str, Any] = {
            "type": "array",
            "items": _scalar(prop, item_kind),
            "minItems": prop.min_items,
        }
        if prop.max_items is not None:
            schema["maxItems"] = prop.max_items
    else:
        schema = _scalar(prop, prop.kind)
    schema["description"] = prop.help
    if not prop.required:
        schema["default"] = prop.default
    return schema


def _scalar(prop: PropSpec, kind: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": _SCALAR[kind]}
    if prop.choices:
        schema["enum"] = list(prop.choices)
    if kind in ("int", "float"):
        if prop.min is not None:
            schema["minimum"] = prop.min
        if prop.max is not None:
            schema["maximum"] = prop.max
    return schema
