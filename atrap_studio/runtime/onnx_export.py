"""ONNX export of a network, for other runtimes (onnxruntime, game engines, phones).

The graph is written from the architecture's allow-list, layer by layer, with standard
operators of opset 17; nothing is traced, so what the file computes is exactly what the
architecture says, and the manifest travels in the model's metadata.
"""

from __future__ import annotations

import os
from typing import Final

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from atrap_studio import __version__
from atrap_studio.core.yaml_io import write_bytes_atomic
from atrap_studio.runtime.netfile import LoadedNetwork
from atrap_studio.runtime.networks import LEAKY_RELU_SLOPE, NORMALIZE_CLIP, NORMALIZE_EPS, Layer

OPSET: Final = 17  # LayerNormalization arrived in 17
INPUT: Final = "observation"
OUTPUT: Final = "action"
_LAYERNORM_EPS: Final = 1e-5  # torch.nn.LayerNorm's default, which build_module uses


def network_to_onnx(network: LoadedNetwork) -> onnx.ModelProto:
    """The network as a checked ONNX model: ``observation`` (batch, inputs) → ``action``."""
    arch = network.manifest.architecture
    state = {name: t.detach().cpu().numpy() for name, t in network.module.state_dict().items()}
    nodes: list[onnx.NodeProto] = []
    weights: list[onnx.TensorProto] = []
    current = INPUT
    for index, layer in enumerate(arch.layers):
        out = OUTPUT if index == len(arch.layers) - 1 else f"h{index}"
        if layer.kind in ("linear", "layernorm"):
            weight, bias = f"{index}.weight", f"{index}.bias"
            weights += [
                numpy_helper.from_array(np.ascontiguousarray(state[weight]), weight),
                numpy_helper.from_array(np.ascontiguousarray(state[bias]), bias),
            ]
            if layer.kind == "linear":
                nodes.append(helper.make_node("Gemm", [current, weight, bias], [out], transB=1))
            else:
                nodes.append(
                    helper.make_node(
                        "LayerNormalization",
                        [current, weight, bias],
                        [out],
                        axis=-1,
                        epsilon=_LAYERNORM_EPS,
                    )
                )
        elif layer.kind == "normalize":
            nodes += _normalize(state, current, out, index, weights)
        elif layer.kind == "conv":
            nodes += _conv(layer, state, current, out, index, weights)
        else:
            nodes += _activation(layer.kind, current, out, index, weights)
        current = out
    graph = helper.make_graph(
        nodes,
        "atrap_policy",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", arch.inputs])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", arch.outputs])],
        initializer=weights,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="ATRAP Studio",
        producer_version=__version__,
    )
    model.ir_version = 8  # readable by onnxruntime releases from 1.14 on
    helper.set_model_props(model, {"atrap_manifest": network.manifest.model_dump_json()})
    onnx.checker.check_model(model, full_check=True)
    return model


def _normalize(
    state: dict[str, np.ndarray],
    source: str,
    out: str,
    index: int,
    weights: list[onnx.TensorProto],
) -> list[onnx.NodeProto]:
    """(x - mean) / sqrt(var + eps), clipped: networks.Normalize, with its spread precomputed."""
    mean = state[f"{index}.mean"].astype(np.float32)
    spread = np.sqrt(state[f"{index}.var"].astype(np.float32) + np.float32(NORMALIZE_EPS))
    names = {key: f"{index}.{key}" for key in ("mean", "spread", "low", "high")}
    weights += [
        numpy_helper.from_array(np.ascontiguousarray(mean), names["mean"]),
        numpy_helper.from_array(np.ascontiguousarray(spread), names["spread"]),
        numpy_helper.from_array(np.array(-NORMALIZE_CLIP, np.float32), names["low"]),
        numpy_helper.from_array(np.array(NORMALIZE_CLIP, np.float32), names["high"]),
    ]
    return [
        helper.make_node("Sub", [source, names["mean"]], [f"n{index}"]),
        helper.make_node("Div", [f"n{index}", names["spread"]], [f"s{index}"]),
        helper.make_node("Clip", [f"s{index}", names["low"], names["high"]], [out]),
    ]


