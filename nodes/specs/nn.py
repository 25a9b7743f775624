"""Network node specs: the NN Factory builds the agent's brain from properties."""

from __future__ import annotations

from atrap_studio.core.specs import NodeSpec, PortSpec, PropSpec

ACTIVATIONS = ("tanh", "relu", "elu", "gelu", "silu", "leaky_relu", "sigmoid")

FACTORY = NodeSpec(
    type="nn.factory",
    version=1,
    title="NN Factory",
    category="nn",
    help=(
        "Builds a neural network (a multilayer perceptron) from its properties. Its input size "
        "is the sum of the sensors linked into 'state'; its output size is what the linked "
        "actions need."
    ),
    impl="atrap_studio.nodes.impl.nn:NNFactory",
    inputs=(
        PortSpec(
            "state",
            "Vector",
            "What the network sees: link one or more sensors (they are concatenated).",
            multiple=True,
        ),
    ),
    outputs=(
        PortSpec("action", "Vector", "The network's decision, in [-1, 1] per value."),
        PortSpec("network", "Network", "The network itself, for a trainer to train."),
    ),
    props=(
        PropSpec(
            "hidden",
            "int_list",
            [128, 128],
            "Neurons in each hidden layer, e.g. [128, 128].",
            min=1,
            max=65_536,
            max_items=32,
        ),
        PropSpec("activation", "choice", "tanh", "Activation between layers.", choices=ACTIVATIONS),
        PropSpec(
            "output",
            "choice",
            "tanh",
            "Output squashing: tanh keeps actions in [-1, 1]; linear leaves them free.",
            choices=("tanh", "linear"),
        ),
        PropSpec(
            "init",
            "choice",
            "orthogonal",
            "How the first weights are drawn.",
            choices=("orthogonal", "xavier", "kaiming", "default"),
        ),
        PropSpec("seed", "int", 0, "Seed of the initial weights.", min=0, max=2**31 - 1),
    ),
)

SPECS = (FACTORY,)
