"""The node reference as Markdown, generated from the specs (docs/nodes.md, the editor's Help)."""

from __future__ import annotations

import json

from atrap_studio.core.specs import NodeSpec


def node_reference(specs: list[NodeSpec]) -> str:
    """The node reference as Markdown (docs/nodes.md is this, for the built-in catalogue)."""
    out = [
        "# Node reference\n",
        "Generated from the node specs by `atrap nodes --markdown`; do not edit by hand.\n",
    ]
    category = None
    for spec in specs:
        if spec.category != category:
            category = spec.category
            out.append(f"\n## {category}\n")
        out.append(f"\n### `{spec.type}` — {spec.title}\n\n{spec.help}\n")
        ports = [("input", p) for p in spec.inputs] + [("output", p) for p in spec.outputs]
        if ports:
            out.append("\n| port | type | |\n| --- | --- | --- |\n")
            for direction, port in ports:
                flags = []
                if direction == "input" and not port.required:
                    flags.append("optional")
                if port.multiple:
                    flags.append("several links")
                extra = f" ({', '.join(flags)})" if flags else ""
                out.append(f"| {direction} `{port.name}`{extra} | `{port.type}` | {port.help} |\n")
        if spec.props:
            out.append(
                "\n| property | kind | default | allowed | |\n| --- | --- | --- | --- | --- |\n"
            )
            for prop in spec.props:
                allowed = ", ".join(prop.choices)
                if not allowed and (prop.min is not None or prop.max is not None):
                    allowed = f"[{number_text(prop.min)}, {number_text(prop.max)}]"
                default = "required" if prop.required else f"`{json.dumps(prop.default)}`"
                out.append(
                    f"| `{prop.name}` | {prop.kind} | {default} | {allowed} | {prop.help} |\n"
                )
    return "".join(out)


def number_text(value: float | None) -> str:
    """A range bound as written in references: ``…`` for an open end."""
    return "…" if value is None else f"{value:g}"
