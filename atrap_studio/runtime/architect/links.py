"""Single links cut and restored: a mask that holds chosen weights of a linear layer at zero.

The architecture stays the same (a cut link is a zero weight), so a network with cut links
saves and loads as any other; the mask itself is plain data (:meth:`LinkMasks.as_data`) that a
manifest or checkpoint can carry, and it follows structural changes through a StateMap.
"""

from __future__ import annotations

import copy

import torch

from atrap_studio.runtime.architect.surgery import (
    Origin,
    StateMap,
    Surgery,
    linear_positions,
)
from atrap_studio.runtime.networks import Architecture

Link = tuple[int, int]  # (output neuron, input neuron) of one linear layer


class LinkMasks:
    """Which weights are cut, by parameter name (``"{position}.weight"``).

    A trainer calls :meth:`apply` after every optimiser step: the step may have moved a cut
    weight (its gradient is not blocked), and apply puts it back to zero before the next
    forward pass, so the network never computes through a cut link.
    """

    def __init__(self, cut: dict[str, torch.Tensor] | None = None) -> None:
        self.cut: dict[str, torch.Tensor] = {k: v.clone() for k, v in (cut or {}).items()}

    def count(self) -> int:
        """Number of cut links."""
        return sum(int(mask.sum()) for mask in self.cut.values())

    @torch.no_grad()
    def apply(self, module: torch.nn.Module) -> None:
        """Zero every cut weight of ``module``."""
        params = dict(module.named_parameters())
        for name, mask in self.cut.items():
            params[name].masked_fill_(mask.to(params[name].device), 0.0)

    def follow(self, mapping: StateMap) -> LinkMasks:
        """The masks of the module a structural change made: a new entry is not cut; a copied
        neuron's entry is cut where its source's was."""
        cut: dict[str, torch.Tensor] = {}
        for name, origin in mapping.origins.items():
            old = self.cut.get(origin.source)
            if old is None:
                continue
            mask = old.to(origin.index.device).reshape(-1)[origin.index.clamp(min=0)]
            mask &= origin.index >= 0
            if bool(mask.any()):
                cut[name] = mask
        return LinkMasks(cut)

    def as_data(self) -> dict[str, list[list[int]]]:
        """JSON-ready: for each parameter, its cut links as [output, input] pairs."""
        return {
            name: [[int(o), int(i)] for o, i in mask.nonzero().tolist()]
            for name, mask in sorted(self.cut.items())
        }

    @classmethod
    def from_data(cls, data: dict[str, list[list[int]]], module: torch.nn.Module) -> LinkMasks:
        """Masks from :meth:`as_data`, checked against ``module``'s weights.

        Raises:
            ValueError: a name that is not a weight matrix of the module, or a link outside it.
        """
        params = dict(module.named_parameters())
        cut: dict[str, torch.Tensor] = {}
        for name, pairs in data.items():
            weight = params.get(name)
            if weight is None or weight.dim() != 2:
                raise ValueError(f"cut links name {name!r}, which is no weight matrix here")
            mask = torch.zeros(weight.shape, dtype=torch.bool, device=weight.device)
            for out, inp in pairs:
                if not (0 <= out < weight.shape[0] and 0 <= inp < weight.shape[1]):
                    raise ValueError(f"cut link {[out, inp]} lies outside {name!r}")
                mask[out, inp] = True
            cut[name] = mask
        return cls(cut)


