"""Turns the controller's grow / shrink into one structural change, within size bounds."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from atrap_studio.runtime.architect.controller import Action
from atrap_studio.runtime.architect.surgery import (
    Surgery,
    WidenMethod,
    hidden_widths,
    insert_layer,
    narrow,
    remove_layer,
    widen,
)
from atrap_studio.runtime.networks import Architecture


@dataclass(frozen=True)
class SizeBounds:
    """How far the architect may change a network."""

    min_width: int = 4
    max_width: int = 256
    max_hidden_layers: int = 4
    #: Fraction of a layer's width added or removed by one change (at least one neuron).
    step: float = 0.25

    def __post_init__(self) -> None:
        if not 1 <= self.min_width <= self.max_width:
            raise ValueError("need 1 <= min_width <= max_width")
        if self.max_hidden_layers < 1 or not 0.0 < self.step <= 1.0:
            raise ValueError("need max_hidden_layers >= 1 and 0 < step <= 1")


def resize(
    arch: Architecture,
    module: torch.nn.Sequential,
    action: Action,
    *,
    bounds: SizeBounds,
    inputs: torch.Tensor,
    generator: torch.Generator,
    method: WidenMethod = "fresh",
) -> Surgery | None:
    """One change in the direction ``action`` asks, or None when the bounds allow none (or
    the network has no hidden layer).

    grow: widen the narrowest hidden layer below ``max_width`` by ``step``; when every layer is
    at ``max_width``, insert a layer after the last one (up to ``max_hidden_layers``).
    shrink: narrow the widest hidden layer above ``min_width`` by ``step``; when every layer is
    at ``min_width``, remove the last one (down to one hidden layer).
    ``inputs`` are recent network inputs (narrow, insert and remove measure on them).
    Widening adds fresh neurons by default: a network stalled on a plateau stays on it when its
    neurons are split (the copies compute what the originals did), while fresh ones left a
    measured plateau (docs/architect.md).
    """
    widths = hidden_widths(arch)
    if not widths:  # a single linear layer: no hidden layer to widen or to insert after
        return None
    if action == "grow":
        room = [i for i, w in enumerate(widths) if w < bounds.max_width]
        if room:
            layer = min(room, key=lambda i: widths[i])
            wider = min(
                bounds.max_width, widths[layer] + max(1, math.ceil(widths[layer] * bounds.step))
            )
            return widen(arch, module, layer, wider, generator=generator, method=method)
        if len(widths) < bounds.max_hidden_layers:
            return insert_layer(arch, module, len(widths) - 1)
        return None
    if action == "shrink":
        spare = [i for i, w in enumerate(widths) if w > bounds.min_width]
        if spare:
            layer = max(spare, key=lambda i: widths[i])
            cut = max(1, math.floor(widths[layer] * bounds.step))
            narrower = max(bounds.min_width, widths[layer] - cut)
            return narrow(arch, module, layer, narrower, inputs=inputs)
        if len(widths) > 1:
            return remove_layer(arch, module, len(widths) - 1, inputs=inputs)
        return None
    return None
