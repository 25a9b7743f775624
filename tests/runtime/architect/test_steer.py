"""Turning grow / shrink into one change within the size bounds."""

from __future__ import annotations

import pytest
import torch

from atrap_studio.runtime.architect.steer import SizeBounds, resize
from atrap_studio.runtime.architect.surgery import hidden_widths

from .nets import inputs, max_change, network

SEED = torch.Generator().manual_seed


def test_grow_widens_the_narrowest_layer_then_adds_a_layer_at_full_width() -> None:
    arch, module = network("relu", (8, 6))
    bounds = SizeBounds(max_width=8, max_hidden_layers=3, step=0.25)
    steps = []
    for _ in range(2):
        change = resize(arch, module, "grow", bounds=bounds, inputs=inputs(), generator=SEED(0))
        assert change is not None
        assert max_change(module, change.module, inputs(seed=3)) <= 1e-5
        arch, module = change.architecture, change.module
        steps.append(hidden_widths(arch))
    assert steps == [[8, 8], [8, 8, 8]]
    assert resize(arch, module, "grow", bounds=bounds, inputs=inputs(), generator=SEED(0)) is None


def test_shrink_narrows_the_widest_layer_then_removes_the_last_at_minimum() -> None:
    arch, module = network("silu", (8, 5))
    bounds = SizeBounds(min_width=5, step=0.25)
    first = resize(arch, module, "shrink", bounds=bounds, inputs=inputs(), generator=SEED(0))
    assert first is not None and hidden_widths(first.architecture) == [6, 5]
    second = resize(
        first.architecture,
        first.module,
        "shrink",
        bounds=bounds,
        inputs=inputs(),
        generator=SEED(0),
    )
    assert second is not None and hidden_widths(second.architecture) == [5, 5]
    third = resize(
        second.architecture,
        second.module,
        "shrink",
        bounds=bounds,
        inputs=inputs(),
        generator=SEED(0),
    )
    assert third is not None and hidden_widths(third.architecture) == [5]
    assert (
        resize(
            third.architecture,
            third.module,
            "shrink",
            bounds=bounds,
            inputs=inputs(),
            generator=SEED(0),
        )
        is None
    )


def test_hold_and_a_network_without_hidden_layers_change_nothing() -> None:
    arch, module = network(hidden=())
    for action in ("grow", "shrink"):
        assert (
            resize(arch, module, action, bounds=SizeBounds(), inputs=inputs(), generator=SEED(0))
            is None
        )
    arch, module = network()
    assert (
        resize(arch, module, "hold", bounds=SizeBounds(), inputs=inputs(), generator=SEED(0))
        is None
    )


@pytest.mark.parametrize(
    "settings",
    [{"min_width": 0}, {"min_width": 9, "max_width": 8}, {"step": 0.0}, {"max_hidden_layers": 0}],
)
def test_bounds_that_contradict_themselves_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="need"):
        SizeBounds(**settings)  # type: ignore[arg-type]
