"""The optimiser's state follows each structural change, and training goes on from there."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
import torch

from atrap_studio.runtime.architect.links import LinkMasks, cut_links, restore_links
from atrap_studio.runtime.architect.optimizer_state import carry_optimizer_state
from atrap_studio.runtime.architect.surgery import (
    Surgery,
    insert_layer,
    narrow,
    remove_layer,
    widen,
)
from atrap_studio.runtime.networks import Architecture

from .nets import inputs, network, target

Operation = Callable[[Architecture, torch.nn.Sequential, torch.Tensor], Surgery]

OPERATIONS: dict[str, Operation] = {
    "widen split": lambda a, m, x: widen(a, m, 0, 12, generator=torch.Generator().manual_seed(0)),
    "widen fresh": lambda a, m, x: widen(
        a, m, 1, 9, generator=torch.Generator().manual_seed(0), method="fresh"
    ),
    "narrow": lambda a, m, x: narrow(a, m, 0, 5, inputs=x),
    "insert": lambda a, m, x: insert_layer(a, m, 0),
    "remove": lambda a, m, x: remove_layer(a, m, 1, inputs=x),
    "cut": lambda a, m, x: cut_links(a, m, LinkMasks(), 1, [(0, 0), (2, 3)], inputs=x)[0],
}


def train(
    module: torch.nn.Module, optimizer: torch.optim.Optimizer, steps: int, seed: int
) -> list[float]:
    generator = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        x = torch.randn(64, 3, generator=generator) * 2.0
        loss = (module(x) - target(x)).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def trained(activation: str = "silu") -> tuple[Architecture, torch.nn.Sequential, torch.optim.Adam]:
    arch, module = network(activation)
    optimizer = torch.optim.Adam(module.parameters(), lr=3e-3)
    train(module, optimizer, 40, seed=0)
    return arch, module, optimizer


@pytest.mark.parametrize("name", OPERATIONS)
def test_training_goes_on_after_each_operation(name: str) -> None:
    arch, module, optimizer = trained()
    before = train(module, optimizer, 20, seed=1)
    result = OPERATIONS[name](arch, module, inputs())
    carried = carry_optimizer_state(optimizer, result.module, result.state_map)
    assert {id(p) for g in carried.param_groups for p in g["params"]} == {
        id(p) for p in result.module.parameters()
    }
    after = train(result.module, carried, 100, seed=2)
    assert all(torch.isfinite(torch.tensor(after)))
    # the loss keeps falling: the last stretch is below the stretch before the change
    assert sum(after[-20:]) / 20 < sum(before) / 20


def test_kept_weights_keep_their_state_and_new_ones_start_at_zero() -> None:
    arch, module, optimizer = trained("relu")
    result = widen(arch, module, 0, 11, generator=torch.Generator().manual_seed(4))
    carried = carry_optimizer_state(optimizer, result.module, result.state_map)
    old = optimizer.state[module[0].weight]
    new = carried.state[result.module[0].weight]
    assert torch.equal(new["exp_avg"][:8], old["exp_avg"])  # the 8 old neurons, unchanged
    assert torch.equal(new["exp_avg_sq"][:8], old["exp_avg_sq"])
    assert torch.equal(new["step"], old["step"])
    assert not new["exp_avg"][8:].any()  # the 3 copies: fresh momentum...
    copies = result.state_map.origins["0.weight"].index[8:, 0] // 3
    assert torch.equal(new["exp_avg_sq"][8:], old["exp_avg_sq"][copies])  # ...source's scale
    # the next layer's columns: old ones carried, the copies' columns fresh
    old_next = optimizer.state[module[2].weight]
    new_next = carried.state[result.module[2].weight]
    assert torch.equal(new_next["exp_avg"][:, :8], old_next["exp_avg"])
    assert not new_next["exp_avg"][:, 8:].any()
    assert new_next["exp_avg"].shape == result.module[2].weight.shape
    # a layer the change did not touch carries everything
    assert torch.equal(
        carried.state[result.module[4].bias]["exp_avg"], optimizer.state[module[4].bias]["exp_avg"]
    )


def test_narrow_carries_the_kept_neurons_state() -> None:
    arch, module, optimizer = trained()
    result = narrow(arch, module, 1, 4, inputs=inputs())
    carried = carry_optimizer_state(optimizer, result.module, result.state_map)
    kept = result.state_map.origins["2.bias"].index
    assert torch.equal(
        carried.state[result.module[2].bias]["exp_avg"],
        optimizer.state[module[2].bias]["exp_avg"][kept],
    )
    assert carried.state[result.module[4].weight]["exp_avg"].shape == (2, 4)


def test_an_inserted_layer_starts_with_empty_state_and_later_layers_move_along() -> None:
    arch, module, optimizer = trained()
    result = insert_layer(arch, module, 0)
    carried = carry_optimizer_state(optimizer, result.module, result.state_map)
    assert result.module[2].weight not in carried.state  # Adam starts it at step 0 itself
    # silu: the next layer reads neuron pairs (h, -h); each old column keeps its history, its
    # mirrored copy starts with no momentum and the column's second moment
    moved, old = carried.state[result.module[4].weight], optimizer.state[module[2].weight]
    width = old["exp_avg"].shape[1]
    assert torch.equal(moved["exp_avg"][:, :width], old["exp_avg"])
    assert not moved["exp_avg"][:, width:].any()
    assert torch.equal(moved["exp_avg_sq"][:, width:], old["exp_avg_sq"])


def test_other_parameters_of_the_optimiser_stay_in_their_groups_with_their_state() -> None:
    """PPO's optimiser: group 0 the policy network and a log-std, group 1 the critic."""
    arch, module = network("tanh")
    log_std = torch.nn.Parameter(torch.zeros(2))
    critic = torch.nn.Linear(3, 1)
    optimizer = torch.optim.Adam(
        [{"params": [*module.parameters(), log_std]}, {"params": critic.parameters(), "lr": 1e-4}],
        lr=3e-3,
        eps=1e-5,
    )
    x = inputs(64)
    loss = (
        (module(x) - target(x)).square().mean() + log_std.square().sum() + critic(x).square().mean()
    )
    loss.backward()
    optimizer.step()
    result = widen(arch, module, 1, 10, generator=torch.Generator().manual_seed(0))
    carried = carry_optimizer_state(optimizer, result.module, result.state_map)
    policy, value = carried.param_groups
    assert [id(p) for p in policy["params"]] == [
        *(id(p) for p in result.module.parameters()),
        id(log_std),
    ]
    assert [id(p) for p in value["params"]] == [id(p) for p in critic.parameters()]
    assert value["lr"] == 1e-4 and policy["eps"] == 1e-5
    assert torch.equal(carried.state[log_std]["exp_avg"], optimizer.state[log_std]["exp_avg"])


