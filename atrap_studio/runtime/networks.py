"""Network architectures as data, and the one place that turns them into torch modules.

A network file names its layers from a closed allow-list; nothing else is ever built from a
file, so opening a shared network can run no code of the sender's choosing.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Sequence
from typing import Annotated, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

ACTIVATIONS: tuple[str, ...] = ("tanh", "relu", "elu", "gelu", "silu", "leaky_relu", "sigmoid")
INITS: tuple[str, ...] = ("orthogonal", "xavier", "kaiming", "default")

MAX_LAYERS = 64
MAX_FEATURES = 65_536
LEAKY_RELU_SLOPE = 0.01
LAST_LAYER_GAIN = 0.01  # initial outputs near zero: early actions are gentle, not saturated

LayerKind = Literal[
    "linear",
    "conv",
    "layernorm",
    "normalize",
    "tanh",
    "relu",
    "elu",
    "gelu",
    "silu",
    "leaky_relu",
    "sigmoid",
]
#: A normalised input is clipped to this many standard deviations (as stable-baselines3 does).
NORMALIZE_CLIP = 10.0
NORMALIZE_EPS = 1e-8
Size = Annotated[int, Field(strict=True, ge=1, le=MAX_FEATURES)]

# Gains keep the activations' variance steady through the depth of the network.
_GAINS: dict[str, float] = {
    "tanh": 5.0 / 3.0,
    "relu": math.sqrt(2.0),
    "elu": math.sqrt(2.0),
    "gelu": math.sqrt(2.0),
    "silu": math.sqrt(2.0),
    "leaky_relu": math.sqrt(2.0 / (1.0 + LEAKY_RELU_SLOPE**2)),
    "sigmoid": 1.0,
}
# kaiming_uniform_ knows only a few nonlinearities by name; the relu-likes share relu's gain.
_KAIMING_NAMES: dict[str, Literal["tanh", "relu", "sigmoid"]] = {
    "tanh": "tanh",
    "relu": "relu",
    "elu": "relu",
    "gelu": "relu",
    "silu": "relu",
    "leaky_relu": "relu",
    "sigmoid": "sigmoid",
}


class Layer(BaseModel):
    """One layer of a sequential network: a linear map, a convolution over the image at the
    front of the inputs, a layer norm, an input normaliser (the running statistics of the
    observations seen in training) or an activation.

    A ``conv`` layer reads its first ``height * width * in_channels`` inputs as an image
    (channels last, as image sensors give it), convolves it with ``kernel``-wide filters at
    ``stride`` (along the height only where it is taller than one row), applies its own
    ``activation`` and puts the feature map (channels last) first in its outputs; the inputs
    after the image pass through unchanged, so a sequential network can see an image beside
    other sensors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: LayerKind
    in_features: Size | None = None
    out_features: Size | None = None
    height: Size | None = None
    width: Size | None = None
    in_channels: Size | None = None
    out_channels: Size | None = None
    kernel: Size | None = None
    stride: Size | None = None
    activation: str | None = None

    @property
    def kernel_size(self) -> tuple[int, int]:
        """A conv layer's filter (rows, columns): one row on a one-row image."""
        assert self.kernel is not None and self.height is not None
        return (min(self.kernel, self.height), self.kernel)

    @property
    def strides(self) -> tuple[int, int]:
        assert self.stride is not None and self.height is not None
        return (self.stride if self.height > 1 else 1, self.stride)

    @property
    def out_image(self) -> tuple[int, int, int]:
        """A conv layer's feature map (height, width, channels)."""
        assert self.height is not None and self.width is not None
        assert self.out_channels is not None
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        return ((self.height - kh) // sh + 1, (self.width - kw) // sw + 1, self.out_channels)

    @model_validator(mode="after")
    def _sizes_fit_kind(self) -> Layer:
        conv_fields = (
            self.height,
            self.width,
            self.in_channels,
            self.out_channels,
            self.kernel,
            self.stride,
            self.activation,
        )
        if self.kind == "conv":
            if any(field is None for field in conv_fields):
                raise ValueError(
                    "a conv layer needs height, width, in_channels, out_channels, kernel, "
                    "stride and activation"
                )
            _check_activation(self.activation or "", "conv activation")
            assert self.height is not None and self.width is not None
            assert self.in_channels is not None and self.kernel is not None
            if self.kernel > self.width:
                raise ValueError(
                    f"a conv kernel of {self.kernel} is wider than its image ({self.width})"
                )
            image = self.height * self.width * self.in_channels
            if self.in_features is None or self.in_features < image:
                raise ValueError(
                    f"a conv layer's in_features ({self.in_features}) must hold its "
                    f"{self.height}x{self.width}x{self.in_channels} image ({image} values)"
                )
            h, w, c = self.out_image
            expected = h * w * c + self.in_features - image
            if self.out_features != expected:
                raise ValueError(
                    f"a conv layer's out_features is {self.out_features} but its feature map "
                    f"and passed-through inputs make {expected}"
                )
            return self
        if any(field is not None for field in conv_fields):
            raise ValueError(f"a {self.kind} layer has no image fields: only conv layers do")
        if self.kind == "linear":
            if self.in_features is None or self.out_features is None:
                raise ValueError("a linear layer needs both in_features and out_features")
        elif self.kind in ("layernorm", "normalize"):
            if self.in_features is None:
                raise ValueError(f"a {self.kind} layer needs in_features (the size it normalises)")
            if self.out_features is not None:
                raise ValueError(f"a {self.kind} layer keeps its size: give in_features only")
        elif self.in_features is not None or self.out_features is not None:
            raise ValueError(
                f"a {self.kind} activation has no sizes: remove in_features/out_features"
            )
        return self


class Architecture(BaseModel):
    """A sequential network as plain data: what a network file stores and the factory builds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["sequential"] = "sequential"
    inputs: Size
    outputs: Size
    layers: list[Layer] = Field(max_length=MAX_LAYERS)

    @model_validator(mode="after")
    def _sizes_chain(self) -> Architecture:
        width = self.inputs
        source = "inputs"
        linears = 0
        for index, layer in enumerate(self.layers):
            if layer.kind == "conv":
                if layer.in_features != width:
                    raise ValueError(
                        f"layers.{index}: conv in_features is {layer.in_features} but the width "
                        f"there is {width} (from {source}); make them equal"
                    )
                assert layer.out_features is not None  # guaranteed by Layer's validator
                width = layer.out_features
                source = f"layers.{index}.out_features"
            elif layer.kind == "linear":
                if layer.in_features != width:
                    raise ValueError(
                        f"layers.{index}: linear in_features is {layer.in_features} but the width "
                        f"there is {width} (from {source}); make them equal"
                    )
                assert layer.out_features is not None  # guaranteed by Layer's validator
                width = layer.out_features
                source = f"layers.{index}.out_features"
                linears += 1
            elif layer.kind in ("layernorm", "normalize") and layer.in_features != width:
                raise ValueError(
                    f"layers.{index}: {layer.kind} in_features is {layer.in_features} but the "
                    f"width there is {width} (from {source})"
                )
        if linears == 0:
            raise ValueError("an architecture needs at least one linear layer")
        if width != self.outputs:
            raise ValueError(
                f"the network ends with width {width} (from {source}) but outputs is "
                f"{self.outputs}; make the last linear layer's out_features equal outputs"
            )
        return self

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """Names and shapes of the parameters, in the order `build_module`'s state_dict has them."""
        shapes: dict[str, tuple[int, ...]] = {}
        for index, layer in enumerate(self.layers):
            if layer.kind == "conv":
                assert layer.out_channels is not None and layer.in_channels is not None
                kh, kw = layer.kernel_size
                shapes[f"{index}.weight"] = (layer.out_channels, layer.in_channels, kh, kw)
                shapes[f"{index}.bias"] = (layer.out_channels,)
            elif layer.kind == "linear":
                assert layer.in_features is not None and layer.out_features is not None
                shapes[f"{index}.weight"] = (layer.out_features, layer.in_features)
                shapes[f"{index}.bias"] = (layer.out_features,)
            elif layer.kind == "layernorm":
                assert layer.in_features is not None
                shapes[f"{index}.weight"] = (layer.in_features,)
                shapes[f"{index}.bias"] = (layer.in_features,)
            elif layer.kind == "normalize":
                assert layer.in_features is not None
                shapes[f"{index}.mean"] = (layer.in_features,)
                shapes[f"{index}.var"] = (layer.in_features,)
                shapes[f"{index}.count"] = (1,)
        return shapes

    def parameter_count(self) -> int:
        """Number of scalar parameters, computed without building anything."""
        return sum(math.prod(shape) for shape in self.parameter_shapes().values())


def mlp(
    inputs: int,
    hidden: Sequence[int],
    outputs: int,
    *,
    activation: str = "tanh",
    output_activation: str | None = "tanh",
    normalize_inputs: bool = False,
    image: tuple[int, int, int] | None = None,
    conv_channels: Sequence[int] = (),
    conv_kernel: int = 5,
    conv_stride: int = 2,
) -> Architecture:
    """A plain multilayer perceptron: linear + activation per hidden size, then a linear output,
    after an input normaliser when ``normalize_inputs``. With an ``image`` (height, width,
    channels) at the front of the inputs, a conv layer per ``conv_channels`` entry comes first
    (a small CNN whose feature map the perceptron reads beside the other inputs).

    Raises:
        ValueError: an unknown activation, or sizes the architecture refuses.
    """
    _check_activation(activation, "activation")
    if output_activation is not None:
        _check_activation(output_activation, "output_activation")
    width = operator.index(inputs)
    layers: list[Layer] = []
    if normalize_inputs:
        layers.append(Layer(kind="normalize", in_features=width))
    if image is not None:
        for channels in conv_channels:
            conv = conv_layer(width, image, operator.index(channels), conv_kernel, conv_stride)
            conv = conv.model_copy(update={"activation": activation})
            layers.append(conv)
            assert conv.out_features is not None
            width, image = conv.out_features, conv.out_image
    widths = [width, *(operator.index(h) for h in hidden), operator.index(outputs)]
    for index, (size_in, size_out) in enumerate(itertools.pairwise(widths)):
        layers.append(Layer(kind="linear", in_features=size_in, out_features=size_out))
        is_last = index == len(widths) - 2
        act = output_activation if is_last else activation
        if act is not None:
            layers.append(Layer(kind=act))
    return Architecture(inputs=operator.index(inputs), outputs=widths[-1], layers=layers)


def conv_layer(
    in_features: int,
    image: tuple[int, int, int],
    channels: int,
    kernel: int,
    stride: int,
    activation: str = "relu",
) -> Layer:
    """A conv layer over the ``image`` (height, width, channels) at the front of
    ``in_features`` inputs, its out_features worked out (the kernel at most the image's width).

    Raises:
        ValueError: sizes a conv layer refuses.
    """
    height, width, depth = image
    kernel = min(kernel, width)
    rows = min(kernel, height)
    h = (height - rows) // (stride if height > 1 else 1) + 1
    w = (width - kernel) // stride + 1
    out = h * w * channels + in_features - height * width * depth
    return Layer(
        kind="conv",
        in_features=in_features,
        out_features=out,
        height=height,
        width=width,
        in_channels=depth,
        out_channels=channels,
        kernel=kernel,
        stride=stride,
        activation=activation,
    )


def build_module(
    arch: Architecture,
    *,
    init: str = "orthogonal",
    generator: torch.Generator | None = None,
) -> torch.nn.Sequential:
    """Build the torch module an architecture describes, from the allow-list only.

    Parameter names are torch.nn.Sequential's own (`"{index}.weight"`), so the state_dict keys
    equal `arch.parameter_shapes()`. Every random draw comes from `generator` (a CPU generator;
    a fresh unpredictably seeded one when None): torch's global RNG is never touched, so
    building a network does not shift a seeded run's other random numbers.

    Args:
        arch: the architecture to build.
        init: one of INITS. "orthogonal", "xavier" and "kaiming" scale each linear layer for the
            activation after it, give the last linear layer a 0.01 gain and zero the biases;
            "default" reproduces torch's own nn.Linear initialisation.
        generator: source of all random numbers.

    Raises:
        ValueError: an unknown init.
    """
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")
    if generator is None:
        generator = torch.Generator()
        generator.seed()
    module = torch.nn.Sequential(*(_make_layer(layer) for layer in arch.layers))
    with torch.no_grad():
        _initialise(module, arch, init, generator)
    return module


class Normalize(torch.nn.Module):
    """Inputs scaled by the running statistics of the observations seen in training.

    ``(x - mean) / sqrt(var + eps)``, clipped to ±NORMALIZE_CLIP. The statistics are buffers,
    not parameters: no gradient moves them; a trainer feeds them with :meth:`observe`, and they
    travel in the network file, so a loaded or exported network acts the same.
    """

    mean: torch.Tensor
    var: torch.Tensor
    count: torch.Tensor

    def __init__(self, features: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("var", torch.ones(features))
        self.register_buffer("count", torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scaled = (x - self.mean) / torch.sqrt(self.var + NORMALIZE_EPS)
        return scaled.clamp(-NORMALIZE_CLIP, NORMALIZE_CLIP)

    @torch.no_grad()
    def observe(self, batch: torch.Tensor) -> None:
        """Merge a batch of observations (rows) into the statistics (Chan et al.'s formula)."""
        self.merge(*batch_moments(batch, self.mean.shape[0]))

    @torch.no_grad()
    def merge(self, mean: torch.Tensor, var: torch.Tensor, n: float) -> None:
        """Merge a batch's :func:`batch_moments` into the statistics: several normalisers fed
        the same batch compute its moments once."""
        if n == 0:
            return
        have = float(self.count[0])
        total = have + n
        delta = mean - self.mean.double()
        merged = self.mean.double() + delta * (n / total)
        spread = self.var.double() * have + var * n + delta.square() * (have * n / total)
        self.mean.copy_(merged.float())
        self.var.copy_((spread / total).float())
        self.count.fill_(total)


def batch_moments(batch: torch.Tensor, features: int) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Mean, variance (in float64) and count of a batch of observations' rows of ``features``
    values, as :meth:`Normalize.merge` takes them."""
    rows = batch.detach().reshape(-1, features).double()
    if rows.shape[0] == 0:
        return rows.sum(0), rows.sum(0), 0.0
    return rows.mean(0), rows.var(0, unbiased=False), float(rows.shape[0])


class ImageConv(torch.nn.Module):
    """A ``conv`` layer (see :class:`Layer`): a convolution over the image at the front of the
    inputs, the rest passed through. Its parameters are ``weight`` and ``bias`` as a linear
    layer's, so network files and the optimiser see them the same way."""

    def __init__(self, layer: Layer) -> None:
        super().__init__()
        assert layer.height and layer.width and layer.in_channels and layer.out_channels
        self.image = (layer.height, layer.width, layer.in_channels)
        self.size = math.prod(self.image)
        self.strides = layer.strides
        kh, kw = layer.kernel_size
        # empty: every value is set from the build's generator (torch's global RNG untouched)
        self.weight = torch.nn.Parameter(torch.empty(layer.out_channels, layer.in_channels, kh, kw))
        self.bias = torch.nn.Parameter(torch.zeros(layer.out_channels))
        self.act = _make_layer(Layer.model_validate({"kind": layer.activation}))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead, features = x.shape[:-1], x.shape[-1]
        flat = x.reshape(-1, features)
        height, width, channels = self.image
        image = flat[:, : self.size].reshape(-1, height, width, channels).permute(0, 3, 1, 2)
        maps = torch.nn.functional.conv2d(image, self.weight, self.bias, stride=self.strides)
        maps = self.act(maps).permute(0, 2, 3, 1).reshape(flat.shape[0], -1)
        out = torch.cat([maps, flat[:, self.size :]], dim=1)
        return out.reshape(*lead, out.shape[-1])


def _check_activation(name: str, what: str) -> None:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown {what} {name!r}; choose one of {', '.join(ACTIVATIONS)}")


def _make_layer(layer: Layer) -> torch.nn.Module:
    if layer.kind == "conv":
        return ImageConv(layer)
    if layer.kind == "linear":
        # Built on the meta device: torch's own init (and its draw from the global RNG) is
        # skipped; to_empty allocates, and every value is then set from our generator.
        linear = torch.nn.Linear(layer.in_features or 0, layer.out_features or 0, device="meta")
        return linear.to_empty(device="cpu")
    if layer.kind == "layernorm":
        return torch.nn.LayerNorm(layer.in_features)  # ones and zeros: no randomness
    if layer.kind == "normalize":
        return Normalize(layer.in_features or 0)
    activations: dict[str, type[torch.nn.Module]] = {
        "tanh": torch.nn.Tanh,
        "relu": torch.nn.ReLU,
        "elu": torch.nn.ELU,
        "gelu": torch.nn.GELU,
        "silu": torch.nn.SiLU,
        "sigmoid": torch.nn.Sigmoid,
    }
    if layer.kind == "leaky_relu":
        return torch.nn.LeakyReLU(LEAKY_RELU_SLOPE)
    return activations[layer.kind]()


def _activation_after(layers: Sequence[Layer], index: int) -> str | None:
    """The activation that a linear layer feeds (looking past layer norms), if any."""
    for layer in layers[index + 1 :]:
        if layer.kind == "linear":
            return None
        if layer.kind in ACTIVATIONS:
            return layer.kind
    return None


def _initialise(
    module: torch.nn.Sequential, arch: Architecture, init: str, generator: torch.Generator
) -> None:
    for index, layer in enumerate(arch.layers):
        if layer.kind == "conv":
            conv = module[index]
            assert isinstance(conv, ImageConv)
            weight = conv.weight.view(conv.weight.shape[0], -1)
            if init == "default":
                torch.nn.init.kaiming_uniform_(weight, a=math.sqrt(5.0), generator=generator)
            else:  # the same gain for the activation after it as a hidden linear layer's
                gain = _GAINS.get(layer.activation or "", 1.0)
                torch.nn.init.orthogonal_(weight, gain=gain, generator=generator)
            conv.bias.zero_()
    linear_indices = [i for i, layer in enumerate(arch.layers) if layer.kind == "linear"]
    last = linear_indices[-1]
    for index in linear_indices:
        linear = module[index]
        assert isinstance(linear, torch.nn.Linear)
        weight, bias = linear.weight, linear.bias
        activation = _activation_after(arch.layers, index)
        if init == "default":
            fan_in = weight.shape[1]
            torch.nn.init.kaiming_uniform_(weight, a=math.sqrt(5.0), generator=generator)
            bound = 1.0 / math.sqrt(fan_in)
            torch.nn.init.uniform_(bias, -bound, bound, generator=generator)
            continue
        gain = LAST_LAYER_GAIN if index == last else _GAINS.get(activation or "", 1.0)
        if init == "orthogonal":
            torch.nn.init.orthogonal_(weight, gain=gain, generator=generator)
        elif init == "xavier":
            torch.nn.init.xavier_uniform_(weight, gain=gain, generator=generator)
        else:  # kaiming
            nonlinearity = _KAIMING_NAMES.get(activation or "") if index != last else None
            torch.nn.init.kaiming_uniform_(
                weight, nonlinearity=nonlinearity or "linear", generator=generator
            )
            if index == last:
                weight.mul_(LAST_LAYER_GAIN)
        bias.zero_()
