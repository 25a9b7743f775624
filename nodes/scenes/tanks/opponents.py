"""Scripted opponents at named levels, batched: each gives tank 1's controls for every arena.

Controls are (drive, turn, fire) in [-1, 1] (fire when > 0), as the agent's. A level keeps its
own per-arena state (a dict of tensors) so that checkpoints hold it and a resumed run repeats.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import torch
from torch import Tensor

from atrap_studio.nodes.scenes.tanks.geometry import ray_box, unit

if TYPE_CHECKING:
    from atrap_studio.nodes.scenes.tanks.arena import TankArena
    from atrap_studio.runtime.contracts import PlayAs

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
    """Hunts the agent with what it sees and hears, and takes cover while it reloads.

    It knows where the agent is only while it sees it, or for a while after hearing it fire
    (within ``HEARING_M``); otherwise it goes to where it last knew the agent to be. In sight
    and loaded it aims where the agent will be when its shell arrives (leading a moving
    target), keeps to mid range and fires as soon as its aim is true. While its gun reloads in
    the agent's sight it drives to the far side of the nearest pillar.
    """

    HEARING_M = 12.0
    #: Steps a heard shot or a last sighting stays worth going to.
    MEMORY = 60

    def initial_state(self, instances: int, device: torch.device) -> State:
        return {
            "last": torch.zeros(instances, 2, device=device),
            "known": torch.zeros(instances, 2, device=device),
            "known_age": torch.zeros(instances, dtype=torch.int64, device=device),
        }

    def restart(self, state: State, index: Tensor, generator: torch.Generator) -> None:
        state["last"][index] = float("nan")  # no speed known yet
        state["known_age"][index] = self.MEMORY  # nothing known: search

    def act(self, arena: TankArena, state: State, generator: torch.Generator) -> Tensor:
        rules = arena.rules
        agent, me = arena.position[:, AGENT], arena.position[:, ME]
        sees = arena.line_of_sight(ME)
        hears = arena.heard(ME, memory=1, reach=self.HEARING_M) > 0
        shot = arena.shot_at[:, AGENT]
        state["known"] = torch.where(
            sees[:, None], agent, torch.where(hears[:, None], shot, state["known"])
        )
        state["known_age"] = torch.where(sees | hears, 0, state["known_age"] + 1)
        # the agent's speed, from two sightings in a row
        seen_before = ~state["last"].isnan().any(-1, keepdim=True) & sees[:, None]
        velocity = torch.where(seen_before, (agent - state["last"]) / rules.dt, 0.0)
        state["last"] = torch.where(sees[:, None], agent, float("nan"))
        distance = torch.linalg.vector_norm(agent - me, dim=-1)
        lead = agent + velocity * (distance / rules.shell_speed)[:, None]
        aim = arena.bearing_to(ME, lead)
        fight_turn = (aim / (rules.turn_rate * rules.dt)).clamp(-1.0, 1.0)
        fight_drive = torch.where(distance > 5.0, 1.0, torch.where(distance < 3.0, -0.5, 0.0))
        # out of sight: go to where the agent was last seen or heard, else roam
        search_turn, search_drive = _steer(arena, state["known"])
        roaming = state["known_age"] >= self.MEMORY
        ahead = ray_box(me, unit(arena.heading[:, ME]), rules.half)
        search_turn = torch.where(roaming, (ahead < 2.0).to(me.dtype), search_turn)
        search_drive = torch.where(roaming, 0.6, search_drive)
        # reloading in sight: behind the nearest pillar, as seen from the agent
        cover, has_cover = _cover(arena)
        cover_turn, cover_drive = _steer(arena, cover)
        loaded = (arena.reload[:, ME] <= 0) & ~arena.shell_alive[:, ME]
        hide = sees & ~loaded & has_cover
        turn = torch.where(sees, torch.where(hide, cover_turn, fight_turn), search_turn)
        drive = torch.where(sees, torch.where(hide, cover_drive, fight_drive), search_drive)
        fire = (aim.abs() < math.radians(4.0)) & sees & loaded
        return torch.stack([drive, turn, fire.to(drive.dtype) * 2 - 1], dim=-1)


def _steer(arena: TankArena, point: Tensor) -> tuple[Tensor, Tensor]:
    """Turn and drive that take the opponent towards ``point`` (N, 2): full speed when it
    faces the way, slowly while it turns."""
    rules = arena.rules
    angle = arena.bearing_to(ME, point)
    turn = (angle / (rules.turn_rate * rules.dt)).clamp(-1.0, 1.0)
    gap = torch.linalg.vector_norm(point - arena.position[:, ME], dim=-1)
    drive = torch.where(angle.abs() < math.radians(60.0), 1.0, 0.2) * (gap > 0.3)
    return turn, drive


def _cover(arena: TankArena) -> tuple[Tensor, Tensor]:
    """Per arena, the spot just behind the pillar nearest the opponent, on the side away from
    the agent, and whether there is a pillar at all."""
    rules = arena.rules
    centres, radii = arena.pillars[..., :2], arena.pillars[..., 2]
    me, agent = arena.position[:, ME], arena.position[:, AGENT]
    gaps = torch.linalg.vector_norm(centres - me[:, None], dim=-1)
    gaps = torch.where(radii > 0, gaps, float("inf"))
    nearest = gaps.argmin(-1)
    rows = torch.arange(arena.instances, device=me.device)
    centre, radius = centres[rows, nearest], radii[rows, nearest]
    away = centre - agent
    away = away / torch.linalg.vector_norm(away, dim=-1, keepdim=True).clamp(min=1e-6)
    spot = centre + away * (radius + rules.tank_radius + 0.3)[:, None]
    limit = rules.half - rules.tank_radius
    return spot.clamp(-limit, limit), radii.amax(-1) > 0


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


class PastSelf:
    """The agent's own network from earlier in training, playing the other tank (self-play).

    Every ``EVERY`` steps a frozen copy of the learning network joins a pool of the last
    ``POOL`` copies (the first is the untrained network), and each fight draws one of them.
    The copy sees the arena from the other tank (a mirrored view) through the graph's own
    sensors and drives it through the graph's own action node, so it plays exactly as the
    agent would in its place. The pool lives in the per-arena state, so checkpoints keep it.
    """

    POOL = 5
    EVERY = 3_000

    def __init__(self) -> None:
        self.network: torch.nn.Module | None = None
        self.play: PlayAs | None = None
        self._frozen: list[torch.nn.Module] = []
        #: False in a test's arenas: they play the pool as it is and add nothing to it.
        self.takes_copies = True

    def meet(self, network: torch.nn.Module, play: PlayAs) -> None:
        """Learn which network to copy and how the graph plays one; called once per scene."""
        self.network, self.play = network, play
        self._frozen = [
            copy.deepcopy(network).eval().requires_grad_(False) for _ in range(self.POOL)
        ]

    def initial_state(self, instances: int, device: torch.device) -> State:
        return {
            "choice": torch.zeros(instances, dtype=torch.int64, device=device),
            "copies": torch.zeros(1, dtype=torch.int64, device=device),  # taken so far
            "steps": torch.zeros(1, dtype=torch.int64, device=device),
        }

    def pool_state(self, state: State) -> None:
        """Add the pool's slots to ``state``: each slot is a frozen copy's own tensors, so
        checkpoints (which save the state) keep the pool and loading one refills it."""
        for slot, frozen in enumerate(self._frozen):
            for name, value in frozen.state_dict().items():
                state[f"pool{slot}/{name}"] = value

    def restart(self, state: State, index: Tensor, generator: torch.Generator) -> None:
        filled = int(min(int(state["copies"][0]), self.POOL))
        if filled:
            pick = torch.randint(0, filled, (int(index.numel()),), generator=generator)
            state["choice"][index] = pick.to(state["choice"].device)

    def act(self, arena: TankArena, state: State, generator: torch.Generator) -> Tensor:
        if self.network is None or self.play is None:
            raise ValueError(
                "the past-self opponent plays with the graph's network: run it from a graph"
            )
        self._refill(state)
        if self.takes_copies and int(state["steps"][0]) % self.EVERY == 0:
            self._take_copy(state)
        state["steps"] += 1
        slots = state["choice"].unique().tolist()
        with torch.no_grad():
            answers = self.play(arena.mirrored(), [self._frozen[slot] for slot in slots])
        controls = torch.zeros(arena.instances, 3, device=arena.position.device)
        for slot, commands in zip(slots, answers, strict=True):
            rows = state["choice"] == slot
            controls[rows] = commands[-1].values.to(controls.dtype)[rows]
        return controls.clamp(-1.0, 1.0)

    def _refill(self, state: State) -> None:
        """After a checkpoint was loaded the state holds new tensors: copy them in."""
        for slot, frozen in enumerate(self._frozen):
            for name, value in frozen.state_dict().items():
                loaded = state[f"pool{slot}/{name}"]
                if loaded is not value and loaded.data_ptr() != value.data_ptr():
                    value.copy_(loaded)
                    state[f"pool{slot}/{name}"] = value

    def _take_copy(self, state: State) -> None:
        assert self.network is not None
        slot = int(state["copies"][0]) % self.POOL
        self._frozen[slot].load_state_dict(self.network.state_dict())
        state["copies"] += 1


class Learner:
    """A second learning agent of the graph: the controls its action node gave this step
    (``TankArena.apply`` puts them in ``state["controls"]``), used once; without any, it
    waits (a test or a play of the first agent alone)."""

    def initial_state(self, instances: int, device: torch.device) -> State:
        return {"controls": torch.zeros(instances, 3, device=device)}

    def restart(self, state: State, index: Tensor, generator: torch.Generator) -> None:
        pass

    def act(self, arena: TankArena, state: State, generator: torch.Generator) -> Tensor:
        controls = state["controls"]
        state["controls"] = torch.zeros_like(controls)
        return controls


#: The levels a graph may choose, each made anew per scene; the player joins only in play mode.
OPPONENTS: dict[str, Callable[[], Opponent]] = {
    "idle": Idle,
    "wanderer": Wanderer,
    "hunter": Hunter,
    "past_self": PastSelf,
    "learner": Learner,
}
PLAYER = Player()
