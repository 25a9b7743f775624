"""N tank arenas simulated at once in torch: two tanks, pillars, shells with travel time.

Tank 0 is the agent (the graph's network drives it); tank 1 is the opponent, driven by a
scripted level (``opponents.py``). The arena is a walled square with round pillars; tanks drive
and turn, and fire shells that fly for a while and hit the first tank, pillar or wall on their
path. An episode ends when a tank is destroyed, or by the time limit (a truncation: the fight
could have gone on). Everything per arena is a tensor row; one ``apply`` steps every arena.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from atrap_studio.nodes.scenes.tanks.geometry import (
    FAR,
    camera_box,
    camera_circles,
    ray_box,
    ray_circles,
    unit,
    wrap,
)
from atrap_studio.nodes.scenes.tanks.opponents import OPPONENTS, Learner, Opponent, PastSelf
from atrap_studio.nodes.scenes.tanks.recent import RECORDED, Recorder
from atrap_studio.nodes.scenes.tanks.snapshot import TankSnapshot
from atrap_studio.nodes.scenes.tanks.workspace import Workspace
from atrap_studio.runtime.context import Command
from atrap_studio.runtime.contracts import PlayAs

MAPS = ("open", "pillars", "random")
#: Pillars each arena holds (unused ones have radius 0), so every map batches alike.
PILLARS = 6
#: How large a shell in flight looks to a camera (metres).
SHELL_RADIUS = 0.2
#: The age of a shot never fired: older than any hearing memory.
NEVER = 1 << 30


@dataclass(frozen=True)
class Rules:
    """The arena's physics, in metres, seconds and radians."""

    half: float = 8.0  # the arena is [-half, half]²
    dt: float = 0.1
    tank_radius: float = 0.45
    speed: float = 3.0  # forward; reverse is half
    turn_rate: float = math.radians(120.0)
    shell_speed: float = 14.0
    reload_steps: int = 8
    hits_to_kill: int = 3


def map_pillars(name: str, count: int, generator: torch.Generator, rules: Rules) -> Tensor:
    """(count, PILLARS, 3) pillars (x, y, radius) of a built-in map, one row per arena."""
    device = generator.device
    pillars = torch.zeros(count, PILLARS, 3, device=device)
    if name == "pillars":
        spots = torch.tensor([[-3.5, -3.5], [3.5, 3.5], [-3.5, 3.5], [3.5, -3.5]], device=device)
        pillars[:, :4, :2] = spots
        pillars[:, :4, 2] = 0.9
    elif name == "random":
        span = rules.half - 2.0
        pillars[:, :, :2] = (
            torch.rand(count, PILLARS, 2, generator=generator, device=device) * 2 - 1
        ) * span
        pillars[:, :, 2] = 0.4 + 0.6 * torch.rand(
            count, PILLARS, generator=generator, device=device
        )
    elif name != "open":
        raise ValueError(f"map {name!r} is not one of {MAPS}")
    return pillars


