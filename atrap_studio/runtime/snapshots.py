"""Snapshots: what the views draw, copied out of a running pipeline as plain numpy arrays.

The views never touch the live scene or network: the runner copies a snapshot between two
updates when a view asks for one (at most one pending request, so a slow view gets fewer frames
and training never waits for it). Arrays are small: a few instances of the scene, and the
network's weights once per frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from atrap_studio.ik.rotations import angle_between
from atrap_studio.runtime.networks import ImageConv, Normalize


@dataclass(frozen=True)
class ArmSnapshot:
    """Some instances of a robot-arm scene.

    Attributes:
        instances: which instances these are (indices into the scene's batch).
        joints: joint positions from the base to the tip, (K, J + 1, 3) in metres.
        target: (K, 3) targets; error_mm (K,) tip-to-target distances; success (K,) bool.
        reach: the arm's full reach in metres (for framing the view).
        user_targets: instances whose target the user placed.
        target_rotation, tip_rotation: (K, 3, 3) orientations of the targets and of the tips
            (columns: the frame's axes in world coordinates), and error_deg (K,) the angle
            between them; only where the scene judges orientation (``success_deg`` above 0),
            else None.
    """

    instances: np.ndarray
    joints: np.ndarray
    target: np.ndarray
    error_mm: np.ndarray
    success: np.ndarray
    reach: float
    user_targets: tuple[int, ...] = ()
    target_rotation: np.ndarray | None = None
    tip_rotation: np.ndarray | None = None
    error_deg: np.ndarray | None = None
    #: The renderers (live view, headless pictures, web page) are chosen by this.
    kind: ClassVar[str] = "arm"


@dataclass(frozen=True)
class FrameSnapshot:
    """Pictures of some instances of a scene that draws itself (a gymnasium environment).

    Attributes:
        instances: which instances these are.
        frames: one (H, W, 3) uint8 RGB picture per instance drawn (may be fewer than
            ``instances``, or none, when the scene cannot draw them; ``note`` says why).
        returns: (K,) the reward gathered so far in each shown instance's episode.
        lengths: (K,) steps so far in each shown instance's episode.
        title: what the scene is (an environment id).
        note: why no frame is shown, when none is.
    """

    instances: np.ndarray
    frames: tuple[np.ndarray, ...]
    returns: np.ndarray
    lengths: np.ndarray
    title: str
    note: str = ""
    kind: ClassVar[str] = "frame"


@dataclass(frozen=True)
class NetworkSnapshot:
    """The network's linear layers and, on one instance, every layer's activations.

    Attributes:
        sizes: neurons per layer, the inputs first: ``[in, h1, ..., out]``.
        weights: one (out, in) matrix per linear layer.
        biases: one (out,) vector per linear layer.
        activations: the values of each layer's neurons (after its activation function) for
            the observation of ``instance``, inputs first.
        instance: which scene instance the activations are for.
    """

    sizes: tuple[int, ...]
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    activations: tuple[np.ndarray, ...]
    instance: int


def arm_snapshot(scene: Any, instances: list[int]) -> ArmSnapshot:
    """Copy the given instances of an :class:`~atrap_studio.runtime.arm_scene.ArmScene`."""
    count = int(scene.q.shape[0])
    index = torch.tensor([i for i in instances if 0 <= i < count] or [0], dtype=torch.int64)
    with torch.no_grad():
        rotations, joints = scene.chain.frames(scene.q.detach()[index])
        target = scene.target.detach()[index]
        error = torch.linalg.vector_norm(target - joints[:, -1], dim=-1)
        success = error < scene.success_m
        turns: dict[str, np.ndarray] = {}
        if scene.success_rad > 0:
            tip, aimed = rotations[:, -1], scene.target_rotation.detach()[index]
            angle = angle_between(tip, aimed)
            success = success & (angle < scene.success_rad)
            turns = {
                "target_rotation": aimed.numpy().astype(np.float32),
                "tip_rotation": tip.numpy().astype(np.float32),
                "error_deg": np.degrees(angle.numpy()).astype(np.float32),
            }
    return ArmSnapshot(
        instances=index.numpy().copy(),
        joints=joints.numpy().astype(np.float32),
        target=target.numpy().astype(np.float32),
        error_mm=(error * 1000.0).numpy().astype(np.float32),
        success=success.numpy(),
        reach=float(scene.geometry.reach),
        user_targets=tuple(sorted(scene.user_targets)),
        **turns,
    )


def network_snapshot(
    network: torch.nn.Module, observation: torch.Tensor, instance: int
) -> NetworkSnapshot:
    """Copy a sequential network's weighted layers and its activations on one observation.

    A convolution layer is shown as the dense map it computes (each feature-map pixel a neuron
    linked to the pixels its filter reads, the passed-through inputs linked one to one), when
    that map is small enough to copy at every frame; otherwise its links are left out.
    """
    weighted = [m for m in network.modules() if isinstance(m, torch.nn.Linear | ImageConv)]
    with torch.no_grad():
        x = observation.detach()[instance : instance + 1].float()
        activations = [x[0].clone()]
        layers = list(network.children()) if isinstance(network, torch.nn.Sequential) else []
        for position, layer in enumerate(layers):
            x = layer(x)
            follows_linear = isinstance(layer, torch.nn.Linear)
            nxt = layers[position + 1] if position + 1 < len(layers) else None
            # a neuron's value is taken after its activation function, if one follows
            if (follows_linear and not _is_activation(nxt)) or (
                not follows_linear and not isinstance(layer, torch.nn.LayerNorm | Normalize)
            ):
                activations.append(x[0].clone())
        sizes: list[int] = [int(observation.shape[-1])] if weighted else []
        weights, biases = [], []
        for module in weighted:
            weight, bias = _dense(module, sizes[-1])
            weights.append(weight)
            biases.append(bias)
            sizes.append(int(bias.shape[0]))
    acts = tuple(a.numpy().astype(np.float32) for a in activations)
    if len(acts) != len(sizes):  # not a plain stack of weighted layers: no activations to show
        acts = tuple(np.zeros(n, np.float32) for n in sizes)
    return NetworkSnapshot(tuple(sizes), tuple(weights), tuple(biases), acts, instance)


#: Largest dense copy of a convolution layer (entries) the views are sent at every frame.
MAX_DENSE_CONV = 2_000_000


def _dense(module: torch.nn.Module, inputs: int) -> tuple[np.ndarray, np.ndarray]:
    """A weighted layer as an (out, in) matrix and an (out,) bias, as numpy float32."""
    if isinstance(module, torch.nn.Linear):
        bias: torch.Tensor = (
            module.bias if module.bias is not None else torch.zeros(module.out_features)
        )
        return (
            module.weight.detach().numpy().astype(np.float32),
            bias.detach().numpy().astype(np.float32),
        )
    assert isinstance(module, ImageConv)
    height, width, channels = module.image
    rest = inputs - module.size
    image = torch.zeros(1, module.size).reshape(1, height, width, channels).permute(0, 3, 1, 2)
    maps = torch.nn.functional.conv2d(image, module.weight, module.bias, stride=module.strides)
    bias = torch.cat([maps.permute(0, 2, 3, 1).reshape(-1), torch.zeros(rest)])
    outputs = int(bias.shape[0])
    if outputs * inputs > MAX_DENSE_CONV:
        return np.zeros((outputs, inputs), np.float32), bias.numpy().astype(np.float32)
    basis = torch.eye(module.size).reshape(-1, height, width, channels).permute(0, 3, 1, 2)
    columns = torch.nn.functional.conv2d(basis, module.weight, stride=module.strides)
    dense = torch.zeros(outputs, inputs)
    dense[: outputs - rest, : module.size] = columns.permute(0, 2, 3, 1).reshape(module.size, -1).T
    dense[outputs - rest :, module.size :] = torch.eye(rest)
    return dense.numpy().astype(np.float32), bias.numpy().astype(np.float32)


def _is_activation(layer: torch.nn.Module | None) -> bool:
    return layer is not None and not isinstance(
        layer, torch.nn.Linear | torch.nn.LayerNorm | Normalize | ImageConv
    )
