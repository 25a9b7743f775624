"""The ``nn.factory`` node: builds an MLP whose sizes were inferred from its links."""

from __future__ import annotations

import torch

from atrap_studio.runtime.context import NodeContext
from atrap_studio.runtime.networks import Architecture, build_module, mlp


class NNFactory:
    """Holds the architecture (as data) and builds the module, seeded and deterministic."""

    def __init__(self, ctx: NodeContext) -> None:
        props = ctx.props
        self.ctx = ctx
        self.architecture: Architecture = mlp(
            ctx.inputs["state"][0],
            props["hidden"],
            ctx.outputs["action"][0],
            activation=props["activation"],
            output_activation=None if props["output"] == "linear" else props["output"],
        )

    def build(self, seed: int) -> torch.nn.Sequential:
        generator = torch.Generator().manual_seed(seed)
        return build_module(self.architecture, init=self.ctx.props["init"], generator=generator)
