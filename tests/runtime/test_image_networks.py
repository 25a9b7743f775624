"""Networks that see: convolution layers over a picture at the front of the inputs, built from
the allow-list, saved and loaded, exported to ONNX, shown in the neuron view, and fed by the
tank camera's 'image' through the NN Factory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch
from pydantic import ValidationError

from atrap_studio.core.document import Endpoint, GraphDocument, Link
from atrap_studio.core.editing import connect, disconnect, link_problem
from atrap_studio.core.registry import Registry
from atrap_studio.core.validation import analyse
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.runtime.netfile import (
    LoadedNetwork,
    NetManifest,
    PortMeaning,
    load_network,
    save_network,
)
from atrap_studio.runtime.networks import ImageConv, Layer, Normalize, build_module, conv_layer, mlp
from atrap_studio.runtime.onnx_export import INPUT, OUTPUT, network_to_onnx
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.snapshots import network_snapshot
from atrap_studio.runtime.webpage import network_layers

STRIP = (1, 32, 3)  # the tank camera's picture: one row, 32 rays, 3 channels
PICTURE = (12, 10, 3)


def _seeing(image: tuple[int, int, int], rest: int = 2, *, normalize: bool = False):
    inputs = int(np.prod(image)) + rest
    arch = mlp(
        inputs,
        [32],
        5,
        image=image,
        conv_channels=[8, 6],
        conv_kernel=3,
        normalize_inputs=normalize,
    )
    return arch, build_module(arch, generator=torch.Generator().manual_seed(0))


def test_a_conv_layer_reads_the_picture_and_passes_the_rest_through() -> None:
    arch, module = _seeing(STRIP)
    assert [layer.kind for layer in arch.layers[:2]] == ["conv", "conv"]
    assert arch.parameter_shapes() == {k: tuple(v.shape) for k, v in module.state_dict().items()}
    x = torch.randn(4, arch.inputs, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        first = module[0](x)
        assert torch.equal(first[:, -2:], x[:, -2:])  # the status values are not convolved
        changed = x.clone()
        changed[:, 5] += 1.0  # one pixel: only the feature-map pixels whose filters read it move
        moved = (module[0](changed) - first).abs().sum(0) > 0
    assert 0 < int(moved.sum()) < first.shape[1] - 2
    assert module(torch.randn(3, 4, arch.inputs)).shape == (3, 4, 5)  # any leading dims


def test_conv_layers_that_do_not_fit_are_refused_with_the_reason() -> None:
    with pytest.raises(ValidationError, match="out_features is 7 but its feature map"):
        Layer(
            kind="conv", in_features=98, out_features=7, height=1, width=32, in_channels=3,
            out_channels=4, kernel=5, stride=2, activation="relu",
        )  # fmt: skip
    with pytest.raises(ValidationError, match="must hold its 1x32x3 image"):
        conv_layer(50, STRIP, 4, 5, 2)
    with pytest.raises(ValidationError, match="no image fields"):
        Layer(kind="linear", in_features=3, out_features=2, kernel=3)
    with pytest.raises(ValidationError, match="unknown conv activation"):
        conv_layer(98, STRIP, 4, 5, 2, activation="softmax")


@pytest.mark.parametrize("image", [STRIP, PICTURE])
def test_network_files_and_onnx_give_the_same_actions_as_torch(
    image: tuple[int, int, int], tmp_path: Path
) -> None:
    arch, module = _seeing(image, normalize=True)
    normalize = module[0]
    assert isinstance(normalize, Normalize)
    normalize.observe(torch.rand(200, arch.inputs, generator=torch.Generator().manual_seed(2)))
    manifest = NetManifest(
        architecture=arch,
        inputs=[PortMeaning(node="eye", type="sensor.camera", size=arch.inputs)],
        outputs=[PortMeaning(node="drive", type="action.tank_controls", size=arch.outputs)],
    )
    path = tmp_path / "seeing.atrapnet"
    save_network(path, module, manifest)
    loaded = load_network(path)
    x = torch.rand(64, arch.inputs, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = module(x)
        torch.testing.assert_close(loaded.module(x), expected, rtol=0, atol=0)
    session = onnxruntime.InferenceSession(
        network_to_onnx(LoadedNetwork(module=module, manifest=manifest)).SerializeToString(),
        providers=["CPUExecutionProvider"],
    )
    (got,) = session.run([OUTPUT], {INPUT: x.numpy()})
    np.testing.assert_allclose(got, expected.numpy(), atol=2e-6, rtol=1e-5)


def test_the_neuron_view_gets_each_feature_map_pixel_as_a_neuron() -> None:
    arch, module = _seeing(STRIP)
    x = torch.randn(2, arch.inputs, generator=torch.Generator().manual_seed(4))
    snapshot = network_snapshot(module, x, 1)
    first = arch.layers[0]
    maps = int(np.prod(first.out_image))
    assert snapshot.sizes[:2] == (arch.inputs, maps + 2)
    weight, bias = snapshot.weights[0], snapshot.biases[0]
    with torch.no_grad():
        conv = module[0]
        pixels = x[1:2, :96].reshape(1, *STRIP).permute(0, 3, 1, 2)
        raw = torch.nn.functional.conv2d(pixels, conv.weight, conv.bias, stride=conv.strides)
        raw = raw.permute(0, 2, 3, 1).reshape(-1)
    np.testing.assert_allclose(x[1].numpy() @ weight.T[:, :maps] + bias[:maps], raw, atol=1e-5)
    assert len(snapshot.activations) == len(snapshot.sizes)


def test_the_web_page_refuses_a_network_that_sees_with_the_reason() -> None:
    _, module = _seeing(STRIP)
    with pytest.raises(ValueError, match="layer 0 \\(ImageConv\\) is not one the web page can run"):
        network_layers(module)


def _camera_graph(registry: Registry) -> GraphDocument:
    """The tank example with its camera's picture, not its strip, linked into the factory."""
    doc = load_graph(example_path("tanks_camera_ppo"))
    doc = disconnect(doc, Endpoint(node="eye", port="value"), Endpoint(node="brain", port="state"))
    doc = connect(
        doc, registry, Endpoint(node="eye", port="image"), Endpoint(node="brain", port="image")
    )
    doc.node("arena").props.update(instances=16, opponent="idle", map="open")  # type: ignore[union-attr]
    doc.node("teach").props.update(horizon=8, minibatches=2, epochs=1)  # type: ignore[union-attr]
    return doc


