"""A policy as one self-contained web page: the network drives a drawn arm in any browser.

The page carries the network's JSON form and the arm's geometry, and re-implements the layers,
the forward kinematics, the sensors and the action in plain JavaScript (in float64), so that
someone without Python or torch can watch a trained network reach for a target that follows
the mouse. Nothing is fetched: the file works offline and can be mailed around. The layers'
script (``network.js``) and the filling of a template are shared with the pages of scene
plug-ins (the tank arena's).
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

import torch

from atrap_studio.core.yaml_io import write_text_atomic
from atrap_studio.ik.chain import ArmGeometry
from atrap_studio.ik.rotations import ORIENTATION_ENCODINGS
from atrap_studio.runtime.netfile import LoadedNetwork, PortMeaning
from atrap_studio.runtime.netjson import network_to_json
from atrap_studio.runtime.networks import NORMALIZE_CLIP, NORMALIZE_EPS, Normalize

#: Sensors and actions the page re-implements; anything else is refused before writing.
SENSOR_TYPES = (
    "sensor.joint_angles",
    "sensor.target_position",
    "sensor.effector_position",
    "sensor.distance_to_target",
    "sensor.effector_orientation",
    "sensor.target_orientation",
    "sensor.orientation_to_target",
    "sensor.joint_pull",
)
#: Sensors that read the target's orientation: the page then lets the person turn the target.
_READS_TARGET_TURN = ("sensor.target_orientation", "sensor.orientation_to_target")
ACTION_TYPES = ("action.joint_targets", "action.joint_deltas")
_TOKEN = re.compile(r"__ATRAP_(TITLE|DATA|NETWORK)__")


def write_policy_page(
    path: str | os.PathLike[str], network: LoadedNetwork, geometry: ArmGeometry
) -> None:
    """Write the page for ``network`` driving an arm of ``geometry`` (atomically).

    Raises:
        ValueError: the manifest has a sensor, action or layer the page cannot run, or sizes
            that do not fit the arm; no file is written then.
    """
    write_text_atomic(policy_page_html(network, geometry), path)


def write_arm_page(
    path: str | os.PathLike[str], network: LoadedNetwork, props: Mapping[str, Any]
) -> None:
    """Write the page for ``network`` on the arm that a robot-arm scene's properties describe.

    Raises:
        ValueError: the properties are not a valid arm, or the page cannot run the network.
    """
    try:
        geometry = ArmGeometry.from_props(
            props["joints"], props["axes"], props["link_lengths"], props["limits_deg"]
        )
    except ValueError as exc:
        raise ValueError(f"the scene it names is not a valid arm: {exc}") from None
    write_policy_page(path, network, geometry)


def policy_page_html(network: LoadedNetwork, geometry: ArmGeometry) -> str:
    """The page's text (see :func:`write_policy_page`)."""
    manifest = network.manifest
    data = {
        "title": network_title(network, "ATRAP policy"),
        "about": network_about(network),
        "network": network_to_json(network),
        "layers": network_layers(network.module),
        "geometry": {
            "axes": list(geometry.axes),
            "link_lengths": list(geometry.link_lengths),
            "limits": [list(pair) for pair in geometry.limits],
        },
        "inputs": [_sensor(port, geometry.joints) for port in manifest.inputs],
        "turns_target": any(port.type in _READS_TARGET_TURN for port in manifest.inputs),
        "action": _action(manifest.outputs, geometry.joints),
    }
    return fill_page("policy_page.html", data)


def fill_page(template: str, data: dict[str, Any]) -> str:
    """The page ``template`` (a file of resources/web) with ``data["title"]``, ``data`` as JSON
    and the layers' script put in place of its ``__ATRAP_TITLE__``, ``__ATRAP_DATA__`` and
    ``__ATRAP_NETWORK__``."""
    # "<" only ever occurs inside JSON strings, where \u003c means the same: no "</script>".
    text = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    values = {"TITLE": html.escape(str(data["title"])), "DATA": text, "NETWORK": _web("network.js")}
    page = _web(template)
    if sorted(_TOKEN.findall(page)) != ["DATA", "NETWORK", "TITLE"]:
        raise RuntimeError(
            f"{template} must hold __ATRAP_TITLE__, __ATRAP_DATA__ and __ATRAP_NETWORK__ once"
        )
    # One pass, so that a token inside the inserted text is never replaced in turn.
    return _TOKEN.sub(lambda match: values[match.group(1)], page)


