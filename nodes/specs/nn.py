"""Network node specs: the NN Factory builds the agent's brain from properties."""

from __future__ import annotations

from atrap_studio.core.specs import Facts, NodeSpec, PortSpec, Props, PropSpec

ACTIVATIONS = ("tanh", "relu", "elu", "gelu", "silu", "leaky_relu", "sigmoid")


def _growth_bounds_agree(props: Props, facts: Facts) -> list[tuple[str, str, str]]:
    if props.get("grow", "off") == "off":
        return []
    low, high = int(props["grow_min_width"]), int(props["grow_max_width"])
    if low > high:
        return [
            (
                "grow_min_width",
                f"the smallest width ({low}) is above the largest ({high})",
                "make grow_min_width at most grow_max_width",
            )
        ]
    return []


FACTORY = NodeSpec(
    type="nn.factory",
    version=1,
    title="NN Factory",
    category="nn",
    help=(
        "Builds a neural network (a multilayer perceptron) from its properties. Its input size "
        "is the sum of the sensors linked into 'state'; its output size is what the linked "
        "actions need. A picture linked into 'image' is first read by a small convolutional "
        "network (the 'conv_' properties), whose findings join the other sensors. Its hidden "
        "layers can grow and shrink while it trains (the 'grow' properties)."
    ),
    impl="atrap_studio.nodes.impl.nn:NNFactory",
    inputs=(
        PortSpec(
            "state",
            "Vector",
            "What the network sees: link one or more sensors (they are concatenated).",
            multiple=True,
        ),
        PortSpec(
            "image",
            "Image",
            "A picture the network sees (a camera's 'image'), read by convolution layers.",
            required=False,
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
            [128, 128, 128],
            "Neurons in each hidden layer. Three layers of 128 learn the arm's reach to 1 cm "
            "fastest (wider and deeper learn as precisely, but each update costs more); small "
            "scenes learned by trial (CartPole) do well with [64, 64].",
            min=1,
            max=65_536,
            max_items=32,
        ),
        PropSpec(
            "activation",
            "choice",
            "silu",
            "Activation between layers (silu suits deep networks; tanh is usual for small ones).",
            choices=ACTIVATIONS,
        ),
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
        PropSpec(
            "normalize_inputs",
            "bool",
            False,
            "Scale each input by the running mean and spread of what the network has seen in "
            "training (kept in the network file, so a shared network reads inputs the same way). "
            "Helps when inputs differ in size, as angles and distances do.",
        ),
        PropSpec(
            "conv_channels",
            "int_list",
            [16, 32],
            "With a picture linked into 'image': feature maps of each convolution layer, in "
            "order (more: sees more kinds of things, learns slower).",
            min=1,
            max=1_024,
            max_items=8,
        ),
        PropSpec(
            "conv_kernel",
            "int",
            5,
            "Width in pixels of each convolution's filter (at most the picture's width).",
            min=1,
            max=64,
        ),
        PropSpec(
            "conv_stride",
            "int",
            2,
            "Pixels each filter moves at a time: 2 halves the picture at every layer.",
            min=1,
            max=16,
        ),
        PropSpec("seed", "int", 0, "Seed of the initial weights.", min=0, max=2**31 - 1),
        PropSpec(
            "grow",
            "choice",
            "off",
            "Let the hidden layers grow and shrink while the network trains. 'kalman': an "
            "architect follows the training error the way radar follows a target: it grows the "
            "network when the error stalls or jumps, and shrinks it while the error falls fast "
            "or sits at its target, so the network stays as small as the task allows. "
            "'schedule': grows every 'grow_every' updates (a baseline to compare with).",
            choices=("off", "kalman", "schedule"),
        ),
        PropSpec(
            "grow_every",
            "int",
            200,
            "Updates between two changes of the network: the schedule's period, and the "
            "architect's rest after a change while it learns the new network's error.",
            min=3,
            max=10_000_000,
        ),
        PropSpec(
            "grow_target",
            "float",
            0.0,
            "The training error to reach, in the scene's units (the arm: mm): the network does "
            "not grow while below it, and shrinks when surely at it. 0: no target.",
            min=0.0,
            max=1e12,
        ),
        PropSpec(
            "grow_step",
            "float",
            0.25,
            "Share of a layer's neurons one change adds or removes (at least one neuron).",
            min=0.01,
            max=1.0,
        ),
        PropSpec(
            "grow_min_width",
            "int",
            4,
            "Fewest neurons a hidden layer may shrink to.",
            min=1,
            max=65_536,
        ),
        PropSpec(
            "grow_max_width",
            "int",
            256,
            "Most neurons a hidden layer may grow to; past it, a new layer is added.",
            min=1,
            max=65_536,
        ),
        PropSpec(
            "grow_max_layers",
            "int",
            4,
            "Most hidden layers the network may grow to.",
            min=1,
            max=32,
        ),
    ),
    checks=(_growth_bounds_agree,),
)

