"""How a change of the network's shape (an ``architecture`` event) is told to people, the same
in the editor's Log and on the command line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_VERBS = {"grow": "grew", "shrink": "shrank"}


def describe_change(step: int, data: Mapping[str, Any]) -> str:
    """``Update 200: the network grew — stalled: ... — widened hidden layer 0 from 8 to 10.
    Hidden layers now [10, 8], 1,234 parameters.`` (reasons hold parentheses of their own)."""
    verb = _VERBS.get(str(data.get("action")), "changed")
    reason = f" — {data['reason']} —" if data.get("reason") else ":"
    what = str(data.get("description", "")).split(": ")[0]
    hidden = ", ".join(str(width) for width in data.get("hidden", []))
    return (
        f"Update {step:,}: the network {verb}{reason} {what}. Hidden layers now [{hidden}], "
        f"{int(data.get('parameters', 0)):,} parameters."
    )
