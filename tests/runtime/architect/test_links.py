"""Cutting and restoring single links with masks."""

from __future__ import annotations

import pytest
import torch

from atrap_studio.runtime.architect.links import (
    LinkMasks,
    cut_links,
    restore_links,
    weakest_links,
)
from atrap_studio.runtime.architect.optimizer_state import carry_optimizer_state
from atrap_studio.runtime.architect.surgery import narrow, widen

from .nets import inputs, max_change, network, target


def test_cutting_changes_only_what_varies_beyond_the_folded_mean() -> None:
    arch, module = network("relu")
    x = inputs()
    links = weakest_links(arch, module, 1, 5, inputs=x, masks=LinkMasks())
    result, masks = cut_links(arch, module, LinkMasks(), 1, links, inputs=x)
    assert masks.count() == 5
    assert all(float(result.module[2].weight.detach()[o, i]) == 0.0 for o, i in links)
    with torch.no_grad():  # the next layer's pre-activation moves by w (a - mean a) per link
        a = module[:2](x)
        w = module[2].weight
        expected = torch.zeros(x.shape[0], 6)
        for o, i in links:
            expected[:, o] -= w[o, i] * (a[:, i] - a[:, i].mean())
        got = result.module[:3](x) - module[:3](x)
    assert torch.allclose(got, expected, atol=1e-5)
    # the weakest links matter less than the same number of the strongest
    strongest = weakest_links(arch, module, 1, 48, inputs=x, masks=LinkMasks())[-5:]
    worst, _ = cut_links(arch, module, LinkMasks(), 1, strongest, inputs=x)
    assert max_change(module, result.module, x) < max_change(module, worst.module, x)


def test_a_cut_link_stays_cut_through_training_when_the_masks_are_applied() -> None:
    arch, module = network("silu")
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-2)
    result, masks = cut_links(arch, module, LinkMasks(), 0, [(3, 1), (4, 2)], inputs=inputs())
    optimizer = carry_optimizer_state(optimizer, result.module, result.state_map)
    generator = torch.Generator().manual_seed(0)
    for _ in range(20):
        x = torch.randn(32, 3, generator=generator)
        loss = (result.module(x) - target(x)).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        masks.apply(result.module)
    weight = result.module[0].weight.detach()
    assert float(weight[3, 1]) == 0.0 and float(weight[4, 2]) == 0.0
    assert int((weight == 0).sum()) == 2


def test_restoring_a_link_keeps_the_function() -> None:
    arch, module = network("tanh")
    x = inputs()
    cut, masks = cut_links(arch, module, LinkMasks(), 2, [(0, 1), (1, 5)], inputs=x)
    restored, masks = restore_links(cut.architecture, cut.module, masks, 2, [(0, 1)])
    assert masks.as_data() == {"4.weight": [[1, 5]]}
    assert max_change(cut.module, restored.module, x) == 0.0


def test_masks_follow_a_structural_change() -> None:
    arch, module = network("relu")
    x = inputs()
    cut, masks = cut_links(arch, module, LinkMasks(), 0, [(2, 0), (5, 1)], inputs=x)
    grown = widen(cut.architecture, cut.module, 0, 12, generator=torch.Generator().manual_seed(1))
    followed = masks.follow(grown.state_map)
    copies = grown.state_map.origins["0.bias"].index.tolist()
    expected = sum(1 for source in copies if source in (2, 5))  # originals and their copies
    assert followed.count() == expected >= 2
    followed.apply(grown.module)
    assert max_change(cut.module, grown.module, x) <= 1e-6  # the copies' cut weights were 0
    shrunk = narrow(grown.architecture, grown.module, 0, 4, inputs=x)
    kept_rows = shrunk.state_map.origins["0.bias"].index.tolist()
    assert followed.follow(shrunk.state_map).count() == sum(
        1 for row in kept_rows if copies[row] in (2, 5)
    )


def test_masks_round_trip_as_data_and_refuse_what_does_not_fit() -> None:
    arch, module = network()
    _, masks = cut_links(arch, module, LinkMasks(), 1, [(0, 7), (5, 0)])
    data = masks.as_data()
    assert data == {"2.weight": [[0, 7], [5, 0]]}
    assert LinkMasks.from_data(data, module).as_data() == data
    with pytest.raises(ValueError, match="no weight matrix"):
        LinkMasks.from_data({"2.bias": [[0, 0]]}, module)
    with pytest.raises(ValueError, match="outside"):
        LinkMasks.from_data({"2.weight": [[6, 0]]}, module)
    with pytest.raises(ValueError, match="outside"):
        cut_links(arch, module, LinkMasks(), 1, [(0, 8)])
    with pytest.raises(ValueError, match=r"links \[\(1, 1\)\] of linear layer 1 are not cut"):
        restore_links(arch, module, masks, 1, [(0, 7), (1, 1)])
    with pytest.raises(ValueError, match="linear layer 3 does not exist"):
        cut_links(arch, module, LinkMasks(), 3, [(0, 0)])
