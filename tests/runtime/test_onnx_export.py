"""ONNX export: onnxruntime gives the same actions as torch, for every allow-listed layer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from atrap_studio.runtime.netfile import LoadedNetwork, NetManifest, PortMeaning
from atrap_studio.runtime.networks import (
    ACTIVATIONS,
    Architecture,
    Layer,
    Normalize,
    build_module,
    mlp,
)
from atrap_studio.runtime.onnx_export import INPUT, OUTPUT, network_to_onnx, save_network_onnx


def _network(arch: Architecture, seed: int = 0) -> LoadedNetwork:
    module = build_module(arch, init="default", generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():  # layer norms start as ones and zeros: give them real values
        for layer in module:
            if isinstance(layer, torch.nn.LayerNorm):
                layer.weight.uniform_(0.5, 1.5, generator=torch.Generator().manual_seed(seed))
                layer.bias.uniform_(-0.5, 0.5, generator=torch.Generator().manual_seed(seed + 1))
    manifest = NetManifest(
        architecture=arch,
        inputs=[PortMeaning(node="q", type="sensor.joint_angles", size=arch.inputs)],
        outputs=[PortMeaning(node="move", type="action.joint_targets", size=arch.outputs)],
    )
    return LoadedNetwork(module=module, manifest=manifest)


def _run(model: onnx.ModelProto, observation: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (action,) = session.run([OUTPUT], {INPUT: observation})
    return np.asarray(action)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_onnxruntime_matches_torch(activation: str) -> None:
    network = _network(mlp(9, [32, 16], 6, activation=activation, output_activation="tanh"))
    observation = torch.randn(257, 9, generator=torch.Generator().manual_seed(1)) * 2
    expected = network.module(observation).detach().numpy()
    got = _run(network_to_onnx(network), observation.numpy())
    assert got.shape == (257, 6)
    np.testing.assert_allclose(got, expected, atol=2e-6, rtol=1e-5)


def test_layer_norm_and_a_linear_output() -> None:
    arch = Architecture(
        inputs=5,
        outputs=3,
        layers=[
            Layer(kind="linear", in_features=5, out_features=24),
            Layer(kind="layernorm", in_features=24),
            Layer(kind="gelu"),
            Layer(kind="linear", in_features=24, out_features=3),
        ],
    )
    network = _network(arch, seed=4)
    observation = torch.randn(64, 5, generator=torch.Generator().manual_seed(2))
    expected = network.module(observation).detach().numpy()
    np.testing.assert_allclose(
        _run(network_to_onnx(network), observation.numpy()), expected, atol=2e-6, rtol=1e-5
    )


def test_learned_input_statistics() -> None:
    network = _network(mlp(7, [16], 2, normalize_inputs=True), seed=5)
    normalize = network.module[0]
    assert isinstance(normalize, Normalize)
    normalize.observe(torch.randn(300, 7, generator=torch.Generator().manual_seed(3)) * 4 - 2)
    observation = torch.randn(64, 7, generator=torch.Generator().manual_seed(6)) * 60  # clipped
    expected = network.module(observation).detach().numpy()
    np.testing.assert_allclose(
        _run(network_to_onnx(network), observation.numpy()), expected, atol=2e-6, rtol=1e-5
    )


def test_file_carries_the_manifest(tmp_path: Path) -> None:
    network = _network(mlp(4, [8], 2))
    path = tmp_path / "policy.onnx"
    save_network_onnx(path, network)
    model = onnx.load(str(path))
    props = {p.key: p.value for p in model.metadata_props}
    assert NetManifest.model_validate_json(props["atrap_manifest"]) == network.manifest
    assert model.producer_name == "ATRAP Studio"
    assert [p.name for p in tmp_path.iterdir()] == ["policy.onnx"]
