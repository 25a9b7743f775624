"""Architectures as data and the module factory: validation, naming, determinism, init."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
import torch
from pydantic import ValidationError

from atrap_studio.runtime.networks import (
    ACTIVATIONS,
    INITS,
    Architecture,
    Layer,
    LayerKind,
    Normalize,
    build_module,
    mlp,
)


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_layer_kinds_are_linear_conv_layernorm_normalize_and_the_activations() -> None:
    expected = {"linear", "conv", "layernorm", "normalize", *ACTIVATIONS}
    assert set(typing.get_args(LayerKind)) == expected


def test_normalize_learns_the_statistics_of_everything_it_was_shown() -> None:
    arch = mlp(3, [8], 2, normalize_inputs=True)
    assert [layer.kind for layer in arch.layers][:2] == ["normalize", "linear"]
    module = build_module(arch, generator=torch.Generator().manual_seed(0))
    assert set(module.state_dict()) == set(arch.parameter_shapes())
    normalize = module[0]
    assert isinstance(normalize, Normalize)
    assert not list(normalize.parameters())  # statistics are buffers: no gradient moves them
    generator = torch.Generator().manual_seed(1)
    batches = [torch.randn(n, 3, generator=generator) * 5 + 2 for n in (7, 300, 41)]
    for batch in batches:
        normalize.observe(batch)
    everything = torch.cat(batches).double()
    torch.testing.assert_close(normalize.mean.double(), everything.mean(0), rtol=0, atol=1e-5)
    torch.testing.assert_close(
        normalize.var.double(), everything.var(0, unbiased=False), rtol=1e-5, atol=1e-5
    )
    assert float(normalize.count[0]) == 348
    scaled = normalize(everything.float())
    assert (
        float(scaled.mean(0).abs().max()) < 1e-4 and float(scaled.std(0).sub(1).abs().max()) < 0.01
    )
    assert float(normalize(torch.full((1, 3), 1e9)).max()) == 10.0  # clipped


def test_a_network_file_keeps_the_statistics(tmp_path: Path) -> None:
    from atrap_studio.runtime.netfile import NetManifest, PortMeaning, load_network, save_network

    arch = mlp(3, [8], 2, normalize_inputs=True)
    module = build_module(arch, generator=torch.Generator().manual_seed(0))
    module[0].observe(torch.randn(100, 3) * 7)  # type: ignore[operator]
    manifest = NetManifest(
        architecture=arch,
        inputs=[PortMeaning(node="q", type="sensor.joint_angles", size=3)],
        outputs=[PortMeaning(node="m", type="action.joint_targets", size=2)],
    )
    save_network(tmp_path / "n.atrapnet", module, manifest)
    loaded = load_network(tmp_path / "n.atrapnet").module
    probe = torch.randn(20, 3) * 7
    torch.testing.assert_close(loaded(probe), module(probe), rtol=0, atol=0)


def test_mlp_chains_sizes() -> None:
    arch = mlp(9, [128, 64], 6, activation="relu", output_activation=None)
    assert [layer.kind for layer in arch.layers] == ["linear", "relu", "linear", "relu", "linear"]
    sizes = [(ly.in_features, ly.out_features) for ly in arch.layers if ly.kind == "linear"]
    assert sizes == [(9, 128), (128, 64), (64, 6)]
    assert (arch.inputs, arch.outputs) == (9, 6)
    assert mlp(3, [], 2).layers[-1].kind == "tanh"


def test_parameter_shapes_and_count() -> None:
    arch = mlp(9, [128, 128], 6)
    assert arch.parameter_shapes() == {
        "0.weight": (128, 9),
        "0.bias": (128,),
        "2.weight": (128, 128),
        "2.bias": (128,),
        "4.weight": (6, 128),
        "4.bias": (6,),
    }
    assert arch.parameter_count() == 9 * 128 + 128 + 128 * 128 + 128 + 128 * 6 + 6


def test_mlp_refuses_unknown_activation() -> None:
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        mlp(3, [4], 2, activation="swish")
    with pytest.raises(ValueError, match="unknown output_activation"):
        mlp(3, [4], 2, output_activation="softmax")


def _linear(n_in: int, n_out: int) -> dict[str, object]:
    return {"kind": "linear", "in_features": n_in, "out_features": n_out}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"inputs": 3, "outputs": 2, "layers": [_linear(3, 4), _linear(5, 2)]},
            "layers.1: linear in_features is 5 but the width there is 4",
        ),
        (
            {"inputs": 3, "outputs": 2, "layers": [_linear(4, 2)]},
            "in_features is 4 but the width there is 3 \\(from inputs\\)",
        ),
        (
            {"inputs": 3, "outputs": 5, "layers": [_linear(3, 2)]},
            "ends with width 2 .* but outputs is 5",
        ),
        ({"inputs": 3, "outputs": 3, "layers": [{"kind": "tanh"}]}, "at least one linear"),
        (
            {"inputs": 3, "outputs": 2, "layers": [_linear(3, 2), {"kind": "conv2d"}]},
            "layers.1.kind",
        ),
        (
            {"inputs": 3, "outputs": 3, "layers": [_linear(3, 3)] * 65},
            "at most 64 items",
        ),
        (
            {"inputs": 3, "outputs": 2, "layers": [{"kind": "linear", "in_features": 3}]},
            "needs both in_features and out_features",
        ),
        (
            {
                "inputs": 3,
                "outputs": 2,
                "layers": [_linear(3, 2), {"kind": "relu", "in_features": 2}],
            },
            "has no sizes",
        ),
        (
            {
                "inputs": 3,
                "outputs": 2,
                "layers": [_linear(3, 4), {"kind": "layernorm", "in_features": 3}, _linear(4, 2)],
            },
            "layernorm in_features is 3 but the width there is 4",
        ),
        (
            {"inputs": 3, "outputs": 70_000, "layers": [_linear(3, 70_000)]},
            "less than or equal to 65536",
        ),
        ({"inputs": 0, "outputs": 2, "layers": [_linear(0, 2)]}, "greater than or equal to 1"),
        ({"inputs": "3", "outputs": 2, "layers": [_linear(3, 2)]}, "inputs"),
        ({"inputs": True, "outputs": 2, "layers": [_linear(3, 2)]}, "inputs"),
        ({"inputs": 3, "outputs": 2, "layers": [_linear(3, 2)], "extra": 1}, "extra"),
    ],
)
def test_invalid_architectures_are_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Architecture.model_validate(data)


def test_layernorm_is_allowed_and_built() -> None:
    arch = Architecture(
        inputs=3,
        outputs=2,
        layers=[
            Layer(kind="linear", in_features=3, out_features=4),
            Layer(kind="layernorm", in_features=4),
            Layer(kind="gelu"),
            Layer(kind="linear", in_features=4, out_features=2),
        ],
    )
    module = build_module(arch, generator=_seeded(0))
    assert isinstance(module[1], torch.nn.LayerNorm)
    shapes = {name: tuple(t.shape) for name, t in module.state_dict().items()}
    assert shapes == arch.parameter_shapes()


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("init", INITS)
def test_state_dict_matches_parameter_shapes(activation: str, init: str) -> None:
    arch = mlp(5, [7, 3], 2, activation=activation)
    module = build_module(arch, init=init, generator=_seeded(1))
    state = module.state_dict()
    assert list(state) == list(arch.parameter_shapes())
    assert {name: tuple(t.shape) for name, t in state.items()} == arch.parameter_shapes()
    assert all(t.dtype == torch.float32 and torch.isfinite(t).all() for t in state.values())
    assert module(torch.randn(11, 5)).shape == (11, 2)


@pytest.mark.parametrize("init", INITS)
def test_same_seed_same_weights_different_seed_different(init: str) -> None:
    arch = mlp(9, [32, 32], 6)
    first = build_module(arch, init=init, generator=_seeded(7)).state_dict()
    again = build_module(arch, init=init, generator=_seeded(7)).state_dict()
    other = build_module(arch, init=init, generator=_seeded(8)).state_dict()
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not torch.equal(first["0.weight"], other["0.weight"])


@pytest.mark.parametrize("init", INITS)
def test_global_rng_untouched(init: str) -> None:
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    build_module(mlp(9, [64], 6), init=init, generator=_seeded(0))
    build_module(mlp(9, [64], 6), init=init)  # no generator: a private one, still not global
    assert torch.equal(before, torch.random.get_rng_state())


def test_no_generator_gives_fresh_weights() -> None:
    arch = mlp(4, [16], 2)
    assert not torch.equal(build_module(arch)[0].weight, build_module(arch)[0].weight)


@pytest.mark.parametrize("init", ["orthogonal", "xavier", "kaiming"])
def test_initial_outputs_are_small_and_biases_zero(init: str) -> None:
    module = build_module(mlp(9, [128, 128], 6), init=init, generator=_seeded(0))
    outputs = module(torch.randn(1000, 9, generator=_seeded(1)))
    assert outputs.abs().max() < 0.1
    assert all(not t.any() for name, t in module.state_dict().items() if name.endswith("bias"))


def test_orthogonal_gains() -> None:
    module = build_module(mlp(8, [8, 8], 8, activation="relu"), generator=_seeded(0))
    eye = torch.eye(8)
    w0, w4 = module[0].weight, module[4].weight
    torch.testing.assert_close(w0 @ w0.T, 2.0 * eye, atol=1e-5, rtol=0)  # gain sqrt(2)
    torch.testing.assert_close(w4 @ w4.T, 1e-4 * eye, atol=1e-8, rtol=0)  # last layer 0.01
    tanh_net = build_module(mlp(8, [8], 8), generator=_seeded(0))
    w = tanh_net[0].weight
    torch.testing.assert_close(w @ w.T, (5 / 3) ** 2 * eye, atol=1e-5, rtol=0)


def test_unknown_init_refused() -> None:
    with pytest.raises(ValueError, match="unknown init 'he'"):
        build_module(mlp(2, [2], 2), init="he")
