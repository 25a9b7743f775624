"""Network nodes: a fresh network from the NN Factory, or one read from a file, and saving."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from atrap_studio.core.errors import RunError
from atrap_studio.runtime.architect.controller import ArchitectConfig
from atrap_studio.runtime.architect.growth import GrowthSettings
from atrap_studio.runtime.architect.steer import SizeBounds
from atrap_studio.runtime.context import NodeContext
from atrap_studio.runtime.netfile import PortMeaning, check_fits, load_network
from atrap_studio.runtime.networks import Architecture, build_module, mlp
from atrap_studio.runtime.provenance import Origin, ParentRef, parent_of, weights_digest


class NNFactory:
    """Holds the architecture (as data) and builds the module, seeded and deterministic."""

    origin: Origin = "trained"
    parents: tuple[ParentRef, ...] = ()

    def __init__(self, ctx: NodeContext) -> None:
        props = ctx.props
        self.ctx = ctx
        image = ctx.inputs.get("image")
        picture = (int(image[0]), int(image[1]), int(image[2])) if image else None
        self.architecture: Architecture = mlp(
            ctx.inputs["state"][0] + (math.prod(picture) if picture else 0),
            props["hidden"],
            ctx.outputs["action"][0],
            activation=props["activation"],
            output_activation=None if props["output"] == "linear" else props["output"],
            normalize_inputs=props["normalize_inputs"],
            image=picture,
            conv_channels=props["conv_channels"],
            conv_kernel=props["conv_kernel"],
            conv_stride=props["conv_stride"],
        )
        self.growth = growth_settings(props)

    def build(self, seed: int) -> torch.nn.Sequential:
        generator = torch.Generator().manual_seed(seed)
        return build_module(self.architecture, init=self.ctx.props["init"], generator=generator)

    def lineage(self, module: torch.nn.Module) -> str:
        return weights_digest(module)

    def check_fits(self, inputs: list[PortMeaning], outputs: list[PortMeaning]) -> None:
        """The factory sized the network from this very graph: it always fits."""


def growth_settings(props: dict[str, Any]) -> GrowthSettings | None:
    """The architect the factory's ``grow_*`` properties ask for (None: a fixed network)."""
    mode = props.get("grow", "off")
    if mode == "off":
        return None
    every = int(props["grow_every"])
    return GrowthSettings(
        mode=mode,
        config=ArchitectConfig(
            target=float(props["grow_target"]), warmup=min(100, every), cooldown=every
        ),
        bounds=SizeBounds(
            min_width=int(props["grow_min_width"]),
            max_width=int(props["grow_max_width"]),
            max_hidden_layers=int(props["grow_max_layers"]),
            step=float(props["grow_step"]),
        ),
        every=every,
    )


class NNLoad:
    """A network read from an ``.atrapnet`` file, checked against this graph, trained further.

    The file is read and checked completely when the run starts (format, limits, shapes,
    finite values); a file whose inputs or outputs mean other things than this graph's sensors
    and actions is refused with both listed.
    """

    origin: Origin = "imported"
    growth: GrowthSettings | None = None  # a received network keeps its shape

    def __init__(self, ctx: NodeContext) -> None:
        self.ctx = ctx
        self.path = resolve(ctx, ctx.props["file"])
        self.received = load_network(self.path)
        self.architecture: Architecture = self.received.manifest.architecture
        self.parents: tuple[ParentRef, ...] = (
            parent_of(self.path, self.received.manifest.provenance),
        )

    def build(self, seed: int) -> torch.nn.Sequential:
        """A copy of the received weights (the seed draws nothing: the weights are given)."""
        return copy.deepcopy(self.received.module)

    def lineage(self, module: torch.nn.Module) -> str:
        """The received network's lineage: training on continues the same family."""
        return self.received.manifest.provenance.lineage or weights_digest(module)

    def check_fits(self, inputs: list[PortMeaning], outputs: list[PortMeaning]) -> None:
        where = f"node '{self.ctx.id}': {self.path}"
        check_fits(where, self.received.manifest, inputs, outputs)


class NNMerge:
    """A network merged from several files when the run starts, then trained on."""

    growth: GrowthSettings | None = None  # a merged network keeps its shape

    def __init__(self, ctx: NodeContext) -> None:
        from atrap_studio.nodes import builtin_registry
        from atrap_studio.runtime.merge import load_sources, merge

        props = ctx.props
        self.ctx = ctx
        sources = load_sources([resolve(ctx, name) for name in props["files"]], builtin_registry())
        merged = merge(sources, props["method"], steps=props["distill_steps"], seed=ctx.seed)
        self.report = merged.report
        self.module = merged.module
        self.manifest = merged.manifest
        self.architecture: Architecture = merged.manifest.architecture
        self.origin: Origin = merged.manifest.provenance.origin
        self.parents: tuple[ParentRef, ...] = tuple(merged.manifest.provenance.parents)

    def build(self, seed: int) -> torch.nn.Sequential:
        return copy.deepcopy(self.module)

    def lineage(self, module: torch.nn.Module) -> str:
        return self.manifest.provenance.lineage or weights_digest(module)

    def check_fits(self, inputs: list[PortMeaning], outputs: list[PortMeaning]) -> None:
        check_fits(f"node '{self.ctx.id}' (merged)", self.manifest, inputs, outputs)


class NNSave:
    """Writes the trained network to a file every ``every`` updates (``{update}`` in the name
    keeps each one), inside the run's output folder (the spec refuses names outside it)."""

    def __init__(self, ctx: NodeContext) -> None:
        self.id = ctx.id
        self.every = int(ctx.props["every"])
        self.name = str(ctx.props["file"])
        self.saved: list[Path] = []

    def after_update(self, step: int, folder: Path, write: Callable[[Path], None]) -> None:
        """Called by the runner after every update; ``write(path)`` saves the network."""
        if step % self.every:
            return
        path = folder / self.name.replace("{update}", str(step))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write(path)
        except OSError as exc:
            raise RunError(
                f"node '{self.id}' cannot save the network to {path}: {exc.strerror or exc}"
            ) from exc
        self.saved.append(path)


def resolve(ctx: NodeContext, name: str) -> Path:
    """A file name from a property: relative names are read from the graph's folder."""
    if not name.strip():
        raise RunError(f"node '{ctx.id}' names no file: set its 'file' property")
    path = Path(name).expanduser()
    return path if path.is_absolute() else ctx.folder / path
