"""Node implementations of the tank arena plug-in (loaded when a run starts)."""

from __future__ import annotations

import math
from typing import Any

import torch

from atrap_studio.nodes.scenes.tanks.arena import Rules, TankArena
from atrap_studio.nodes.scenes.tanks.specs import DISCRETE_CONTROLS, EVENTS, TANKS
from atrap_studio.runtime.context import Command, NodeContext


def tank_of(ctx: NodeContext) -> int:
    """The tank a node reads, drives or rewards: 0 (blue, the agent's) or 1 (red)."""
    return TANKS.index(str(ctx.props.get("tank", TANKS[0])))


class TankArenaScene:
    """Builds the arenas from the node's properties."""

    def __init__(self, ctx: NodeContext) -> None:
        self.props = ctx.props

    def create(self, generator: torch.Generator) -> TankArena:
        props = self.props
        return TankArena(
            instances=props["instances"],
            map_name=props["map"],
            opponent=props["opponent"],
            episode_steps=props["episode_steps"],
            rules=Rules(hits_to_kill=props["hits_to_kill"]),
            generator=generator,
        )


def camera_view(arena: TankArena, tank: int, rays: int, fov: float) -> torch.Tensor:
    """What ``tank``'s camera gives: per ray the depth as a share of the arena's diagonal, then
    whether each ray sees the enemy, then whether it sees an enemy shell, (N, 3 * rays)."""
    return arena.camera_strip(tank, rays, fov)


def status_view(arena: TankArena, tank: int) -> torch.Tensor:
    """``tank``'s health as a share of a full tank and whether its gun is loaded, (N, 2)."""
    health = arena.health[:, tank].to(torch.float32) / arena.rules.hits_to_kill
    loaded = ((arena.reload[:, tank] <= 0) & ~arena.shell_alive[:, tank]).to(torch.float32)
    return torch.stack([health, loaded], dim=-1)


def event_value(arena: TankArena, tank: int, event: str) -> torch.Tensor:
    """How much of ``event`` happened to ``tank`` in the last step, (N,) float."""
    alive = arena.health > 0
    other = 1 - tank
    if event == "hit_given":
        value = arena.hits[:, other]
    elif event == "hit_taken":
        value = arena.hits[:, tank]
    elif event == "won":
        value = alive[:, tank] & ~alive[:, other]
    elif event == "lost":
        value = ~alive[:, tank]
    elif event == "time":
        value = torch.ones_like(alive[:, tank])
    elif event == "aim":  # cosine of the bearing, positive and in sight only
        facing = torch.cos(arena.bearing(tank)).clamp(min=0.0)
        return facing * arena.line_of_sight(tank)
    else:
        raise ValueError(f"a tank event is one of {EVENTS}, not {event!r}")
    return value.to(torch.float32)


class Camera:
    def __init__(self, ctx: NodeContext) -> None:
        self.rays = int(ctx.props["rays"])
        self.fov = math.radians(float(ctx.props["fov_deg"]))
        self.tank = tank_of(ctx)

    def forward(self, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        strip = camera_view(inputs["scene"], self.tank, self.rays, self.fov)
        # the picture: (N, 1 row, rays, 3 channels), from the channel-by-channel strip
        image = strip.reshape(-1, 3, self.rays).transpose(1, 2).unsqueeze(1)
        return {"value": strip, "image": image}


class Status:
    def __init__(self, ctx: NodeContext) -> None:
        self.tank = tank_of(ctx)

    def forward(self, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {"value": status_view(inputs["scene"], self.tank)}


class Hearing:
    def __init__(self, ctx: NodeContext) -> None:
        self.memory = int(ctx.props["memory_steps"])
        self.reach = float(ctx.props["range_m"])
        self.tank = tank_of(ctx)

    def forward(self, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        arena: TankArena = inputs["scene"]
        loud = arena.heard(self.tank, self.memory, self.reach)
        bearing = arena.bearing_to(self.tank, arena.shot_at[:, 1 - self.tank])
        heard = (loud > 0).to(loud.dtype)
        value = torch.stack([loud, torch.cos(bearing) * heard, torch.sin(bearing) * heard], -1)
        return {"value": value}


class Controls:
    """The network's values as (drive, turn, fire): the best-valued move of the discrete set,
    or the three values themselves."""

    def __init__(self, ctx: NodeContext) -> None:
        self.table = torch.tensor([move for _, move in DISCRETE_CONTROLS], dtype=torch.float32)
        self.tank = tank_of(ctx)

    def forward(self, inputs: dict[str, Any]) -> dict[str, Command]:
        values: torch.Tensor = inputs["values"]
        if values.shape[-1] == len(self.table):
            choice = values.argmax(-1)
            values = self.table.to(values.device)[choice]
        return {"command": Command("tank_controls", values, seat=self.tank)}


class Event:
    def __init__(self, ctx: NodeContext) -> None:
        self.event = str(ctx.props["event"])
        self.weight = float(ctx.props["weight"])
        self.tank = tank_of(ctx)

    def forward(self, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {"reward": self.weight * event_value(inputs["scene"], self.tank, self.event)}
