"""Scripted opponents at named levels, batched: each gives tank 1's controls for every arena.

Controls are (drive, turn, fire) in [-1, 1] (fire when > 0), as the agent's. A level keeps its
own per-arena state (a dict of tensors) so that checkpoints hold it and a resumed run repeats.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol

import torch
from torch import Tensor

from atrap_studio.nodes.scenes.tanks.geometry import ray_box, unit, wrap

if TYPE_CHECKING:
    from atrap_studio.nodes.scenes.tanks.arena import TankArena

State = dict[str, Tensor]
ME, AGENT = 1, 0


class Opponent(Protocol):
    def initial_state(self, instances: int, device: torch.device) -> State: ...

    def restart(self, state: State, index: Tensor, generator: torch.Generator) -> None: ...

    def act(self, arena: TankArena, state: State, generator: torch.Generator) -> Tensor: ...


class Idle:
    """A target that stands still and never fires."""

    def initial_state(self, instances: int, device: torch.device) -> State:
        return {}

    def restart(self, state: State, index: Tensor, generator: torch.Generator) -> None:
        pass

    def act(self, arena: TankArena, state: State, generator: torch.Generator) -> Tensor:
        return torch.zeros(arena.instances, 3, device=arena.position.device)


class Wanderer:
    """Drives about, turning now and then and away from walls; fires, not always, when it
    happens to face the agent in plain sight."""

    def initial_state(self, instances: int, device: torch.device) -> State:
        return {
            "turn": torch.zeros(instances, device=device),
            "timer": torch.zeros(instances, dtype=torch.int64, device=device),
        }

    def restart(self, state: State, index: Tensor, generator: torch.Generator) -> None:
        state["timer"][index] = 0

    def act(self, arena: TankArena, state: State, generator: torch.Generator) -> Tensor:
        n, device = arena.instances, arena.position.device
        change = state["timer"] <= 0
        pick = torch.randint(0, 4, (n,), generator=generator, device=device)
        new_turn = torch.tensor([-1.0, 0.0, 0.0, 1.0], device=device)[pick]
        state["turn"] = torch.where(change, new_turn, state["turn"])
        wait = torch.randint(5, 20, (n,), generator=generator, device=device)
        state["timer"] = torch.where(change, wait, state["timer"] - 1)
        ahead = ray_box(arena.position[:, ME], unit(arena.heading[:, ME]), arena.rules.half)
        turn = torch.where(ahead < 2.0, torch.ones_like(ahead), state["turn"])
        facing = arena.bearing(ME).abs() < math.radians(8.0)
        chance = torch.rand(n, generator=generator, device=device) < 0.3
        fire = facing & arena.line_of_sight(ME) & chance
        drive = torch.full((n,), 0.6, device=device)
        return torch.stack([drive, turn, fire.to(drive.dtype) * 2 - 1], dim=-1)


class Hunter:
    """Turns to where the agent will be when its shell arrives (aiming with lead), closes in to
    mid range, backs off when too near, and fires as soon as its aim is true and the way clear.
    """

    def initial_state(self, instances: int, device: torch.device) -> State:
        return {"last": torch.zeros(instances, 2, device=device)}

    def restart(self, state: State, index: Tensor, generator: torch.Generator) -> None:
        state["last"][index] = float("nan")  # no speed known yet

    def act(self, arena: TankArena, state: State, generator: torch.Generator) -> Tensor:
        rules = arena.rules
        agent, me = arena.position[:, AGENT], arena.position[:, ME]
        known = ~state["last"].isnan().any(-1, keepdim=True)
        velocity = torch.where(known, (agent - state["last"]) / rules.dt, 0.0)
        state["last"] = agent.clone()
        distance = torch.linalg.vector_norm(agent - me, dim=-1)
        lead = agent + velocity * (distance / rules.shell_speed)[:, None]
        towards = lead - me
        aim = wrap(torch.atan2(towards[:, 1], towards[:, 0]) - arena.heading[:, ME])
        turn = (aim / (rules.turn_rate * rules.dt)).clamp(-1.0, 1.0)
        drive = torch.where(distance > 5.0, 1.0, torch.where(distance < 3.0, -0.5, 0.0))
        sees = arena.line_of_sight(ME)
        drive = torch.where(sees, drive, torch.ones_like(drive))  # no sight: close in
        fire = (aim.abs() < math.radians(4.0)) & sees
        return torch.stack([drive, turn, fire.to(drive.dtype) * 2 - 1], dim=-1)


class Player:
    """A person at the keyboard: the controls are whatever the play view last set in
    ``state["controls"]`` (drive, turn, fire per arena)."""

    def initial_state(self, instances: int, device: torch.device) -> State:
        controls = torch.zeros(instances, 3, device=device)
        controls[:, 2] = -1.0
        return {"controls": controls}

    def restart(self, state: State, index: Tensor, generator: torch.Generator) -> None:
        pass

    def act(self, arena: TankArena, state: State, generator: torch.Generator) -> Tensor:
        return state["controls"].clone()


#: The scripted levels a graph may choose; the player joins only in play mode.
OPPONENTS: dict[str, Opponent] = {"idle": Idle(), "wanderer": Wanderer(), "hunter": Hunter()}
PLAYER = Player()
