"""A changed network saves and loads as an .atrapnet with its new architecture."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from atrap_studio.runtime.architect.links import LinkMasks, cut_links
from atrap_studio.runtime.architect.surgery import (
    hidden_widths,
    insert_layer,
    narrow,
    remove_layer,
    widen,
)
from atrap_studio.runtime.netfile import load_network, save_network

from .nets import inputs, manifest, max_change, network


@pytest.mark.parametrize("activation", ["relu", "silu"])
def test_three_changes_save_and_reload_to_the_same_network(tmp_path: Path, activation: str) -> None:
    arch, module = network(activation, normalize=True)
    x = inputs()
    module[0].observe(x)
    step = widen(arch, module, 0, 12, generator=torch.Generator().manual_seed(0))
    step = insert_layer(step.architecture, step.module, 1)
    step = narrow(step.architecture, step.module, 0, 7, inputs=x)
    step = remove_layer(step.architecture, step.module, 1, inputs=x)
    cut, masks = cut_links(step.architecture, step.module, LinkMasks(), 0, [(1, 1)], inputs=x)
    path = tmp_path / "grown.atrapnet"
    save_network(path, cut.module, manifest(cut.architecture))
    loaded = load_network(path)
    assert loaded.manifest.architecture == cut.architecture
    assert hidden_widths(loaded.manifest.architecture) == [7, 12 if activation == "silu" else 6]
    assert max_change(cut.module, loaded.module, inputs(seed=4)) == 0.0
    assert masks.as_data() == LinkMasks.from_data(masks.as_data(), loaded.module).as_data()