def test_an_optimiser_without_the_module_is_refused() -> None:
    arch, module = network()
    other = torch.optim.Adam(torch.nn.Linear(2, 2).parameters())
    result = widen(arch, module, 0, 9, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="none of the old module's parameters"):
        carry_optimizer_state(other, result.module, result.state_map)


def test_split_copies_drift_apart_in_training() -> None:
    """The copies of a split neuron start identical; zero momentum for the copies is what
    breaks the symmetry."""
    arch, module, optimizer = trained("tanh")
    result = widen(arch, module, 0, 16, generator=torch.Generator().manual_seed(0))
    carried = carry_optimizer_state(optimizer, result.module, result.state_map)
    sources = result.state_map.origins["0.bias"].index[8:]
    train(result.module, carried, 100, seed=3)
    with torch.no_grad():
        weight = result.module[0].weight
        gap = (weight[8:] - weight[sources]).abs().max(dim=1).values
    assert bool((gap > 1e-3).all())


def test_restored_links_start_from_zero_and_learn() -> None:
    arch, module, optimizer = trained()
    masks = LinkMasks()
    cut, masks = cut_links(arch, module, masks, 0, [(1, 2)], inputs=inputs())
    optimizer = carry_optimizer_state(optimizer, cut.module, cut.state_map)
    restored, masks = restore_links(cut.architecture, cut.module, masks, 0, [(1, 2)])
    assert masks.count() == 0
    carried = carry_optimizer_state(optimizer, restored.module, restored.state_map)
    assert float(restored.module[0].weight.detach()[1, 2]) == 0.0
    assert float(carried.state[restored.module[0].weight]["exp_avg"][1, 2]) == 0.0
    train(restored.module, carried, 20, seed=4)
    assert float(restored.module[0].weight.detach()[1, 2]) != 0.0


@pytest.mark.parametrize(
    ("make", "first", "second"),
    [
        (lambda p: torch.optim.SGD(p, lr=1e-2, momentum=0.9), "momentum_buffer", None),
        (lambda p: torch.optim.AdamW(p, lr=1e-3, amsgrad=True), "exp_avg", "max_exp_avg_sq"),
    ],
)
def test_other_optimisers_carry_their_own_state(
    make: Callable[[object], torch.optim.Optimizer], first: str, second: str | None
) -> None:
    arch, module = network("relu")
    optimizer = make(module.parameters())
    train(module, optimizer, 5, seed=0)
    result = widen(arch, module, 0, 10, generator=torch.Generator().manual_seed(0), method="fresh")
    carried = carry_optimizer_state(optimizer, result.module, result.state_map)
    assert type(carried) is type(optimizer) and carried.defaults == optimizer.defaults
    old, new = optimizer.state[module[0].weight], carried.state[result.module[0].weight]
    assert torch.equal(new[first][:8], old[first]) and not new[first][8:].any()
    if second is not None:  # a new entry's scale: the tensor's mean, not zero
        assert torch.equal(new[second][:8], old[second])
        assert torch.allclose(new[second][8:], old[second].mean().expand(2, 3))
    train(result.module, carried, 5, seed=1)


def test_a_carried_optimiser_checkpoints_into_one_built_afresh_over_the_new_module() -> None:
    """What a resume does: a new Adam over the rebuilt module loads the carried state."""
    arch, module, optimizer = trained()
    result = insert_layer(arch, module, 1)
    carried = carry_optimizer_state(optimizer, result.module, result.state_map)
    train(result.module, carried, 3, seed=5)
    twin = copy.deepcopy(result.module)
    resumed = torch.optim.Adam(twin.parameters(), lr=3e-3)
    resumed.load_state_dict(copy.deepcopy(carried.state_dict()))  # as if from a file
    assert train(result.module, carried, 5, seed=6) == train(twin, resumed, 5, seed=6)