def _web(name: str) -> str:
    return (resources.files("atrap_studio.resources") / "web" / name).read_text(encoding="utf-8")


def _provenance(network: LoadedNetwork) -> dict[str, Any]:
    """The provenance as plain data, whichever form the manifest keeps it in."""
    provenance = network.manifest.model_dump(mode="json").get("provenance")
    return provenance if isinstance(provenance, dict) else {}


def network_title(network: LoadedNetwork, what: str) -> str:
    """``<graph name> — <what>``, or ``what`` alone for a network without a graph name."""
    provenance = _provenance(network)
    graph = provenance.get("graph_name") or provenance.get("graph")
    return f"{graph} — {what}" if isinstance(graph, str) and graph else what


def network_about(network: LoadedNetwork) -> str:
    """One line for the reader: what the network sees, does, and how it was trained."""
    manifest = network.manifest
    seen = list(dict.fromkeys(_spoken(p.type) for p in manifest.inputs))
    sees = " and ".join([", ".join(seen[:-1]), seen[-1]] if len(seen) > 1 else seen)
    action = _spoken(manifest.outputs[0].type) if manifest.outputs else "?"
    parts = [f"sees {sees}", f"acts by {action}"]
    trainer, steps = manifest.training.get("trainer"), manifest.training.get("steps")
    if isinstance(trainer, str):
        updates = f" for {steps:,} updates" if isinstance(steps, int) and steps else ""
        parts.append(f"trained by the {_spoken(trainer)} trainer{updates}")
    who = _provenance(network).get("trained_by")
    if isinstance(who, str) and who:
        parts.append(f"by {who}")
    return "; ".join(parts)


def _spoken(type_id: str) -> str:
    """A node type as words for the page's reader (issue 12: no ids): ``sensor.joint_angles``
    reads "joint angles", ``trainer.ppo`` "PPO"."""
    name = type_id.partition(".")[2] or type_id
    return name.upper() if len(name) <= 3 else name.replace("_", " ")


def network_layers(module: torch.nn.Sequential) -> list[dict[str, Any]]:
    """Each layer's kind and constants, read from the module so the page uses torch's own."""
    layers: list[dict[str, Any]] = []
    for index, layer in enumerate(module):
        if isinstance(layer, torch.nn.Linear):
            layers.append({"kind": "linear", "in": layer.in_features, "out": layer.out_features})
        elif isinstance(layer, torch.nn.LayerNorm):
            if len(layer.normalized_shape) != 1 or not layer.elementwise_affine:
                raise ValueError(f"layer {index}: the page runs 1-D affine layer norms only")
            layers.append({"kind": "layernorm", "eps": float(layer.eps)})
        elif isinstance(layer, Normalize):
            layers.append({"kind": "normalize", "eps": NORMALIZE_EPS, "clip": NORMALIZE_CLIP})
        elif isinstance(layer, torch.nn.LeakyReLU):
            layers.append({"kind": "leaky_relu", "slope": float(layer.negative_slope)})
        elif isinstance(layer, torch.nn.ELU):
            layers.append({"kind": "elu", "alpha": float(layer.alpha)})
        elif isinstance(layer, torch.nn.GELU) and layer.approximate != "none":
            raise ValueError(f"layer {index}: the page runs exact GELU only, not tanh-approximated")
        else:
            kind = _activation_kind(layer)
            if kind is None:
                raise ValueError(
                    f"layer {index} ({type(layer).__name__}) is not one the web page can run"
                )
            layers.append({"kind": kind})
    return layers


