"""Structural operations: what each preserves, measured on random inputs."""

from __future__ import annotations

import pytest
import torch

from atrap_studio.runtime.architect.surgery import (
    hidden_widths,
    insert_layer,
    narrow,
    neuron_importance,
    remove_layer,
    widen,
)
from atrap_studio.runtime.networks import ACTIVATIONS, Architecture, Layer, build_module

from .nets import inputs, max_change, network

SEED = torch.Generator().manual_seed


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("method", ["split", "fresh"])
def test_widen_preserves_the_function(activation: str, method: str) -> None:
    arch, module = network(activation)
    x = inputs()
    for hidden, width in ((0, 13), (1, 20)):
        result = widen(arch, module, hidden, width, generator=SEED(3), method=method)
        assert hidden_widths(result.architecture)[hidden] == width
        assert max_change(module, result.module, x) <= 1e-6


def test_widen_keeps_the_input_normaliser_and_the_old_module() -> None:
    arch, module = network("silu", normalize=True)
    module[0].observe(inputs(seed=9) + 4.0)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    result = widen(arch, module, 0, 11, generator=SEED(0))
    assert torch.equal(result.module[0].mean, module[0].mean)
    assert max_change(module, result.module, inputs()) <= 1e-6
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())


def test_narrow_changes_exactly_what_it_removed_beyond_the_mean() -> None:
    """The output layer is linear, so the change equals w_out[:, removed] (h - mean h)."""
    arch, module = network("tanh")
    x = inputs()
    result = narrow(arch, module, 1, 4, inputs=x)
    assert hidden_widths(result.architecture) == [8, 4]
    kept = result.state_map.origins["2.weight"].index[:, 0] // 8  # kept rows of layer 2
    removed = sorted(set(range(6)) - set(kept.tolist()))
    with torch.no_grad():
        h = module[:4](x)
        w_out = module[4].weight
        predicted = (h[:, removed] - h[:, removed].mean(0)) @ w_out[:, removed].T
        change = result.module(x) - module(x)
    assert torch.allclose(change, -predicted, atol=1e-5)


def test_narrow_by_importance_changes_less_than_dropping_the_most_important() -> None:
    arch, module = network("relu", (16, 6))
    x = inputs()
    importance, _ = neuron_importance(arch, module, 0, x)
    kept_by_us = narrow(arch, module, 0, 10, inputs=x)
    ours = max_change(module, kept_by_us.module, x)
    # the same removal size, but of the most important neurons: the measure must matter
    flipped = importance.argsort(descending=True)[:6]
    with torch.no_grad():
        crippled = network("relu", (16, 6))[1]
        crippled.load_state_dict(module.state_dict())
        crippled[2].weight[:, flipped] = 0.0
    assert ours < max_change(module, crippled, x) / 2


EXACT_INSERT = ("relu", "elu", "leaky_relu", "silu", "gelu")
#: Activations whose exact identity is a layer of neuron pairs (h, -h): twice the width.
PAIRED = ("leaky_relu", "silu", "gelu")


@pytest.mark.parametrize("activation", EXACT_INSERT)
def test_insert_is_exactly_the_identity_for_activations_that_allow_it(activation: str) -> None:
    arch, module = network(activation)
    x = inputs()
    result = insert_layer(arch, module, 0)
    paired = activation in PAIRED
    assert hidden_widths(result.architecture) == [8, 16 if paired else 8, 6]
    assert [layer.kind for layer in result.architecture.layers[2:4]] == ["linear", activation]
    assert max_change(module, result.module, x) <= 1e-6
    far = inputs(seed=7) * 50  # far outside anything seen: still exact (no shift, no margin)
    with torch.no_grad():
        scale = float(module(far).abs().max())
    assert max_change(module, result.module, far) <= 1e-5 * scale


def test_an_inserted_silu_layer_leaves_the_next_layers_inputs_their_size() -> None:
    """No shift: the next layer reads values the size the old layer gave it, so Adam's steps
    on its weights keep their size (a shift of 20 blew the arm's training up)."""
    arch, module = network("silu")
    x = inputs()
    result = insert_layer(arch, module, 0)
    with torch.no_grad():
        before = module[:2](x).abs().max()
        after = result.module[:4](x).abs().max()
    assert after <= before * 1.5


@pytest.mark.parametrize(("activation", "bound"), [("tanh", 0.05), ("sigmoid", 0.05)])
def test_insert_after_a_squashing_activation_changes_a_little(
    activation: str, bound: float
) -> None:
    arch, module = network(activation)
    x = inputs()
    with torch.no_grad():
        scale = float(module(x).abs().mean())
    change = max_change(module, insert_layer(arch, module, 1).module, x)
    assert 0.0 < change <= bound * scale


def test_remove_undoes_an_insert_exactly() -> None:
    arch, module = network("relu")
    x = inputs()
    grown = insert_layer(arch, module, 0)
    back = remove_layer(grown.architecture, grown.module, 1, inputs=x)
    assert back.architecture == arch
    assert max_change(module, back.module, inputs(seed=5)) <= 1e-5


def test_remove_refits_the_next_layer_better_than_dropping_the_layer() -> None:
    arch, module = network("tanh", (8, 8))
    x = inputs(512)
    result = remove_layer(arch, module, 1, inputs=x)
    assert hidden_widths(result.architecture) == [8]
    with torch.no_grad():
        scale = float(module(x).std())
    assert max_change(module, result.module, x) < 3 * scale  # bounded
    # a plain skip (the output layer reading layer 0 as if it were layer 1) is worse
    with torch.no_grad():
        naive = torch.nn.Sequential(*module[:2], module[4])
        error_fit = (result.module(x) - module(x)).square().mean()
        error_naive = (naive(x) - module(x)).square().mean()
    assert error_fit < error_naive / 2


def test_remove_needs_enough_inputs() -> None:
    arch, module = network("relu")
    with pytest.raises(ValueError, match="more than 8 sample inputs"):
        remove_layer(arch, module, 1, inputs=inputs(8))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda a, m: widen(a, m, 0, 8, generator=SEED(0)), "already has 8"),
        (lambda a, m: widen(a, m, 2, 9, generator=SEED(0)), "hidden layer 2 does not exist"),
        (lambda a, m: narrow(a, m, 0, 0, inputs=inputs()), "choose 1 to 7"),
        (lambda a, m: narrow(a, m, 0, 8, inputs=inputs()), "choose 1 to 7"),
    ],
)
def test_bad_requests_are_refused_clearly(call: object, message: str) -> None:
    arch, module = network()
    with pytest.raises(ValueError, match=message):
        call(arch, module)  # type: ignore[operator]


def test_a_layer_norm_inside_the_block_is_refused() -> None:
    arch = Architecture(
        inputs=3,
        outputs=2,
        layers=[
            Layer(kind="linear", in_features=3, out_features=8),
            Layer(kind="layernorm", in_features=8),
            Layer(kind="relu"),
            Layer(kind="linear", in_features=8, out_features=2),
        ],
    )
    module = build_module(arch, generator=SEED(0))
    with pytest.raises(ValueError, match="linear → layernorm → relu"):
        widen(arch, module, 0, 9, generator=SEED(0))
