"""The built-in node library: specs as data (``specs``), implementations loaded lazily."""

from __future__ import annotations

from atrap_studio.core.registry import Registry
from atrap_studio.nodes.specs import CATALOGUE


def builtin_registry() -> Registry:
    """A registry holding every built-in node spec."""
    return Registry(CATALOGUE)
