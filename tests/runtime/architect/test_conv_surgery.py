"""Widening the convolutions of a network that sees: the function holds, the optimiser follows,
training goes on and the grown network saves and loads."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from atrap_studio.runtime.architect.optimizer_state import carry_optimizer_state
from atrap_studio.runtime.architect.surgery import widen_conv
from atrap_studio.runtime.netfile import load_network, save_network
from atrap_studio.runtime.networks import Architecture, build_module, mlp

from .nets import manifest, max_change

IMAGE = (1, 12, 3)  # a camera strip: one row of 12 pixels, 3 values each
EXTRA = 5  # other sensors after the picture


def seeing(normalize: bool = False) -> tuple[Architecture, torch.nn.Sequential]:
    arch = mlp(
        12 * 3 + EXTRA,
        [16],
        2,
        activation="silu",
        output_activation=None,
        normalize_inputs=normalize,
        image=IMAGE,
        conv_channels=[4, 6],
        conv_kernel=3,
        conv_stride=2,
    )
    return arch, build_module(arch, init="default", generator=torch.Generator().manual_seed(3))


def pictures(rows: int = 128, seed: int = 4) -> torch.Tensor:
    return torch.randn(rows, 12 * 3 + EXTRA, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("conv", [0, 1], ids=["read by a convolution", "read by a linear layer"])
def test_widening_a_convolution_keeps_the_function(conv: int) -> None:
    arch, module = seeing(normalize=True)
    module[0].observe(pictures())
    result = widen_conv(arch, module, conv, 9, generator=torch.Generator().manual_seed(0))
    layers = [layer for layer in result.architecture.layers if layer.kind == "conv"]
    assert layers[conv].out_channels == 9
    assert max_change(module, result.module, pictures(seed=9)) <= 1e-6
    with torch.no_grad():  # the new filters are live: they see, only nobody reads them yet
        grown = result.module[: 2 + conv](pictures())
    assert grown.shape[1] == layers[conv].out_features


def test_the_optimiser_follows_and_training_goes_on() -> None:
    arch, module = seeing()
    x = pictures(256)
    y = torch.stack([x[:, :36].mean(1), x[:, 36:].sum(1)], dim=1)
    optimizer = torch.optim.Adam(module.parameters(), lr=3e-3)

    def train(net: torch.nn.Module, opt: torch.optim.Optimizer, steps: int) -> float:
        for _ in range(steps):
            loss = (net(x) - y).square().mean()
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
        return float(loss.detach())

    before = train(module, optimizer, 60)
    result = widen_conv(arch, module, 1, 10, generator=torch.Generator().manual_seed(1))
    carried = carry_optimizer_state(optimizer, result.module, result.state_map)
    moved = carried.state[result.module[1].weight]["exp_avg"]
    assert torch.equal(moved[:6], optimizer.state[module[1].weight]["exp_avg"])
    assert not moved[6:].any()
    assert train(result.module, carried, 100) < before


def test_a_grown_seeing_network_saves_and_loads(tmp_path: Path) -> None:
    arch, module = seeing()
    result = widen_conv(arch, module, 0, 7, generator=torch.Generator().manual_seed(2))
    path = tmp_path / "wider.atrapnet"
    save_network(path, result.module, manifest(result.architecture))
    loaded = load_network(path)
    assert loaded.manifest.architecture == result.architecture
    assert max_change(result.module, loaded.module, pictures()) == 0.0


def test_refusals_name_what_is_wrong() -> None:
    arch, module = seeing()
    generator = torch.Generator()
    with pytest.raises(ValueError, match="convolution 2 does not exist: the network has 2"):
        widen_conv(arch, module, 2, 9, generator=generator)
    with pytest.raises(ValueError, match="it already has 4"):
        widen_conv(arch, module, 0, 4, generator=generator)
