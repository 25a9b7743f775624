"""Scene plug-ins: each sub-package is one scene with its own nodes.

A plug-in folder holds ``specs.py`` (its ``SPECS``; the scene's spec names its example graphs)
and the implementations those specs name; the catalogue gathers every plug-in found here, so
adding a scene is adding a folder (see docs/architecture.md, "Adding a scene").
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from atrap_studio.core.specs import NodeSpec


def plugins() -> list[ModuleType]:
    """Each scene plug-in's ``specs`` module, in name order."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.ispkg:
            found.append(importlib.import_module(f"{__name__}.{info.name}.specs"))
    return found


def plugin_specs() -> tuple[NodeSpec, ...]:
    """Every node spec the scene plug-ins declare."""
    return tuple(spec for module in plugins() for spec in module.SPECS)