def weakest_links(
    arch: Architecture,
    module: torch.nn.Sequential,
    linear: int,
    count: int,
    *,
    inputs: torch.Tensor,
    masks: LinkMasks,
) -> list[Link]:
    """The ``count`` uncut links of linear layer ``linear`` whose contribution varies least on
    ``inputs`` (``|w_oi| · std(a_i)``: what is lost when the link is cut and its mean folded)."""
    position = _position(arch, linear)
    with torch.no_grad():
        feeding = module[:position](inputs)
        weight = dict(module.named_parameters())[f"{position}.weight"]
        score = weight.abs() * feeding.std(dim=0, unbiased=False)[None, :]
    cut = masks.cut.get(f"{position}.weight")
    if cut is not None:
        score = score.masked_fill(cut, float("inf"))
    available = int(score.isfinite().sum())
    chosen = torch.topk(score.reshape(-1), min(count, available), largest=False).indices
    return [(int(i) // weight.shape[1], int(i) % weight.shape[1]) for i in chosen]


def cut_links(
    arch: Architecture,
    module: torch.nn.Sequential,
    masks: LinkMasks,
    linear: int,
    links: list[Link],
    *,
    inputs: torch.Tensor | None = None,
) -> tuple[Surgery, LinkMasks]:
    """Cut links of linear layer ``linear``; with ``inputs``, each link's mean contribution
    there is folded into its output neuron's bias. The cut weights' optimiser history is
    dropped (their entries count as new), so a later restore starts them afresh."""
    position = _position(arch, linear)
    name = f"{position}.weight"
    params = dict(module.named_parameters())
    weight = params[name].detach().clone()
    bias = params[f"{position}.bias"].detach().clone()
    chosen = _mask(weight, links)
    if inputs is not None:
        with torch.no_grad():
            mean = module[:position](inputs).mean(dim=0)
        bias += (weight * chosen) @ mean
    weight[chosen] = 0.0
    already = masks.cut.get(name, torch.zeros_like(chosen))
    new_masks = LinkMasks({**masks.cut, name: already | chosen})
    values = {name: weight, f"{position}.bias": bias}
    description = f"cut {int(chosen.sum())} links of linear layer {linear}"
    return _rewritten(arch, module, values, {name: chosen}, description), new_masks


def restore_links(
    arch: Architecture,
    module: torch.nn.Sequential,
    masks: LinkMasks,
    linear: int,
    links: list[Link],
) -> tuple[Surgery, LinkMasks]:
    """Restore cut links of linear layer ``linear``: they come back at weight zero (the
    function is unchanged) with fresh optimiser state, and learn from there."""
    position = _position(arch, linear)
    name = f"{position}.weight"
    chosen = _mask(dict(module.named_parameters())[name], links)
    was_cut = masks.cut.get(name, torch.zeros_like(chosen))
    if bool((chosen & ~was_cut).any()):
        stray = [tuple(pair) for pair in (chosen & ~was_cut).nonzero().tolist()]
        raise ValueError(f"links {stray} of linear layer {linear} are not cut")
    remaining = {k: v for k, v in masks.cut.items() if k != name}
    if bool((was_cut & ~chosen).any()):
        remaining[name] = was_cut & ~chosen
    description = f"restored {int(chosen.sum())} links of linear layer {linear}"
    return _rewritten(arch, module, {}, {name: chosen}, description), LinkMasks(remaining)


def _position(arch: Architecture, linear: int) -> int:
    positions = linear_positions(arch)
    if not 0 <= linear < len(positions):
        raise ValueError(
            f"linear layer {linear} does not exist: the network has {len(positions)} "
            "(numbered from 0)"
        )
    return positions[linear]


def _mask(weight: torch.Tensor, links: list[Link]) -> torch.Tensor:
    mask = torch.zeros(weight.shape, dtype=torch.bool, device=weight.device)
    for out, inp in links:
        if not (0 <= out < weight.shape[0] and 0 <= inp < weight.shape[1]):
            raise ValueError(f"link {(out, inp)} lies outside a {list(weight.shape)} layer")
        mask[out, inp] = True
    return mask


def _rewritten(
    arch: Architecture,
    module: torch.nn.Sequential,
    values: dict[str, torch.Tensor],
    fresh: dict[str, torch.Tensor],
    description: str,
) -> Surgery:
    """A copy of the module with some parameters replaced; entries in ``fresh`` count as new."""
    old_params = dict(module.named_parameters())
    state = {k: v.detach().clone() for k, v in module.state_dict().items()}
    state.update(values)
    origins = {}
    for name, param in old_params.items():
        index = torch.arange(param.numel(), device=param.device).reshape(param.shape)
        if name in fresh:
            index = index.masked_fill(fresh[name], -1)
        origins[name] = Origin(name, index, torch.zeros_like(index, dtype=torch.bool))
    new_module = copy.deepcopy(module)
    new_module.load_state_dict(state, strict=True)
    return Surgery(arch, new_module, StateMap(old_params, origins), description)