def test_the_factory_reads_the_camera_picture_with_convolutions(registry: Registry) -> None:
    doc = _camera_graph(registry)
    pipeline = Pipeline(doc, registry, seed=0)
    assert pipeline.architecture.layers[0].kind == "conv"
    observation = pipeline.observe(pipeline.scene)
    camera = pipeline.impls["eye"].forward({"scene": pipeline.scene})
    assert torch.equal(observation[:, :96], camera["image"].flatten(1))
    # the picture is the strip re-laid as pixels: ray r's channels are (depth, enemy, shell)
    assert torch.equal(camera["image"][:, 0, :, 1], camera["value"][:, 32:64])
    meanings = pipeline.meanings()[0]
    assert [(m.node, m.size) for m in meanings] == [("eye", 96), ("self", 2)]
    critic = pipeline.trainer.critic  # type: ignore[attr-defined]
    assert isinstance(critic[0], ImageConv)  # the critic sees the picture through its own
    pipeline.trainer.plan(4)
    before = {k: v.clone() for k, v in pipeline.network.state_dict().items()}
    pipeline.trainer.step(0)
    assert not torch.equal(before["0.weight"], pipeline.network.state_dict()["0.weight"])


def test_a_picture_cannot_feed_a_vector_input(registry: Registry) -> None:
    doc = _camera_graph(registry)
    problem = link_problem(
        doc, registry, Endpoint(node="eye", port="image"), Endpoint(node="brain", port="state")
    )
    assert problem is not None and "Image" in problem and "Vector" in problem
    doc.links.append(
        Link(src=Endpoint(node="eye", port="image"), dst=Endpoint(node="brain", port="state"))
    )
    issues = [
        issue for issue in analyse(doc, registry).issues if issue.code == "link.type_mismatch"
    ]
    assert issues and issues[0].node == "brain"