def _conv(
    layer: Layer,
    state: dict[str, np.ndarray],
    source: str,
    out: str,
    index: int,
    weights: list[onnx.TensorProto],
) -> list[onnx.NodeProto]:
    """networks.ImageConv: the image at the front of the row, channels last, convolved; the
    rest of the row passed through."""
    assert layer.height and layer.width and layer.in_channels and layer.in_features
    size = layer.height * layer.width * layer.in_channels
    p = f"c{index}"
    constants = {
        f"{p}_zero": np.array([0], np.int64),
        f"{p}_size": np.array([size], np.int64),
        f"{p}_end": np.array([layer.in_features], np.int64),
        f"{p}_axis": np.array([1], np.int64),
        f"{p}_image": np.array([-1, layer.height, layer.width, layer.in_channels], np.int64),
        f"{p}_flat": np.array([0, -1], np.int64),
    }
    weights += [numpy_helper.from_array(value, name) for name, value in constants.items()]
    for name in ("weight", "bias"):
        weights.append(
            numpy_helper.from_array(
                np.ascontiguousarray(state[f"{index}.{name}"]), f"{index}.{name}"
            )
        )
    (kh, kw), strides = layer.kernel_size, layer.strides
    return [
        helper.make_node("Slice", [source, f"{p}_zero", f"{p}_size", f"{p}_axis"], [f"{p}_pixels"]),
        helper.make_node("Slice", [source, f"{p}_size", f"{p}_end", f"{p}_axis"], [f"{p}_rest"]),
        helper.make_node("Reshape", [f"{p}_pixels", f"{p}_image"], [f"{p}_hwc"]),
        helper.make_node("Transpose", [f"{p}_hwc"], [f"{p}_chw"], perm=[0, 3, 1, 2]),
        helper.make_node(
            "Conv",
            [f"{p}_chw", f"{index}.weight", f"{index}.bias"],
            [f"{p}_conv"],
            kernel_shape=[kh, kw],
            strides=list(strides),
        ),
        *_activation(layer.activation or "", f"{p}_conv", f"{p}_act", index, weights),
        helper.make_node("Transpose", [f"{p}_act"], [f"{p}_maps"], perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", [f"{p}_maps", f"{p}_flat"], [f"{p}_row"]),
        helper.make_node("Concat", [f"{p}_row", f"{p}_rest"], [out], axis=1),
    ]


def save_network_onnx(path: str | os.PathLike[str], network: LoadedNetwork) -> None:
    """Write the ONNX form of a network (atomically, as every file ATRAP writes)."""
    write_bytes_atomic(network_to_onnx(network).SerializeToString(), path)


def _activation(
    kind: str, source: str, out: str, index: int, weights: list[onnx.TensorProto]
) -> list[onnx.NodeProto]:
    """Standard operators for each allow-listed activation, exactly as torch computes it."""
    simple = {"tanh": "Tanh", "relu": "Relu", "sigmoid": "Sigmoid", "elu": "Elu"}
    if kind in simple:
        return [helper.make_node(simple[kind], [source], [out])]
    if kind == "leaky_relu":
        return [helper.make_node("LeakyRelu", [source], [out], alpha=LEAKY_RELU_SLOPE)]
    if kind == "silu":
        gate = f"{out}_sigmoid"
        return [
            helper.make_node("Sigmoid", [source], [gate]),
            helper.make_node("Mul", [source, gate], [out]),
        ]
    if kind == "gelu":  # torch's exact form: x * (1 + erf(x / sqrt 2)) / 2
        constants = {f"c{index}_sqrt2": np.sqrt(2.0), f"c{index}_one": 1.0, f"c{index}_half": 0.5}
        weights += [
            numpy_helper.from_array(np.array(value, dtype=np.float32), name)
            for name, value in constants.items()
        ]
        root, one, half = constants
        return [
            helper.make_node("Div", [source, root], [f"{out}_scaled"]),
            helper.make_node("Erf", [f"{out}_scaled"], [f"{out}_erf"]),
            helper.make_node("Add", [f"{out}_erf", one], [f"{out}_plus"]),
            helper.make_node("Mul", [source, f"{out}_plus"], [f"{out}_times"]),
            helper.make_node("Mul", [f"{out}_times", half], [out]),
        ]
    raise ValueError(f"layer kind {kind!r} has no ONNX form here")