_PLAIN_ACTIVATIONS: dict[type[torch.nn.Module], str] = {
    torch.nn.Tanh: "tanh",
    torch.nn.ReLU: "relu",
    torch.nn.GELU: "gelu",
    torch.nn.SiLU: "silu",
    torch.nn.Sigmoid: "sigmoid",
}


def _activation_kind(layer: torch.nn.Module) -> str | None:
    return _PLAIN_ACTIVATIONS.get(type(layer))


def _sensor(port: PortMeaning, joints: int) -> dict[str, Any]:
    """A sensor as the page reads it, props resolved to their defaults, size checked."""
    if port.type not in SENSOR_TYPES:
        raise ValueError(
            f"the web page cannot compute input '{port.node}' of type {port.type!r}; "
            f"it knows {', '.join(SENSOR_TYPES)}"
        )
    resolved: dict[str, Any] = {"node": port.node, "type": port.type}
    if port.type == "sensor.joint_angles":
        encoding = port.props.get("encoding", "radians")
        if encoding not in ("radians", "quaternion"):
            raise ValueError(f"input '{port.node}': unknown joint encoding {encoding!r}")
        resolved["encoding"] = encoding
        expected = joints * (4 if encoding == "quaternion" else 1)
    elif port.type == "sensor.distance_to_target":
        mode = port.props.get("mode", "vector")
        if mode not in ("vector", "direction", "length", "log_length"):
            raise ValueError(f"input '{port.node}': unknown distance mode {mode!r}")
        resolved["mode"] = mode
        expected = 3 if mode in ("vector", "direction") else 1
    elif port.type == "sensor.joint_pull":
        expected = joints
    elif port.type in ("sensor.effector_orientation", "sensor.target_orientation"):
        encoding = port.props.get("encoding", "rotation_6d")
        if encoding not in ORIENTATION_ENCODINGS:
            raise ValueError(f"input '{port.node}': unknown orientation encoding {encoding!r}")
        resolved["encoding"] = encoding
        expected = ORIENTATION_ENCODINGS[encoding]
    elif port.type == "sensor.orientation_to_target":
        mode = port.props.get("mode", "rotation_vector")
        if mode not in ("rotation_vector", "angle"):
            raise ValueError(f"input '{port.node}': unknown turn mode {mode!r}")
        resolved["mode"] = mode
        expected = 3 if mode == "rotation_vector" else 1
    else:
        expected = 3
    if port.size != expected:
        raise ValueError(
            f"input '{port.node}' ({port.type}) has size {port.size}, but for a {joints}-joint "
            f"arm it gives {expected}"
        )
    return resolved


def _action(outputs: list[PortMeaning], joints: int) -> dict[str, Any]:
    """The action as the page applies it: its type and the factor on the network's values."""
    if not outputs:
        raise ValueError("the network's manifest names no action for its outputs")
    port = outputs[0]
    if port.type not in ACTION_TYPES:
        raise ValueError(
            f"the web page cannot apply output '{port.node}' of type {port.type!r}; "
            f"it knows {', '.join(ACTION_TYPES)}"
        )
    if port.size != joints:
        raise ValueError(
            f"output '{port.node}' has size {port.size}, but the arm has {joints} joints"
        )
    if port.type == "action.joint_targets":
        scale = float(port.props.get("range", 1.0))
    else:
        scale = math.radians(float(port.props.get("max_step_deg", 10.0)))
    # Networks saved before the property was there turned by fixed steps: 0.
    fine_m = float(port.props.get("fine_within_mm", 0.0)) / 1000.0
    if port.type == "action.joint_targets":
        fine_m = 0.0
    if not math.isfinite(scale):
        raise ValueError(f"output '{port.node}': its scale {scale} is not a finite number")
    if not (math.isfinite(fine_m) and fine_m >= 0.0):
        raise ValueError(
            f"output '{port.node}': its fine_within_mm {fine_m * 1000:g} is not a finite "
            "number of 0 or more"
        )
    return {"node": port.node, "type": port.type, "scale": scale, "fine_m": fine_m}
