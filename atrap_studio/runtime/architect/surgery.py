"""Structural operations on the NN Factory's sequential networks, each a new module plus a map.

Every operation takes an architecture (data) and its module, and returns a new architecture, a
new module built through the factory's allow-list, and a :class:`StateMap` that says where each
new parameter entry came from, so the optimiser's state (and cut-link masks) can follow the
change. The old module is never modified: a caller can keep it until the swap succeeds.

Hidden layer ``i`` is the output of the ``i``-th linear layer followed by its activation; the
operations need that block to be exactly ``linear → activation`` (a layer norm in between mixes
the neurons, and no change of width would preserve the function).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import torch

from atrap_studio.runtime.networks import (
    ACTIVATIONS,
    LEAKY_RELU_SLOPE,
    Architecture,
    Layer,
    build_module,
)

WidenMethod = Literal["split", "fresh"]

#: Lowest value each activation without a linear odd part but with an identity region outputs:
#: an inserted layer's inputs are shifted up by it, which makes the activation the identity.
_LOWEST: dict[str, float] = {"relu": 0.0, "elu": -1.0}
#: Activations whose odd part is linear: f(x) - f(-x) = gain·x for every x (silu and gelu are
#: x·g(x) with g(x) + g(-x) = 1; leaky relu's slope adds to the gain). A layer of neuron pairs
#: (h, -h) is then an exact identity with no shift: its inputs stay the size they were, so Adam
#: steps on the next layer keep their size (a shift of 20 made them 20 times larger, and the
#: arm's training blew up after the insert).
_ODD_PART: dict[str, float] = {"silu": 1.0, "gelu": 1.0, "leaky_relu": 1.0 + LEAKY_RELU_SLOPE}
#: tanh and sigmoid have no identity region: an inserted layer works near zero, where
#: tanh(εh)/ε = h - ε²h³/3 + ... and 4(σ(εh) - 1/2)/ε = h - ε²h³/12 + ...
SQUASH_SCALE = 0.1


@dataclass(frozen=True)
class Origin:
    """Where one new parameter's entries came from in the old module.

    Attributes:
        source: the old parameter's name.
        index: the new parameter's shape; the flat index of each entry's source in the old
            parameter, or -1 for an entry that is new.
        copied: the new parameter's shape; True where the entry is a copy of another neuron's
            (a split), not the same weight carried on.
    """

    source: str
    index: torch.Tensor
    copied: torch.Tensor

    def kept(self) -> torch.Tensor:
        """Entries that are the same weights as before (their history still describes them)."""
        return (self.index >= 0) & ~self.copied


@dataclass(frozen=True)
class StateMap:
    """How the parameters of a new module derive from an old one's.

    Attributes:
        old: the old module's parameters by name (the optimiser holds these very tensors).
        origins: for each new parameter name, its origin; a name absent here is a brand-new
            tensor whose optimiser state starts empty.
    """

    old: dict[str, torch.nn.Parameter]
    origins: dict[str, Origin]


@dataclass(frozen=True)
class Surgery:
    """The result of one structural operation."""

    architecture: Architecture
    module: torch.nn.Sequential
    state_map: StateMap
    #: One human line: what changed and why, for the log and the event stream.
    description: str


def linear_positions(arch: Architecture) -> list[int]:
    """Indices in ``arch.layers`` of the linear layers, in order."""
    return [i for i, layer in enumerate(arch.layers) if layer.kind == "linear"]


def hidden_widths(arch: Architecture) -> list[int]:
    """Widths of the hidden layers (every linear layer but the last)."""
    return [arch.layers[p].out_features or 0 for p in linear_positions(arch)[:-1]]


def hidden_block(arch: Architecture, hidden: int) -> tuple[int, str, int]:
    """The linear layer's position, its activation and the consuming linear layer's position.

    Raises:
        ValueError: no such hidden layer, or one that is not ``linear → activation``.
    """
    positions = linear_positions(arch)
    if not 0 <= hidden < len(positions) - 1:
        raise ValueError(
            f"hidden layer {hidden} does not exist: the network has {len(positions) - 1} "
            "hidden layers (numbered from 0)"
        )
    start, consumer = positions[hidden], positions[hidden + 1]
    between = [layer.kind for layer in arch.layers[start + 1 : consumer]]
    if len(between) != 1 or between[0] not in ACTIVATIONS:
        raise ValueError(
            f"hidden layer {hidden} is linear → {' → '.join(between) or 'nothing'}; structural "
            "changes need exactly one activation after the linear layer"
        )
    return start, between[0], consumer


def widen(
    arch: Architecture,
    module: torch.nn.Sequential,
    hidden: int,
    width: int,
    *,
    generator: torch.Generator,
    method: WidenMethod = "split",
) -> Surgery:
    """Add neurons to a hidden layer; the network computes the same function right after.

    ``"split"`` (Net2WiderNet) copies randomly chosen neurons and shares each one's outgoing
    weights among its copies: exact up to float rounding. The copies start with zero momentum
    in the optimiser (see carry_optimizer_state), which is what lets them drift apart.
    ``"fresh"`` adds neurons with random incoming weights (the spread of the layer's own) and
    zero outgoing weights: exact up to float rounding (the sums run in another order).

    Raises:
        ValueError: ``width`` not larger than the layer, or an unsupported block.
    """
    start, _, consumer = hidden_block(arch, hidden)
    old_width = _width(arch, start)
    if width <= old_width:
        raise ValueError(f"widen hidden layer {hidden} to {width}: it already has {old_width}")
    params = dict(module.named_parameters())
    w_in, b_in = params[f"{start}.weight"].detach(), params[f"{start}.bias"].detach()
    w_out = params[f"{consumer}.weight"].detach()
    extra = width - old_width
    if method == "split":
        chosen = torch.randint(old_width, (extra,), generator=generator).to(w_in.device)
        rows = torch.cat([torch.arange(old_width, device=w_in.device), chosen])
        shares = torch.bincount(rows, minlength=old_width).to(w_out.dtype)
        new_w_in, new_b_in = w_in[rows], b_in[rows]
        new_w_out = w_out[:, rows] / shares[rows]
        source_rows = rows
        copied = torch.arange(width, device=w_in.device) >= old_width
        how = f"split neurons {sorted(set(chosen.tolist()))}"
    elif method == "fresh":
        spread = float(w_in.std()) if w_in.numel() > 1 else 1.0
        drawn = torch.randn((extra, w_in.shape[1]), generator=generator) * spread
        new_w_in = torch.cat([w_in, drawn.to(w_in)])
        new_b_in = torch.cat([b_in, b_in.new_zeros(extra)])
        new_w_out = torch.cat([w_out, w_out.new_zeros(w_out.shape[0], extra)], dim=1)
        source_rows = _extend(torch.arange(old_width, device=w_in.device), extra)
        copied = torch.zeros(width, dtype=torch.bool, device=w_in.device)
        how = "fresh neurons with zero outgoing weights"
    else:
        raise ValueError(f"unknown widen method {method!r}; choose 'split' or 'fresh'")
    layers = list(arch.layers)
    layers[start] = _linear(layers[start].in_features, width)
    layers[consumer] = _linear(width, layers[consumer].out_features)
    new_arch = _with_layers(arch, layers)
    tensors = {
        f"{start}.weight": (new_w_in, _rows_origin(f"{start}.weight", w_in, source_rows, copied)),
        f"{start}.bias": (new_b_in, _rows_origin(f"{start}.bias", b_in, source_rows, copied)),
        f"{consumer}.weight": (
            new_w_out,
            _cols_origin(f"{consumer}.weight", w_out, source_rows, copied),
        ),
    }
    result = _assemble(module, new_arch, list(range(len(layers))), tensors)
    return Surgery(
        new_arch, *result, f"widened hidden layer {hidden} from {old_width} to {width}: {how}"
    )


def widen_conv(
    arch: Architecture,
    module: torch.nn.Sequential,
    conv: int,
    channels: int,
    *,
    generator: torch.Generator,
) -> Surgery:
    """Add feature maps to convolution ``conv`` (counted from 0); the network computes the same
    function right after.

    The new filters are drawn with the spread of the layer's own, with zero bias; whatever
    reads the maps next (the next convolution, or the linear layer after the last one) gets
    zero weights for them, so they change nothing until training gives them a use. The maps
    are stored channels last, so the reading linear layer's columns are re-spread: position q,
    channel c moves from column q·C + c to q·C' + c.

    Raises:
        ValueError: no such convolution, ``channels`` not more than it has, or a layer other
            than a convolution or a linear layer reading it.
    """
    convs = [i for i, layer in enumerate(arch.layers) if layer.kind == "conv"]
    if not 0 <= conv < len(convs):
        raise ValueError(f"convolution {conv} does not exist: the network has {len(convs)}")
    position = convs[conv]
    layer = arch.layers[position]
    old = layer.out_channels or 0
    if channels <= old:
        raise ValueError(f"widen convolution {conv} to {channels}: it already has {old}")
    reader = position + 1
    if reader >= len(arch.layers) or arch.layers[reader].kind not in ("conv", "linear"):
        raise ValueError(f"convolution {conv} is read by no convolution or linear layer")
    params = dict(module.named_parameters())
    weight, bias = params[f"{position}.weight"].detach(), params[f"{position}.bias"].detach()
    extra = channels - old
    spread = float(weight.std()) if weight.numel() > 1 else 1.0
    drawn = torch.randn((extra, *weight.shape[1:]), generator=generator) * spread
    rows = _extend(torch.arange(old, device=weight.device), extra)
    height, width, _ = layer.out_image
    passed = (layer.in_features or 0) - (layer.height or 0) * (layer.width or 0) * (
        layer.in_channels or 0
    )
    grown = layer.model_copy(
        update={"out_channels": channels, "out_features": height * width * channels + passed}
    )
    layers = list(arch.layers)
    layers[position] = Layer.model_validate(grown.model_dump())
    read = arch.layers[reader]
    read_weight = params[f"{reader}.weight"].detach()
    if read.kind == "conv":  # its input channels: the new ones read with zero weights
        columns = rows
        layers[reader] = Layer.model_validate(
            {
                **read.model_dump(),
                "in_channels": channels,
                "in_features": grown.out_features,
                "out_features": read.out_features,
            }
        )
    else:  # channels last: position q, channel c sits at column q * channels + c
        spots = torch.arange(height * width, device=weight.device)
        maps = torch.where(
            torch.arange(channels, device=weight.device)[None, :] < old,
            spots[:, None] * old + torch.arange(channels, device=weight.device)[None, :],
            -1,
        ).reshape(-1)
        rest = height * width * old + torch.arange(passed, device=weight.device)
        columns = torch.cat([maps, rest])
        layers[reader] = _linear(grown.out_features, read.out_features)
    new_read = torch.where(
        (columns >= 0).reshape(1, -1, *([1] * (read_weight.dim() - 2))),
        read_weight[:, columns.clamp(min=0)],
        0.0,
    )
    tensors = {
        f"{position}.weight": (
            torch.cat([weight, drawn.to(weight)]),
            _rows_origin(f"{position}.weight", weight, rows),
        ),
        f"{position}.bias": (
            torch.cat([bias, bias.new_zeros(extra)]),
            _rows_origin(f"{position}.bias", bias, rows),
        ),
        f"{reader}.weight": (new_read, _cols_origin(f"{reader}.weight", read_weight, columns)),
    }
    new_arch = _with_layers(arch, layers)
    result = _assemble(module, new_arch, list(range(len(layers))), tensors)
    return Surgery(
        new_arch,
        *result,
        f"widened convolution {conv} from {old} to {channels} feature maps: fresh filters "
        "read with zero weights",
    )


def neuron_importance(
    arch: Architecture, module: torch.nn.Sequential, hidden: int, inputs: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each neuron's importance and mean activation on ``inputs``.

    The importance is ``‖w_out[:, j]‖ · std(h_j)``: the spread of what neuron j adds to the
    next layer, which is what is lost when it goes and its mean is folded into the next bias.
    """
    start, _, consumer = hidden_block(arch, hidden)
    with torch.no_grad():
        activity = module[: start + 2](inputs)
        w_out = dict(module.named_parameters())[f"{consumer}.weight"]
        spread = activity.std(dim=0, unbiased=False)
        return w_out.norm(dim=0) * spread, activity.mean(dim=0)


def narrow(
    arch: Architecture,
    module: torch.nn.Sequential,
    hidden: int,
    width: int,
    *,
    inputs: torch.Tensor,
) -> Surgery:
    """Remove a hidden layer's least important neurons (see :func:`neuron_importance`).

    Each removed neuron's mean contribution on ``inputs`` is folded into the next layer's bias,
    so the next layer's pre-activation changes by ``w_out[:, removed] (h - mean h)`` only: zero
    for a neuron that was constant on the inputs.

    Raises:
        ValueError: ``width`` not smaller than the layer or below 1, or an unsupported block.
    """
    start, _, consumer = hidden_block(arch, hidden)
    old_width = _width(arch, start)
    if not 1 <= width < old_width:
        raise ValueError(
            f"narrow hidden layer {hidden} to {width}: choose 1 to {old_width - 1} neurons"
        )
    importance, mean = neuron_importance(arch, module, hidden, inputs)
    keep = torch.topk(importance, width).indices.sort().values
    dropped = torch.ones(old_width, dtype=torch.bool, device=keep.device)
    dropped[keep] = False
    params = dict(module.named_parameters())
    w_in, b_in = params[f"{start}.weight"].detach(), params[f"{start}.bias"].detach()
    w_out, b_out = params[f"{consumer}.weight"].detach(), params[f"{consumer}.bias"].detach()
    folded = b_out + w_out[:, dropped] @ mean[dropped]
    layers = list(arch.layers)
    layers[start] = _linear(layers[start].in_features, width)
    layers[consumer] = _linear(width, layers[consumer].out_features)
    new_arch = _with_layers(arch, layers)
    tensors = {
        f"{start}.weight": (w_in[keep], _rows_origin(f"{start}.weight", w_in, keep)),
        f"{start}.bias": (b_in[keep], _rows_origin(f"{start}.bias", b_in, keep)),
        f"{consumer}.weight": (w_out[:, keep], _cols_origin(f"{consumer}.weight", w_out, keep)),
        f"{consumer}.bias": (folded, _same_origin(f"{consumer}.bias", b_out)),
    }
    result = _assemble(module, new_arch, list(range(len(layers))), tensors)
    gone = dropped.nonzero().flatten().tolist()
    return Surgery(
        new_arch,
        *result,
        f"narrowed hidden layer {hidden} from {old_width} to {width}: removed neurons {gone}",
    )


def insert_layer(
    arch: Architecture,
    module: torch.nn.Sequential,
    hidden: int,
) -> Surgery:
    """Insert a new hidden layer (linear + the same activation) right after hidden layer
    ``hidden``, initialised so that the network computes (nearly) the same function.

    silu, gelu, leaky_relu: twice as many neurons as the layer before, in pairs (h, -h), which
    the next layer reads as (f(h) - f(-h)) / gain = h: exact, for every input. relu: the
    identity, exact (its inputs are never negative). elu: the identity on inputs shifted up by
    1 (elu outputs > -1), the next bias subtracting the shift: exact. tanh and sigmoid: the
    scale trick (weights ε·I, the next layer scaled by 1/ε, ε = SQUASH_SCALE): approximate, an
    error of about ε²|h|³/3 (tanh) or ε²|h|³/12 (sigmoid) per neuron before the next layer.

    Raises:
        ValueError: an unsupported block.
    """
    start, activation, consumer = hidden_block(arch, hidden)
    width = _width(arch, start)
    params = dict(module.named_parameters())
    w_next, b_next = params[f"{consumer}.weight"].detach(), params[f"{consumer}.bias"].detach()
    eye = torch.eye(width, dtype=w_next.dtype, device=w_next.device)
    new_width = width
    if activation in _ODD_PART:
        gain = _ODD_PART[activation]
        new_width = 2 * width
        w_new, b_new = torch.cat([eye, -eye]), b_next.new_zeros(new_width)
        w_next_new, b_next_new = torch.cat([w_next, -w_next], dim=1) / gain, b_next
        how = f"pairs f(h) - f(-h) = {gain:g}·h, exact"
    elif activation in ("tanh", "sigmoid"):
        scale = SQUASH_SCALE
        gain = 1.0 / scale if activation == "tanh" else 4.0 / scale
        offset = 0.0 if activation == "tanh" else 0.5
        w_new, b_new = eye * scale, b_next.new_zeros(width)
        w_next_new = w_next * gain
        b_next_new = b_next - w_next_new.sum(dim=1) * offset
        how = f"scaled identity (ε = {scale}), approximate"
    else:
        shift = -_LOWEST[activation]
        w_new, b_new = eye, b_next.new_full((width,), shift)
        w_next_new, b_next_new = w_next, b_next - w_next.sum(dim=1) * shift
        how = f"identity with inputs shifted by {shift:g}"
    layers = list(arch.layers)
    layers[consumer:consumer] = [_linear(width, new_width), Layer(kind=activation)]
    layers[consumer + 2] = _linear(new_width, layers[consumer + 2].out_features)
    new_arch = _with_layers(arch, layers)
    old_of_new: list[int | None] = [
        *range(consumer),
        None,
        None,
        *range(consumer, len(arch.layers)),
    ]
    moved = consumer + 2
    # the next layer's columns: each old column, then (paired) its negated copy
    columns = torch.arange(new_width, device=w_next.device) % width
    mirrored = torch.arange(new_width, device=w_next.device) >= width
    tensors = {
        f"{consumer}.weight": (w_new, None),
        f"{consumer}.bias": (b_new, None),
        f"{moved}.weight": (
            w_next_new,
            _cols_origin(f"{consumer}.weight", w_next, columns, mirrored),
        ),
        f"{moved}.bias": (b_next_new, _same_origin(f"{consumer}.bias", b_next)),
    }
    result = _assemble(module, new_arch, old_of_new, tensors)
    return Surgery(
        new_arch,
        *result,
        f"inserted a {new_width}-neuron {activation} layer after hidden {hidden}: {how}",
    )


def remove_layer(
    arch: Architecture, module: torch.nn.Sequential, hidden: int, *, inputs: torch.Tensor
) -> Surgery:
    """Remove hidden layer ``hidden`` (its linear layer and activation).

    The next linear layer is refitted by least squares on ``inputs`` so that its output (before
    its activation) matches the old one as closely as a linear map of the remaining layer can:
    exact when the removed layer acted linearly there (an identity layer just inserted).

    Raises:
        ValueError: an unsupported block, or fewer input rows than the width feeding the next
            layer plus one (the fit would be underdetermined).
    """
    start, _, consumer = hidden_block(arch, hidden)
    feeding = arch.layers[start].in_features or 0
    if inputs.shape[0] <= feeding:
        raise ValueError(
            f"removing hidden layer {hidden} refits the next layer from {feeding} values: give "
            f"more than {feeding} sample inputs (got {inputs.shape[0]})"
        )
    with torch.no_grad():
        before = module[:start](inputs).double()
        target = module[: consumer + 1](inputs).double()
    design = torch.cat([before, before.new_ones(before.shape[0], 1)], dim=1)
    solution = torch.linalg.lstsq(design.cpu(), target.cpu(), driver="gelsd").solution
    w_next = dict(module.named_parameters())[f"{consumer}.weight"]
    w_fit = solution[:-1].T.to(w_next).contiguous()
    b_fit = solution[-1].to(w_next)
    layers = list(arch.layers)
    layers[consumer] = _linear(feeding, layers[consumer].out_features)
    del layers[start : start + 2]
    new_arch = _with_layers(arch, layers)
    old_of_new: list[int | None] = [
        *range(start),
        *range(start + 2, len(arch.layers)),
    ]
    fitted = consumer - 2
    tensors = {f"{fitted}.weight": (w_fit, None), f"{fitted}.bias": (b_fit, None)}
    result = _assemble(module, new_arch, old_of_new, tensors)
    width = _width(arch, start)
    return Surgery(
        new_arch,
        *result,
        f"removed hidden layer {hidden} ({width} neurons); refitted the next layer on "
        f"{inputs.shape[0]} inputs",
    )


def _width(arch: Architecture, position: int) -> int:
    return arch.layers[position].out_features or 0


def _with_layers(arch: Architecture, layers: list[Layer]) -> Architecture:
    """A validated architecture (model_copy would skip the checks that sizes chain)."""
    return Architecture(kind=arch.kind, inputs=arch.inputs, outputs=arch.outputs, layers=layers)


def _linear(size_in: int | None, size_out: int | None) -> Layer:
    return Layer(kind="linear", in_features=size_in, out_features=size_out)


def _extend(rows: torch.Tensor, extra: int) -> torch.Tensor:
    return torch.cat([rows, rows.new_full((extra,), -1)])


def _same_origin(name: str, old: torch.Tensor) -> Origin:
    index = torch.arange(old.numel(), device=old.device).reshape(old.shape)
    return Origin(name, index, torch.zeros_like(index, dtype=torch.bool))


def _rows_origin(
    name: str, old: torch.Tensor, rows: torch.Tensor, copied: torch.Tensor | None = None
) -> Origin:
    """New rows (first dimension) taken from old rows ``rows`` (-1: a new row); ``copied``
    marks rows that copy another neuron."""
    shape = (rows.shape[0], *old.shape[1:])
    per_row = math.prod(old.shape[1:])
    inner = torch.arange(per_row, device=old.device)
    index = torch.where(rows[:, None] >= 0, rows[:, None] * per_row + inner[None, :], -1)
    marks = (
        torch.zeros(rows.shape[0], dtype=torch.bool, device=old.device)
        if copied is None
        else copied
    )
    return Origin(name, index.reshape(shape), marks[:, None].expand(-1, per_row).reshape(shape))


def _cols_origin(
    name: str, old: torch.Tensor, cols: torch.Tensor, copied: torch.Tensor | None = None
) -> Origin:
    """A weight (a matrix, or a convolution's filters) whose entries along dimension 1 come
    from old columns ``cols`` (-1: a new column); ``copied`` marks columns that copy another."""
    flat = torch.arange(old.numel(), device=old.device).reshape(old.shape)
    shape = (1, -1, *([1] * (old.dim() - 2)))  # broadcasts a per-column mark over the rest
    picked = flat[:, cols.clamp(min=0)]
    index = torch.where((cols < 0).reshape(shape), -1, picked)
    marks = torch.zeros_like(cols, dtype=torch.bool) if copied is None else copied
    return Origin(name, index, marks.reshape(shape).expand_as(picked).clone())


def _assemble(
    module: torch.nn.Sequential,
    new_arch: Architecture,
    old_of_new: list[int | None],
    tensors: Mapping[str, tuple[torch.Tensor, Origin | None]],
) -> tuple[torch.nn.Sequential, StateMap]:
    """Build the new module: ``tensors`` where given, else each layer's old state (parameters
    and buffers) moved from position ``old_of_new[j]`` to ``j``."""
    old_state = module.state_dict()
    old_params = dict(module.named_parameters())
    new_state: dict[str, torch.Tensor] = {}
    origins: dict[str, Origin] = {}
    for name, (tensor, origin) in tensors.items():
        new_state[name] = tensor
        if origin is not None:
            origins[name] = origin
    for name in new_arch.parameter_shapes():
        if name in new_state:
            continue
        position, _, leaf = name.partition(".")
        old_position = old_of_new[int(position)]
        assert old_position is not None, f"{name} is new but was not given"
        old_name = f"{old_position}.{leaf}"
        new_state[name] = old_state[old_name]
        if old_name in old_params:
            origins[name] = _same_origin(old_name, old_state[old_name])
    device = next(iter(old_state.values())).device
    built = build_module(new_arch, init="default", generator=torch.Generator().manual_seed(0))
    built = built.to(device)
    built.load_state_dict({k: v.detach().clone() for k, v in new_state.items()}, strict=True)
    return built, StateMap(old_params, origins)
