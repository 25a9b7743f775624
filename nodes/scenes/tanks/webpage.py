"""The tank arena's web page: play against a trained tank in any browser, at a chosen difficulty.

The page carries the network's JSON form and the arena's rules, and re-implements in plain
JavaScript (float64) the layers, the camera's ray caster, the tank status, the controls, the
arena's physics (driving, collisions, shells, hits) and play mode's handicap, so the same arena
gives the network the same inputs as in ``arena.py`` and ``nodes.py``. The person drives the
enemy tank with the keyboard, as in the editor's play window. Nothing is fetched: one file.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from typing import Any

import torch

from atrap_studio.core.yaml_io import write_text_atomic
from atrap_studio.nodes.scenes.tanks.arena import MAPS, PILLARS, SHELL_RADIUS, Rules, map_pillars
from atrap_studio.nodes.scenes.tanks.play import MAX_DELAY, MAX_LAPSES
from atrap_studio.nodes.scenes.tanks.specs import DISCRETE_CONTROLS
from atrap_studio.runtime.netfile import LoadedNetwork, PortMeaning
from atrap_studio.runtime.netjson import network_to_json
from atrap_studio.runtime.webpage import fill_page, network_about, network_layers, network_title

#: Sensors and the action the page re-implements; a network with others is refused.
SENSOR_TYPES = ("sensor.camera", "sensor.tank_status", "sensor.hearing")
ACTION_TYPE = "action.tank_controls"


def write_tank_page(
    path: str | os.PathLike[str], network: LoadedNetwork, props: Mapping[str, Any]
) -> None:
    """Write the page for ``network`` in an arena of the tank scene's ``props`` (atomically).

    Raises:
        ValueError: a sensor, action, layer or map the page cannot run, or sizes that do not
            fit; no file is written then.
    """
    write_text_atomic(tank_page_html(network, props), path)


def tank_page_html(network: LoadedNetwork, props: Mapping[str, Any]) -> str:
    """The page's text (see :func:`write_tank_page`)."""
    manifest = network.manifest
    rules = Rules(hits_to_kill=int(props["hits_to_kill"]))  # as the scene node builds them
    map_name = str(props["map"])
    if map_name not in MAPS:
        raise ValueError(f"the scene's map {map_name!r} is not one of {', '.join(MAPS)}")
    fixed = map_name != "random"  # a random map is drawn anew in the page for every fight
    pillars = map_pillars(map_name, 1, torch.Generator(), rules)[0] if fixed else None
    data = {
        "title": network_title(network, "ATRAP tank"),
        "about": network_about(network),
        "network": network_to_json(network),
        "layers": network_layers(network.module),
        "rules": dataclasses.asdict(rules),
        "arena": {
            "map": map_name,
            "pillars": pillars.tolist() if pillars is not None else None,
            "pillar_slots": PILLARS,
            "shell_radius": SHELL_RADIUS,
            "episode_steps": int(props["episode_steps"]),
        },
        "inputs": [_sensor(port) for port in manifest.inputs],
        "action": _action(manifest.outputs),
        "handicap": {"max_delay": MAX_DELAY, "max_lapses": MAX_LAPSES},
    }
    return fill_page("tank_page.html", data)


def _sensor(port: PortMeaning) -> dict[str, Any]:
    """A sensor as the page reads it, its properties checked and its size with them."""
    if port.type not in SENSOR_TYPES:
        raise ValueError(
            f"the tank page cannot compute input '{port.node}' of type {port.type!r}; "
            f"it knows {', '.join(SENSOR_TYPES)}"
        )
    resolved: dict[str, Any] = {"node": port.node, "type": port.type}
    expected = 2  # the tank status: health and loaded
    if port.type == "sensor.hearing":
        resolved["memory"] = _number(port, "memory_steps", 10, 1, math.inf, whole=True)
        resolved["reach"] = _number(port, "range_m", 12.0, 0.0, math.inf)
        expected = 3
    elif port.type == "sensor.camera":
        resolved["rays"] = rays = int(_number(port, "rays", 32, 1, math.inf, whole=True))
        resolved["fov"] = math.radians(_number(port, "fov_deg", 90.0, 1.0, 360.0))
        expected = 3 * rays
    if port.size != expected:
        raise ValueError(
            f"input '{port.node}' ({port.type}) has size {port.size}, but its properties give "
            f"{expected}"
        )
    return resolved


def _number(
    port: PortMeaning, name: str, default: float, low: float, high: float, *, whole: bool = False
) -> float:
    """A sensor's numeric property (its default when absent), checked to lie in [low, high]."""
    value = port.props.get(name, default)
    kinds = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        kind = "a whole number" if whole else "a number"
        raise ValueError(
            f"input '{port.node}': {name} must be {kind} in [{low:g}, {high:g}], not {value!r}"
        )
    return float(value)


def _action(outputs: list[PortMeaning]) -> dict[str, Any]:
    """The controls as the page applies them: the discrete moves' table, or none (continuous)."""
    if not outputs:
        raise ValueError("the network's manifest names no action for its outputs")
    port = outputs[0]
    if port.type != ACTION_TYPE:
        raise ValueError(
            f"the tank page cannot apply output '{port.node}' of type {port.type!r}; "
            f"it knows {ACTION_TYPE}"
        )
    moves = [list(move) for _, move in DISCRETE_CONTROLS]
    if port.size not in (len(moves), 3):
        raise ValueError(
            f"output '{port.node}' has size {port.size}; tank controls take {len(moves)} "
            "(one value per move) or 3 (drive, turn, fire)"
        )
    difficulty = port.props.get("difficulty", 1.0)
    if not isinstance(difficulty, int | float) or not 0.0 <= float(difficulty) <= 1.0:
        raise ValueError(f"output '{port.node}': difficulty must be in [0, 1], not {difficulty!r}")
    return {
        "node": port.node,
        "moves": moves if port.size == len(moves) else None,
        "names": [name for name, _ in DISCRETE_CONTROLS],
        "difficulty": float(difficulty),
    }
