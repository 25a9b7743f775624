"""Small networks and data shared by the architect's tests."""

from __future__ import annotations

import torch

from atrap_studio.runtime.netfile import NetManifest, PortMeaning
from atrap_studio.runtime.networks import Architecture, build_module, mlp


def network(
    activation: str = "relu", hidden: tuple[int, ...] = (8, 6), *, normalize: bool = False
) -> tuple[Architecture, torch.nn.Sequential]:
    """A 3 → hidden → 2 MLP with torch's default init (non-zero biases, a visible output)."""
    arch = mlp(
        3,
        list(hidden),
        2,
        activation=activation,
        output_activation=None,
        normalize_inputs=normalize,
    )
    return arch, build_module(arch, init="default", generator=torch.Generator().manual_seed(1))


def inputs(rows: int = 256, seed: int = 2) -> torch.Tensor:
    return torch.randn(rows, 3, generator=torch.Generator().manual_seed(seed)) * 2.0


def target(x: torch.Tensor) -> torch.Tensor:
    """A smooth regression task for the networks above."""
    return torch.stack([torch.sin(x[:, 0]) * x[:, 1], torch.cos(x[:, 2]) - 0.3 * x[:, 0]], dim=1)


def max_change(a: torch.nn.Module, b: torch.nn.Module, x: torch.Tensor) -> float:
    with torch.no_grad():
        return float((a(x) - b(x)).abs().max())


def manifest(arch: Architecture) -> NetManifest:
    return NetManifest(
        architecture=arch,
        inputs=[PortMeaning(node="x", type="sensor.test", size=arch.inputs)],
        outputs=[PortMeaning(node="y", type="action.test", size=arch.outputs)],
    )