class TankArena:
    """Batched duel of the agent's tank against a scripted opponent.

    Ended episodes restart at the next :meth:`begin_step`, so rewards and the outcome read the
    final state of the step that ended them.
    """

    def __init__(
        self,
        *,
        instances: int,
        map_name: str = "pillars",
        opponent: str = "wanderer",
        episode_steps: int = 300,
        rules: Rules = Rules(),
        generator: torch.Generator,
    ) -> None:
        if opponent not in OPPONENTS:
            raise ValueError(f"opponent {opponent!r} is not one of {tuple(OPPONENTS)}")
        if map_name not in MAPS:
            raise ValueError(f"map {map_name!r} is not one of {MAPS}")
        self.instances = instances
        self.map_name = map_name
        self.opponent_name = opponent
        self.opponent: Opponent = OPPONENTS[opponent]()
        self.episode_steps = episode_steps
        self.rules = rules
        self.generator = generator
        device = generator.device
        n = instances
        self.pillars = torch.zeros(n, PILLARS, 3, device=device)
        self.position = torch.zeros(n, 2, 2, device=device)  # (arena, tank, xy)
        self.heading = torch.zeros(n, 2, device=device)
        self.health = torch.zeros(n, 2, dtype=torch.int64, device=device)
        self.reload = torch.zeros(n, 2, dtype=torch.int64, device=device)
        self.shell = torch.zeros(n, 2, 2, device=device)  # each tank's shell in flight
        self.shell_heading = torch.zeros(n, 2, device=device)
        self.shell_alive = torch.zeros(n, 2, dtype=torch.bool, device=device)
        self.t = torch.zeros(n, dtype=torch.int64, device=device)
        self.done = torch.ones(n, dtype=torch.bool, device=device)
        self.truncated = torch.zeros(n, dtype=torch.bool, device=device)
        self.restarts_next_step = False
        self.episodes = 0
        #: Which tanks a shell hit in the last step, (N, 2).
        self.hits = torch.zeros(n, 2, dtype=torch.bool, device=device)
        #: Where each tank fired its last shot, and how many steps ago (NEVER: not yet), so
        #: that the other can hear it.
        self.shot_at = torch.zeros(n, 2, 2, device=device)
        self.shot_age = torch.full((n, 2), NEVER, dtype=torch.int64, device=device)
        self.opponent_state = self.opponent.initial_state(n, device)
        self.work = Workspace()  # the camera's scratch tensors
        self.recorder = Recorder()  # the watched arena's last steps, for the views
        self.begin_step()

    def meet_own_network(self, network: torch.nn.Module, play: PlayAs) -> bool:
        """Self-play: the past-self opponent copies ``network`` and plays it through ``play``."""
        if isinstance(self.opponent, PastSelf):
            self.opponent.meet(network, play)
            self.opponent.pool_state(self.opponent_state)
            return True
        return False

    def mirrored(self) -> TankArena:
        """The arenas as the other tank sees them: tanks 0 and 1 swapped (shared pillars), so
        that the agent's sensors read the opponent's view."""
        view = copy.copy(self)
        for name in self._PER_TANK:
            setattr(view, name, getattr(self, name).flip(1))
        return view

    def seat(self, opponent: Opponent, name: str) -> None:
        """Hand tank 1 to another driver (a person's keys, an outside agent) in every arena."""
        self.opponent, self.opponent_name = opponent, name
        self.opponent_state = opponent.initial_state(self.instances, self.position.device)

    # -- episodes -----------------------------------------------------------------------------

    def begin_step(self) -> None:
        """Start new fights in the arenas whose fight ended in the last step."""
        if not bool(self.done.any()):
            return
        index = self.done.nonzero().squeeze(1)
        count = int(index.numel())
        rules, device = self.rules, self.generator.device
        self.pillars[index] = map_pillars(self.map_name, count, self.generator, rules)
        span = rules.half - 1.0
        spots = (torch.rand(count, 2, 2, generator=self.generator, device=device) * 2 - 1) * span
        # the opponent starts at least a third of the arena away
        apart = spots[:, 1] - spots[:, 0]
        gap = torch.linalg.vector_norm(apart, dim=-1, keepdim=True).clamp(min=1e-6)
        short = gap < rules.half * 0.66
        pushed = spots[:, 0] + apart / gap * rules.half * 0.66
        spots[:, 1] = torch.where(short, pushed.clamp(-span, span), spots[:, 1])
        self.position[index] = spots
        self.heading[index] = (
            torch.rand(count, 2, generator=self.generator, device=device) * 2 - 1
        ) * math.pi
        self.health[index] = rules.hits_to_kill
        self.reload[index] = 0
        self.shell_alive[index] = False
        self.shot_age[index] = NEVER
        self.t[index] = 0
        self.opponent.restart(self.opponent_state, index, self.generator)
        self._resolve_collisions()
        self.episodes += count
        self.done = torch.zeros_like(self.done)
        self.truncated = torch.zeros_like(self.truncated)

    def restart(self, seed: int | None = None) -> None:
        if seed is not None:
            self.generator.manual_seed(seed)
        self.done = torch.ones_like(self.done)
        self.begin_step()

    # -- one step ------------------------------------------------------------------------------

    def apply(self, commands: list[Command]) -> None:
        """Drive both tanks (the agent by its command, the opponent by its script), fly the
        shells, then end the fights that are over."""
        agent = torch.zeros(self.instances, 3, device=self.generator.device)
        for command in commands:
            if command.kind != "tank_controls":
                raise ValueError(f"a tank arena takes tank controls, not {command.kind!r}")
            if command.seat == 1:  # a second learning agent drives the red tank
                if not isinstance(self.opponent, Learner):
                    raise ValueError(
                        f"the red tank is driven by the {self.opponent_name} opponent; set the "
                        "arena's opponent to 'learner' to let a second agent drive it"
                    )
                self.opponent_state["controls"] = command.values.to(agent.dtype).clamp(-1.0, 1.0)
            else:
                agent = command.values.to(agent.dtype)
        theirs = self.opponent.act(self, self.opponent_state, self.generator)
        controls = torch.stack([agent.clamp(-1.0, 1.0), theirs], dim=1)  # (N, 2, 3)
        self._drive(controls)
        self._fire(controls[..., 2] > 0)
        self._fly_shells()
        self.t += 1
        dead = self.health <= 0
        over = dead.any(-1)
        out_of_time = self.t >= self.episode_steps
        self.done = over | out_of_time
        self.truncated = out_of_time & ~over
        if self.recorder.watched is not None:
            self.recorder.record({name: getattr(self, name) for name in RECORDED})

    def _drive(self, controls: Tensor) -> None:
        rules = self.rules
        drive, turn = controls[..., 0], controls[..., 1]
        speed = torch.where(drive >= 0, drive * rules.speed, drive * rules.speed * 0.5)
        alive = self.health > 0
        self.heading = wrap(self.heading + turn * rules.turn_rate * rules.dt * alive)
        step = unit(self.heading) * (speed * rules.dt * alive)[..., None]
        self.position = self.position + step
        self._resolve_collisions()

    def _resolve_collisions(self) -> None:
        """Push tanks out of pillars and of each other, and keep them inside the walls."""
        rules = self.rules
        r = rules.tank_radius
        centres, radii = self.pillars[:, None, :, :2], self.pillars[:, None, :, 2]
        offset = self.position[:, :, None, :] - centres  # (N, 2, P, 2)
        gap = torch.linalg.vector_norm(offset, dim=-1).clamp(min=1e-6)
        overlap = (radii + r - gap).clamp(min=0.0) * (radii > 0)
        self.position = self.position + (offset / gap[..., None] * overlap[..., None]).sum(2)
        between = self.position[:, 0] - self.position[:, 1]
        distance = torch.linalg.vector_norm(between, dim=-1, keepdim=True).clamp(min=1e-6)
        push = (2 * r - distance).clamp(min=0.0) / 2 * between / distance
        self.position = self.position + torch.stack([push, -push], dim=1)
        limit = rules.half - r
        self.position = self.position.clamp(-limit, limit)

    def _fire(self, trigger: Tensor) -> None:
        rules = self.rules
        ready = (self.reload <= 0) & ~self.shell_alive & (self.health > 0)
        fire = trigger & ready
        muzzle = self.position + unit(self.heading) * (rules.tank_radius + 0.05)
        self.shell = torch.where(fire[..., None], muzzle, self.shell)
        self.shell_heading = torch.where(fire, self.heading, self.shell_heading)
        self.shell_alive = self.shell_alive | fire
        self.reload = torch.where(fire, rules.reload_steps, (self.reload - 1).clamp(min=0))
        self.shot_at = torch.where(fire[..., None], self.position, self.shot_at)
        self.shot_age = torch.where(fire, 0, (self.shot_age + 1).clamp(max=NEVER))

    def _fly_shells(self) -> None:
        """Move every shell along its path; the first tank, pillar or wall on it stops it."""
        rules = self.rules
        n = self.instances
        travel = rules.shell_speed * rules.dt
        direction = unit(self.shell_heading)  # (N, 2, 2): one shell per tank
        tank_radius = torch.full((n, 2), rules.tank_radius, device=self.position.device)
        tank_radius = tank_radius * (self.health > 0)
        # the tanks and the pillars in one pass: (N, S, 2 tanks + P pillars)
        centres = torch.cat([self.position, self.pillars[..., :2]], 1)
        to_circles = ray_circles(
            self.shell, direction, centres, torch.cat([tank_radius, self.pillars[..., 2]], 1)
        )
        to_tanks, to_pillars = to_circles[..., :2], to_circles[..., 2:]
        # a shell never hits the tank that fired it
        own = torch.eye(2, dtype=torch.bool, device=self.position.device)[None]
        to_tanks = torch.where(own, FAR, to_tanks)
        to_wall = ray_box(self.shell, direction, rules.half)
        hit_tank = to_tanks.amin(-1)
        blocked = torch.minimum(to_pillars.amin(-1), to_wall)
        lands = self.shell_alive & (hit_tank <= travel) & (hit_tank < blocked)
        stops = self.shell_alive & (blocked <= travel) & ~lands
        # shell s (fired by tank s) hits tank 1 - s
        hit = lands.flip(-1)
        self.hits = hit
        self.health = self.health - hit.to(self.health.dtype)
        self.shell = self.shell + direction * travel
        self.shell_alive = self.shell_alive & ~lands & ~stops

    # -- what sensors, rewards and trainers read -------------------------------------------------

    def camera(
        self, tank: int, rays: int, fov: float, arenas: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """What ``tank`` sees over ``fov`` radians in ``rays`` rays, left to right:
        distance to the first thing each ray meets (metres) and what it is
        (0 wall, 1 pillar, 2 the other tank, 3 the other tank's shell in flight), each
        (N, rays) — or only for ``arenas``."""
        to_wall, to_pillar, to_shell, to_tank = self._sight(tank, rays, fov, arenas)
        depth, what = to_wall, torch.zeros_like(to_wall, dtype=torch.int64)
        for kind, distance in ((1, to_pillar), (3, to_shell), (2, to_tank)):
            what = torch.where(distance < depth, kind, what)
            depth = torch.minimum(depth, distance)
        return depth, what

    def camera_strip(self, tank: int, rays: int, fov: float) -> Tensor:
        """:meth:`camera` as the sensor gives it, (N, 3 * rays): per ray the depth as a share
        of the arena's diagonal, then whether it sees the enemy, then an enemy shell (1 or 0).

        The same values, without the ``where``s and the class tensor: a comparison written
        straight into a float tensor is one cheap pass, a boolean or a ``where`` several.
        """
        to_wall, to_pillar, to_shell, to_tank = self._sight(tank, rays, fov)
        strip = torch.empty(to_wall.shape[0], 3, rays, dtype=to_wall.dtype, device=to_wall.device)
        depth, enemy, shell = strip.unbind(1)
        # nearest of wall and pillar, then of those and the shell
        past_pillar = torch.minimum(to_wall, to_pillar, out=to_wall)
        past_shell = torch.minimum(past_pillar, to_shell, out=to_pillar)
        # the enemy is seen where it is nearer than the rest, a shell where it is nearer than
        # the wall and pillars and the enemy not nearer than it
        torch.lt(to_tank, past_shell, out=enemy)
        torch.lt(to_shell, past_pillar, out=shell)
        torch.gt(shell, enemy, out=shell)
        torch.minimum(past_shell, to_tank, out=depth)
        depth.div_(2 * math.sqrt(2) * self.rules.half)
        return strip.view(-1, 3 * rays)

    def _sight(
        self, tank: int, rays: int, fov: float, arenas: Tensor | None = None
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Distance along each ray of ``tank``'s camera to the wall, the nearest pillar, the
        other tank's shell and the other tank, each (N, rays); FAR or more where a ray misses
        (the wall is always met)."""
        pick = slice(None) if arenas is None else arenas
        position, heading = self.position[pick], self.heading[pick]
        offsets = torch.linspace(fov / 2, -fov / 2, rays, device=position.device)
        angle = heading[:, tank, None] + offsets[None]  # (N, R)
        direction = self.work.get("direction", (angle.shape[0], 2, rays), device=angle.device)
        torch.cos(angle, out=direction[:, 0])
        torch.sin(angle, out=direction[:, 1])
        origin = position[:, tank]  # shared by every ray of the arena
        # the other tank (while alive) is one more circle beside the pillars
        alive = (self.health[pick][:, 1 - tank, None] > 0).to(origin.dtype)
        pillars = self.pillars[pick][:, : self._pillar_slots()]
        # the other tank's shell, while in flight, is drawn as a small ball
        flying = self.shell_alive[pick][:, 1 - tank, None].to(origin.dtype)
        shell = self.shell[pick][:, 1 - tank, None, :]
        circles = torch.cat([pillars[..., :2], shell, position[:, 1 - tank, None, :]], 1)
        radii = torch.cat(
            [pillars[..., 2], SHELL_RADIUS * flying, self.rules.tank_radius * alive], 1
        )
        to_circles = camera_circles(origin, direction, circles, radii, self.work)  # (N, C, R)
        to_wall = camera_box(origin, direction, self.rules.half, self.work)
        to_pillar = self.work.get("pillar", to_wall.shape, device=to_wall.device)
        to_pillar.fill_(FAR)
        for slot in range(pillars.shape[1]):
            torch.minimum(to_pillar, to_circles[:, slot], out=to_pillar)
        return to_wall, to_pillar, to_circles[:, -2], to_circles[:, -1]

    def _pillar_slots(self) -> int:
        """Pillar slots some arena uses (the first ones): the camera skips the empty rest."""
        used = (self.pillars[..., 2] > 0).any(0).nonzero()
        return int(used.max()) + 1 if used.numel() else 0

    def line_of_sight(self, tank: int) -> Tensor:
        """Whether ``tank`` sees the other one (no pillar between them), (N,)."""
        origin = self.position[:, tank, None, :]
        between = self.position[:, 1 - tank, None, :] - origin
        distance: Tensor = torch.linalg.vector_norm(between, dim=-1)
        direction = between / distance[..., None].clamp(min=1e-6)
        blocked = ray_circles(origin, direction, self.pillars[..., :2], self.pillars[..., 2])
        return (blocked.amin(-1) >= distance)[:, 0]

    def bearing(self, tank: int) -> Tensor:
        """Angle from ``tank``'s heading to the other tank, (N,) in (-π, π]."""
        return self.bearing_to(tank, self.position[:, 1 - tank])

    def bearing_to(self, tank: int, point: Tensor) -> Tensor:
        """Angle from ``tank``'s heading to a point per arena (N, 2), (N,) in (-π, π]."""
        between = point - self.position[:, tank]
        angle: Tensor = torch.atan2(between[:, 1], between[:, 0])
        return wrap(angle - self.heading[:, tank])

    def heard(self, tank: int, memory: int, reach: float) -> Tensor:
        """How loud the other tank's last shot still is to ``tank``, (N,) in [0, 1]: 1 in the
        step it was fired, fading to 0 after ``memory`` steps; 0 beyond ``reach`` metres."""
        age = self.shot_age[:, 1 - tank].to(self.position.dtype)
        fresh = (1.0 - age / max(memory, 1)).clamp(min=0.0)
        distance = torch.linalg.vector_norm(
            self.shot_at[:, 1 - tank] - self.position[:, tank], dim=-1
        )
        return fresh * (distance <= reach)

    def result(self) -> Tensor:
        """Per arena: +1 the agent won, -1 it lost, 0 a draw or a fight still going."""
        alive = self.health > 0
        return alive[:, 0].to(torch.float32) - alive[:, 1].to(torch.float32)

    def outcome(self) -> dict[str, Tensor]:
        result = self.result()
        return {"result": result, "success": result > 0}

    def outcome_of(self, seat: int) -> dict[str, Tensor]:
        """:meth:`outcome` as tank ``seat`` sees it: for the red tank (1), +1 when it won."""
        result = self.result() if seat == 0 else 0.0 - self.result()  # no -0.0 for a draw
        return {"result": result, "success": result > 0}

    def metrics(self) -> dict[str, float]:
        return {}

    def snapshot(self, instances: list[int]) -> TankSnapshot:
        """Some arenas for the views, with both tanks' camera rays, and the first arena's steps
        since the last snapshot (``recent``) for the view to play."""
        frames = self.recorder.take(int(instances[0]))
        recent = None
        if frames is not None:  # the steps as arenas of their own, one row per step
            steps = copy.copy(self)
            steps.work, steps.instances = Workspace(), len(frames["t"])
            for name, tensor in frames.items():
                setattr(steps, name, tensor)
            recent = steps._rows([int(instances[0])] * steps.instances, rows=range(steps.instances))
        return self._rows(instances, rows=instances, recent=recent)

    def _rows(
        self, instances: list[int], rows: Iterable[int], recent: TankSnapshot | None = None
    ) -> TankSnapshot:
        """A snapshot of arenas ``rows``, named ``instances``."""
        index = torch.as_tensor(list(rows), dtype=torch.int64)
        cameras = [self.camera(tank, 32, math.radians(90.0), index) for tank in (0, 1)]
        depth = torch.stack([depth for depth, _ in cameras], 1)
        what = torch.stack([what for _, what in cameras], 1)

        def take(tensor: Tensor) -> np.ndarray:
            return tensor[index].detach().cpu().numpy().copy()

        return TankSnapshot(
            instances=np.asarray(instances, dtype=np.int64),
            half=self.rules.half,
            tank_radius=self.rules.tank_radius,
            pillars=take(self.pillars),
            position=take(self.position),
            heading=take(self.heading),
            health=take(self.health),
            shells=take(self.shell),
            shell_alive=take(self.shell_alive),
            ray_depth=depth.cpu().numpy(),
            ray_what=what.cpu().numpy(),
            fov=math.radians(90.0),
            steps=take(self.t),
            opponent=self.opponent_name,
            recent=recent,
        )

    # -- checkpoints and tests ------------------------------------------------------------------

    def spawn(
        self, instances: int, generator: torch.Generator, *, whole_world: bool = False
    ) -> TankArena:
        arena = TankArena(
            instances=instances,
            map_name=self.map_name,
            opponent=self.opponent_name,
            episode_steps=self.episode_steps,
            rules=self.rules,
            generator=generator,
        )
        if isinstance(self.opponent, PastSelf) and self.opponent.network is not None:
            # a test plays against the pool as it is now, and adds nothing to it
            assert self.opponent.play is not None
            arena.meet_own_network(self.opponent.network, self.opponent.play)
            assert isinstance(arena.opponent, PastSelf)
            arena.opponent.takes_copies = False
            if int(self.opponent_state["copies"][0]) > 0:
                for name, value in self.opponent_state.items():
                    if name not in ("choice", "steps"):
                        arena.opponent_state[name] = value.clone()
                arena.restart()  # the first fights draw from the copied pool
            # else no copy was taken yet (a network just loaded): it plays against itself
        return arena

    _STATE = (
        "pillars",
        "position",
        "heading",
        "health",
        "reload",
        "shell",
        "shell_heading",
        "shot_at",
        "shot_age",
        "t",
    )

    _SINCE_HEARING = ("shot_at", "shot_age")
    #: Tensors with one entry per tank (dimension 1), swapped in :meth:`mirrored`.
    _PER_TANK = (
        "position",
        "heading",
        "health",
        "reload",
        "shell",
        "shell_heading",
        "shell_alive",
        "hits",
        "shot_at",
        "shot_age",
    )

    def state_tensors(self) -> dict[str, Tensor]:
        tensors = {name: getattr(self, name).clone() for name in self._STATE}
        tensors["shell_alive"] = self.shell_alive.to(torch.uint8)
        tensors["done"] = self.done.to(torch.uint8)
        tensors["truncated"] = self.truncated.to(torch.uint8)
        tensors["rng"] = self.generator.get_state()
        tensors["episodes"] = torch.tensor([self.episodes], dtype=torch.int64)
        for name, value in self.opponent_state.items():
            tensors[f"opponent/{name}"] = value.clone()
        return tensors

    def load_state_tensors(self, tensors: dict[str, Tensor]) -> None:
        if tensors["position"].shape != self.position.shape:
            raise ValueError(
                f"the checkpoint holds {tensors['position'].shape[0]:,} arenas, this scene "
                f"{self.instances:,}"
            )
        for name in self._STATE:
            if name in self._SINCE_HEARING and name not in tensors:
                continue  # a checkpoint from before tanks could hear: no shot heard yet
            setattr(self, name, tensors[name].clone())
        self.shell_alive = tensors["shell_alive"].to(torch.bool)
        self.done = tensors["done"].to(torch.bool)
        self.truncated = tensors["truncated"].to(torch.bool)
        self.generator.set_state(tensors["rng"])
        self.episodes = int(tensors["episodes"][0])
        self.recorder.forget()
        for name in self.opponent_state:
            self.opponent_state[name] = tensors[f"opponent/{name}"].clone()
