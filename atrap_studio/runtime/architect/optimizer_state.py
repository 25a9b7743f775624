"""The optimiser's state follows a structural change: nothing restarts.

Adam's moments are per entry, so after a change each kept weight keeps its own history. A new
entry starts with zero momentum; its second moment starts at the old tensor's mean (or, for a
copied neuron, its source's), not at zero: Adam divides by the root of that moment with the
tensor's old step count, so a zero there would make the new entry's first steps 3 to 6.5 times
the learning rate.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from atrap_studio.runtime.architect.surgery import Origin, StateMap

#: Per-entry state that is a running mean of squared gradients (a scale, not a direction).
SECOND_MOMENTS = frozenset({"exp_avg_sq", "max_exp_avg_sq", "square_avg", "sum"})


def carry_optimizer_state(
    old: torch.optim.Optimizer, new_module: torch.nn.Module, mapping: StateMap
) -> torch.optim.Optimizer:
    """A new optimiser of the same kind and settings over ``new_module`` in place of the old
    module's parameters, with the old state carried entry by entry (see the module docstring).

    Parameters of the old optimiser that are not the old module's (a critic, a log-std) stay,
    with their state, in their groups and order; the new module's parameters take the old
    module's place in each group; brand-new tensors join the group of the old module's first
    parameter and start with empty state (their own step count from zero).

    Raises:
        ValueError: none of the old module's parameters is in the optimiser.
    """
    old_names = {id(param): name for name, param in mapping.old.items()}
    group_of: dict[str, int] = {}
    for index, group in enumerate(old.param_groups):
        for param in group["params"]:
            if id(param) in old_names:
                group_of[old_names[id(param)]] = index
    if not group_of:
        raise ValueError("the optimiser holds none of the old module's parameters")
    home = group_of[next(name for name in mapping.old if name in group_of)]
    new_params = dict(new_module.named_parameters())
    members: dict[int, list[torch.nn.Parameter]] = {i: [] for i in range(len(old.param_groups))}
    for name, param in new_params.items():
        origin = mapping.origins.get(name)
        members[group_of.get(origin.source, home) if origin else home].append(param)
    groups = []
    for index, group in enumerate(old.param_groups):
        params: list[torch.nn.Parameter] = []
        placed = False
        for param in group["params"]:
            if id(param) not in old_names:
                params.append(param)
            elif not placed:
                params.extend(members[index])
                placed = True
        if not placed:
            params.extend(members[index])
        groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": params})
    # Each group already holds every setting; the constructor takes the defaults it names
    # (AdamW keeps one in its defaults that its constructor does not accept).
    accepted = inspect.signature(type(old).__init__).parameters
    new = type(old)(groups, **{k: v for k, v in old.defaults.items() if k in accepted})
    for param in (p for group in groups for p in group["params"]):
        if id(param) in old_names:
            continue
        if param in old.state:
            new.state[param] = dict(old.state[param])
    for name, param in new_params.items():
        origin = mapping.origins.get(name)
        if origin is None:
            continue
        source = mapping.old[origin.source]
        if old.state.get(source):
            new.state[param] = _carried(old.state[source], source, origin)
    return new


def _carried(state: dict[str, Any], source: torch.Tensor, origin: Origin) -> dict[str, Any]:
    kept, taken = origin.kept(), origin.index >= 0
    carried: dict[str, Any] = {}
    for key, value in state.items():
        if not isinstance(value, torch.Tensor) or value.shape != source.shape:
            carried[key] = value.clone() if isinstance(value, torch.Tensor) else value
            continue
        flat = value.detach().reshape(-1)
        gathered = flat[origin.index.clamp(min=0).reshape(-1)].reshape(origin.index.shape)
        if key in SECOND_MOMENTS:
            fill = flat.mean() if flat.numel() else flat.new_zeros(())
            carried[key] = torch.where(taken, gathered, fill)
        else:
            carried[key] = torch.where(kept, gathered, torch.zeros_like(gathered))
    return carried