_STATE = PortSpec(
    "state",
    "Vector",
    "What the network sees: link the same sensors, in the same order, as when it was trained.",
    multiple=True,
)
_IMAGE = PortSpec(
    "image",
    "Image",
    "The picture the network was trained to see, if it sees one (the same camera).",
    required=False,
)
_OUTPUTS = (
    PortSpec("action", "Vector", "The network's decision, in [-1, 1] per value."),
    PortSpec("network", "Network", "The network itself, for a trainer to train on."),
)


def names_a_network_file(props: Props, facts: Facts) -> list[tuple[str, str, str]]:
    """The check of a node's ``file`` property that must name an .atrapnet file."""
    name = str(props.get("file", "")).strip()
    if not name:
        return [("file", "no network file is chosen", "choose an .atrapnet file")]
    if not name.endswith(".atrapnet"):
        return [("file", f"{name!r} is not an .atrapnet file", "choose an .atrapnet file")]
    return []


LOAD = NodeSpec(
    type="nn.load",
    version=1,
    title="Load network",
    category="nn",
    help=(
        "A network from an .atrapnet file (yours, or one someone shared) in place of a fresh "
        "NN Factory: training continues from its weights. The file is checked before use, "
        "and refused when its inputs or outputs do not match this graph's sensors and actions."
    ),
    impl="atrap_studio.nodes.impl.nn:NNLoad",
    inputs=(_STATE, _IMAGE),
    outputs=_OUTPUTS,
    props=(
        PropSpec(
            "file",
            "str",
            "",
            "The .atrapnet file; a relative name is read from the graph's folder.",
            required=True,
            file_types=(".atrapnet",),
        ),
    ),
    checks=(names_a_network_file,),
)


def _names_networks_to_merge(props: Props, facts: Facts) -> list[tuple[str, str, str]]:
    names = [str(name).strip() for name in props.get("files", [])]
    if len(names) < 2:
        return [("files", "merging needs at least two network files", "add .atrapnet files")]
    wrong = [name for name in names if not name.endswith(".atrapnet")]
    if wrong:
        return [("files", f"{wrong[0]!r} is not an .atrapnet file", "list .atrapnet files")]
    return []


MERGE = NodeSpec(
    type="nn.merge",
    version=1,
    title="Merge networks",
    category="nn",
    help=(
        "One network made from several trained apart (for example each in its own region of "
        "the world), then trained on here. 'distill' teaches a fresh network to answer like "
        "each one on the states of its own scene and works for any of them; 'average' "
        "averages the weights of networks that grew from one initialisation."
    ),
    impl="atrap_studio.nodes.impl.nn:NNMerge",
    inputs=(_STATE,),
    outputs=_OUTPUTS,
    props=(
        PropSpec(
            "files",
            "str_list",
            [],
            "The .atrapnet files to merge; relative names are read from the graph's folder.",
            required=True,
            min_items=2,
            max_items=64,
            file_types=(".atrapnet",),
        ),
        PropSpec("method", "choice", "distill", "How to merge.", choices=("distill", "average")),
        PropSpec(
            "distill_steps",
            "int",
            2000,
            "Steps of distillation (a few seconds per thousand for small networks).",
            min=1,
            max=1_000_000,
        ),
    ),
    checks=(_names_networks_to_merge,),
)


def _saves_inside_the_run_folder(props: Props, facts: Facts) -> list[tuple[str, str, str]]:
    name = str(props.get("file", "")).strip()
    if not name.endswith(".atrapnet"):
        return [("file", f"{name!r} is not an .atrapnet file name", "end it with .atrapnet")]
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "~")) or ":" in parts[0] or ".." in parts:
        return [
            (
                "file",
                f"{name!r} points outside the run's folder",
                "give a name inside the run's folder, e.g. saves/network-{update}.atrapnet",
            )
        ]
    return []


SAVE = NodeSpec(
    type="nn.save",
    version=1,
    title="Save network",
    category="helper",
    help=(
        "Saves the network being trained to an .atrapnet file on a schedule, with where it "
        "came from, so it can be shared, loaded, merged or resumed."
    ),
    impl="atrap_studio.nodes.impl.nn:NNSave",
    inputs=(PortSpec("network", "Network", "The network to save (link a network's output)."),),
    props=(
        PropSpec(
            "file",
            "str",
            "network-{update}.atrapnet",
            "File name inside the run's output folder; {update} becomes the update number "
            "(keeping every save).",
            file_types=(".atrapnet",),
        ),
        PropSpec("every", "int", 500, "Save every this many updates.", min=1, max=10**9),
    ),
    checks=(_saves_inside_the_run_folder,),
)

SPECS = (FACTORY, LOAD, MERGE, SAVE)
