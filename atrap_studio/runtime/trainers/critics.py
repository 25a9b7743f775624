"""The critics trial-and-reward trainers learn beside the policy: shaped like the actor."""

from __future__ import annotations

from typing import Any

from atrap_studio.runtime.networks import ACTIVATIONS, Architecture, mlp


def critic_architecture(actor: Architecture, *, action_inputs: int = 0) -> Architecture:
    """A value network shaped like the actor (convolution layers, hidden sizes, activation),
    one unsquashed output.

    A state-value critic (PPO) takes the actor's inputs behind the same kind of input
    normaliser; an action-value critic (SAC) takes the normalised state and ``action_inputs``
    action values after it, so it has no normaliser of its own (actions are already in [-1, 1]).
    An actor that sees a picture gets a critic that sees it through convolutions of its own.
    """
    linear = [i for i, layer in enumerate(actor.layers) if layer.kind == "linear"]
    hidden = [actor.layers[i].out_features or 0 for i in linear[:-1]]
    activation = next(
        (layer.kind for layer in actor.layers[: linear[-1]] if layer.kind in ACTIVATIONS), "tanh"
    )
    normalize = action_inputs == 0 and any(layer.kind == "normalize" for layer in actor.layers)
    convs = [layer for layer in actor.layers if layer.kind == "conv"]
    seeing: dict[str, Any] = {}
    if convs:  # the same convolutions over the same picture, weights of its own
        first = convs[0]
        assert first.height and first.width and first.in_channels
        seeing = {
            "image": (first.height, first.width, first.in_channels),
            "conv_channels": [layer.out_channels or 1 for layer in convs],
            "conv_kernel": first.kernel or 1,
            "conv_stride": first.stride or 1,
        }
    return mlp(
        actor.inputs + action_inputs,
        hidden,
        1,
        activation=activation,
        output_activation=None,
        normalize_inputs=normalize,
        **seeing,
    )
