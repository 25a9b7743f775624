"""The registry of node specs: one place that knows every node type, including renamed ones."""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable, Iterator
from typing import Any

from atrap_studio.core.errors import AtrapError
from atrap_studio.core.specs import NodeSpec


class Registry:
    """Node specs by type id; legacy ids resolve to the spec that replaced them."""

    def __init__(self, specs: Iterable[NodeSpec] = ()) -> None:
        self._specs: dict[str, NodeSpec] = {}
        self._legacy: dict[str, str] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: NodeSpec) -> None:
        """Add a spec; a malformed declaration or a clashing id is a programming error."""
        problems = spec.spec_problems()
        if problems:
            raise ValueError(f"node spec {spec.type!r}: " + "; ".join(problems))
        for type_id in (spec.type, *spec.legacy_ids):
            if type_id in self._specs or type_id in self._legacy:
                raise ValueError(f"node type id {type_id!r} is registered twice")
        self._specs[spec.type] = spec
        for legacy in spec.legacy_ids:
            self._legacy[legacy] = spec.type

    def get(self, type_id: str) -> NodeSpec | None:
        """The spec for a type id (current or legacy), or ``None``."""
        return self._specs.get(self._legacy.get(type_id, type_id))

    def canonical(self, type_id: str) -> str:
        """The current id of a possibly renamed type."""
        return self._legacy.get(type_id, type_id)

    def suggest(self, type_id: str) -> list[str]:
        """Known ids close to an unknown one, for 'did you mean' hints."""
        return difflib.get_close_matches(type_id, list(self._specs), n=3, cutoff=0.5)

    def by_category(self, category: str) -> list[NodeSpec]:
        return [s for s in self._specs.values() if s.category == category]

    def __iter__(self) -> Iterator[NodeSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, type_id: object) -> bool:
        return isinstance(type_id, str) and self.get(type_id) is not None


def load_impl(spec: NodeSpec) -> Any:
    """Import the class a spec names; called only when a run starts (it may import torch)."""
    module_name, _, attr = spec.impl.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise AtrapError(
            f"node type {spec.type!r}: its implementation {spec.impl!r} cannot be loaded ({exc})"
        ) from exc
