"""N robot arms reaching for targets, simulated at once in torch tensors.

One call steps every instance; the kinematics are differentiable, so a trainer can follow the
gradient of a reward through a step. Used by the ``scene.robot_arm`` node and by the gymnasium
environment alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from atrap_studio.ik.chain import ArmChain, ArmGeometry
from atrap_studio.ik.rotations import angle_between
from atrap_studio.runtime.context import Command
from atrap_studio.runtime.snapshots import ArmSnapshot, arm_snapshot

TARGET_MODES = ("random_in_reach", "near_effector", "user_driven")
#: Rounds of rejection sampling before a region is declared out of the arm's reach.
REGION_DRAWS = 20


@dataclass(frozen=True)
class Region:
    """Sector ``index`` of ``count`` equal sectors around the base (by the direction of a
    point seen from above), so that scenes of one arm can each train on their own part of the
    workspace."""

    index: int = 0
    count: int = 1

    @property
    def label(self) -> str:
        return "whole world" if self.count == 1 else f"region {self.index + 1} of {self.count}"

    def contains(self, points: Tensor) -> Tensor:
        """Which points (N, 3) lie in this sector, (N,) booleans."""
        azimuth = torch.atan2(points[:, 1], points[:, 0])
        sector = torch.floor((azimuth + math.pi) / (2 * math.pi) * self.count)
        return sector.clamp(max=self.count - 1).to(torch.int64) == self.index


WHOLE_WORLD = Region()


class ArmScene:
    """Batched reaching task for a serial arm.

    Each episode starts from random joint angles with a new reachable target, lasts
    ``episode_steps`` steps, and succeeds when the tip ends within ``success_mm`` of the target
    (and, when ``success_deg`` is above 0, turned within that many degrees of the target's
    orientation). Every target is a pose the arm can take: the tip's position and orientation
    at joint angles drawn within the limits, so sensors and rewards of orientation have a
    reachable orientation to aim at.
    Ended episodes restart at the beginning of the next step, so that rewards and metrics can
    read the final state of the step that ended them.
    """

    def __init__(
        self,
        geometry: ArmGeometry,
        *,
        instances: int,
        episode_steps: int = 1,
        success_mm: float = 10.0,
        success_deg: float = 0.0,
        target_mode: str = "random_in_reach",
        region: Region = WHOLE_WORLD,
        time_limit: bool = False,
        generator: torch.Generator,
    ) -> None:
        if target_mode not in TARGET_MODES:
            raise ValueError(f"target mode {target_mode!r} is not one of {TARGET_MODES}")
        if not 0 <= region.index < region.count:
            raise ValueError(f"region {region.index} does not exist among {region.count}")
        self.geometry = geometry
        self.chain = ArmChain(geometry, device=generator.device)
        self.instances = instances
        self.episode_steps = episode_steps
        self.success_m = success_mm / 1000.0
        #: Largest angle (radians) to the target's orientation that succeeds; 0: not judged.
        self.success_rad = math.radians(success_deg)
        self.target_mode = target_mode
        self.region = region
        #: Whether an episode's end is a cut by time (bootstrapped by trainers) or the task's.
        self.time_limit = time_limit
        self.generator = generator
        #: Curriculum progress in [0, 1]; with ``near_effector`` targets spread as it grows.
        self.progress = 0.0
        self.episodes = 0
        #: Instances whose target the user placed, and how often a user moved a target.
        self.user_targets: set[int] = set()
        self.user_moves = 0
        self._placed = torch.zeros(instances, dtype=torch.bool, device=generator.device)
        n, j = instances, geometry.joints
        self.q = torch.zeros(n, j, device=generator.device)
        self.target = torch.zeros(n, 3, device=generator.device)
        #: Each target's orientation (N, 3, 3): the tip frame's at the pose drawn for it.
        self.target_rotation = torch.eye(3, device=generator.device).repeat(n, 1, 1)
        self.t = torch.zeros(n, dtype=torch.int64, device=generator.device)
        self.done = torch.ones(n, dtype=torch.bool, device=generator.device)
        #: Episodes end when the task's steps are done, never by an outside time limit.
        self.truncated = torch.zeros(n, dtype=torch.bool, device=generator.device)
        self.restarts_next_step = False
        self._effector: Tensor | None = None
        self._tip_rotation: Tensor | None = None
        self.begin_step()

    # -- simulation -----------------------------------------------------------------------

    def begin_step(self) -> None:
        """Restart ended episodes and cut the gradient history of the state."""
        self.q = self.q.detach()
        if bool(self.done.any()):
            index = self.done.nonzero().squeeze(1)
            count = int(index.numel())
            q = self.chain.sample_q(count, self.generator)
            self.q[index] = q
            fresh, turned = self._new_targets(q)
            if self.user_targets:  # "user_driven": a target the user placed stays put
                keep = self._placed[index]
                fresh = torch.where(keep[:, None], self.target[index], fresh)
                turned = torch.where(keep[:, None, None], self.target_rotation[index], turned)
            self.target[index] = fresh
            self.target_rotation[index] = turned
            self.t[index] = 0
            self.done[index] = False
        self._effector = None
        self._tip_rotation = None

    def restart(self, seed: int | None = None) -> None:
        """Start new episodes in every instance (reseeding first when given a seed)."""
        if seed is not None:
            self.generator.manual_seed(seed)
        self.done = torch.ones_like(self.done)
        with torch.no_grad():
            self.begin_step()

    def apply(self, commands: list[Command]) -> None:
        """Move the joints as commanded (in link order), then end episodes that ran out."""
        q = self.q
        for command in commands:
            if command.kind == "joint_targets":
                q = joint_targets_from_unit(self.chain, command.values)
            elif command.kind == "joint_deltas":
                q = q + command.values
            else:
                raise ValueError(f"the robot arm does not understand {command.kind!r} commands")
        self.q = self.chain.clamp(q)
        self._effector = None
        self._tip_rotation = None
        self.t = self.t + 1
        self.done = self.t >= self.episode_steps
        if self.time_limit:
            self.truncated = self.done
        self.episodes += int(self.done.sum())

    def _new_targets(self, q_start: Tensor) -> tuple[Tensor, Tensor]:
        """Positions (n, 3) and orientations (n, 3, 3) of new targets for these start poses."""
        if self.target_mode == "near_effector":
            spread = 0.05 + 0.95 * min(max(self.progress, 0.0), 1.0)
            noise = (
                torch.rand(q_start.shape, generator=self.generator, device=q_start.device) * 2 - 1
            )
            q = self.chain.clamp(
                q_start + noise * spread * (self.chain.upper - self.chain.lower) / 2
            )
        elif self.region.count > 1:
            return self._region_targets(q_start.shape[0])
        else:
            q = self.chain.sample_q(q_start.shape[0], self.generator)
        return self.chain.pose(q)

    def _region_targets(self, count: int) -> tuple[Tensor, Tensor]:
        """Reachable targets whose direction from the base lies in this scene's sector.

        Drawn by rejection from the whole workspace, so every target stays reachable and the
        regions of one arm tile its workspace exactly.
        """
        found: list[Tensor] = []
        turns: list[Tensor] = []
        have = 0
        for _ in range(REGION_DRAWS):
            batch = 2 * self.region.count * (count - have) + 64
            points, rotations = self.chain.pose(self.chain.sample_q(batch, self.generator))
            inside = self.region.contains(points)
            found.append(points[inside])
            turns.append(rotations[inside])
            have += int(inside.sum())
            if have >= count:
                return torch.cat(found)[:count], torch.cat(turns)[:count]
        raise ValueError(
            f"this arm can hardly reach {self.region.label} (seen from above, around its base): "
            f"{have} of {count} targets found; use fewer regions or another arm layout"
        )

    def set_target(
        self, instance: int, position: Tensor | Sequence[float], *, hold: bool = False
    ) -> None:
        """Move one instance's target (the user helping the network).

        The point is pulled inside the arm's reach; the target's orientation stays as it was.
        A held target (``hold``, or any target
        placed when ``target_mode == "user_driven"``) stays where it was put for the following
        episodes too, until :meth:`release_target`; otherwise the next episode of that instance
        draws a new one as usual (with one-step episodes, at the very next update).
        """
        if not 0 <= instance < self.target.shape[0]:
            raise ValueError(f"there is no instance {instance} (the scene has {len(self.q)})")
        point = torch.as_tensor(position, dtype=self.target.dtype, device=self.target.device)
        point = point.reshape(3)
        length = float(torch.linalg.vector_norm(point))
        limit = 0.98 * self.geometry.reach
        if length > limit:
            point = point * (limit / length)
        self.target[instance] = point
        self.user_moves += 1
        if hold or self.target_mode == "user_driven":
            self.user_targets.add(instance)
            self._placed[instance] = True

    def hold_target(self, instance: int, position: Tensor | Sequence[float]) -> None:
        """Put one instance's target at ``position`` and keep it there whatever the target
        mode, episode after episode, until :meth:`release_target` (the scene view's drag)."""
        self.set_target(instance, position, hold=True)

    def held_target(self, instance: int) -> tuple[float, float, float] | None:
        """Where that instance's target is held (by a person, or placed in a user-driven
        scene), or ``None`` when its episodes draw their own: what a drag log records."""
        if instance not in self.user_targets:
            return None
        x, y, z = (float(v) for v in self.target[instance].tolist())
        return (x, y, z)

    def release_target(self, instance: int) -> None:
        """Let a held target go: that instance's next episode draws a new target as its mode
        says. A user-driven scene keeps the target where it was put: placing them is its mode."""
        if self.target_mode == "user_driven" or not 0 <= instance < self.target.shape[0]:
            return
        self.user_targets.discard(instance)
        self._placed[instance] = False

    def metrics(self) -> dict[str, float]:
        """What the scene reports each logging step: how far the curriculum has widened."""
        spread = (
            0.05 + 0.95 * min(max(self.progress, 0.0), 1.0)
            if self.target_mode == "near_effector"
            else 1.0
        )
        return {
            "curriculum/spread": spread,
            "curriculum/user_moves": float(self.user_moves),
            "curriculum/user_targets": float(len(self.user_targets)),
        }

    def snapshot(self, instances: list[int]) -> ArmSnapshot:
        """A copy of some instances for the scene view."""
        return arm_snapshot(self, instances)

    # -- what sensors and rewards read -------------------------------------------------------

    @property
    def effector(self) -> Tensor:
        """Tip positions (N, 3), differentiable with respect to the last commands."""
        if self._effector is None:
            self._effector = self.chain.effector(self.q)
        return self._effector

    @property
    def tip_rotation(self) -> Tensor:
        """Tip orientations (N, 3, 3), differentiable with respect to the last commands."""
        if self._tip_rotation is None:
            self._effector, self._tip_rotation = self.chain.pose(self.q)
        return self._tip_rotation

    def angle(self) -> Tensor:
        """Angle (N,) in radians between the tip's orientation and the target's."""
        return angle_between(self.tip_rotation, self.target_rotation)

    def distance(self) -> Tensor:
        """Tip-to-target distance (N,) in metres."""
        distance: Tensor = torch.linalg.vector_norm(self.target - self.effector, dim=-1)
        return distance

    def outcome(self) -> dict[str, Tensor]:
        """Per-instance result of the current state: reach error (mm) and success."""
        error = self.distance().detach()
        success = error < self.success_m
        if self.success_rad > 0:
            success = success & (self.angle().detach() < self.success_rad)
        return {"error_mm": error * 1000.0, "success": success}

    # -- checkpoints and evaluation -------------------------------------------------------

    def state_tensors(self) -> dict[str, Tensor]:
        return {
            "q": self.q.detach().clone(),
            "target": self.target.clone(),
            "target_rotation": self.target_rotation.clone(),
            "t": self.t.clone(),
            "done": self.done.to(torch.uint8),
            "rng": self.generator.get_state(),
            "episodes": torch.tensor([self.episodes], dtype=torch.int64),
            "progress": torch.tensor([self.progress], dtype=torch.float64),
            "user_targets": self._placed.to(torch.uint8),
            "user_moves": torch.tensor([self.user_moves], dtype=torch.int64),
        }

    def load_state_tensors(self, tensors: dict[str, Tensor]) -> None:
        if tensors["q"].shape != self.q.shape:
            raise ValueError(
                f"the checkpoint holds {tuple(tensors['q'].shape)} joint states, this scene "
                f"{tuple(self.q.shape)}"
            )
        self.q = tensors["q"].clone()
        self.target = tensors["target"].clone()
        turned = tensors.get("target_rotation")  # absent in checkpoints from before poses
        self.target_rotation = self.chain.pose(self.q)[1] if turned is None else turned.clone()
        self.t = tensors["t"].clone()
        self.done = tensors["done"].to(torch.bool)
        self.generator.set_state(tensors["rng"])
        self.episodes = int(tensors["episodes"][0])
        self.progress = float(tensors["progress"][0])
        placed = tensors.get("user_targets")  # absent in checkpoints from before user targets
        self._placed = (
            torch.zeros_like(self.done) if placed is None else placed.to(torch.bool).clone()
        )
        self.user_targets = set(self._placed.nonzero().flatten().tolist())
        moves = tensors.get("user_moves")
        self.user_moves = int(moves[0]) if moves is not None else 0
        self._effector = None
        self._tip_rotation = None

    def spawn(
        self, instances: int, generator: torch.Generator, *, whole_world: bool = False
    ) -> ArmScene:
        """A fresh scene like this one (for testing a policy on new episodes).

        Its targets come from this scene's region, or from anywhere with ``whole_world`` (to
        score a network trained on a part of the world on all of it).
        """
        return ArmScene(
            self.geometry,
            instances=instances,
            episode_steps=self.episode_steps,
            success_mm=self.success_m * 1000.0,
            success_deg=math.degrees(self.success_rad),
            target_mode="random_in_reach",
            region=WHOLE_WORLD if whole_world else self.region,
            time_limit=self.time_limit,
            generator=generator,
        )


def joint_targets_from_unit(chain: ArmChain, values: Tensor) -> Tensor:
    """Map values in [-1, 1] to joint angles: -1 the lower limit, +1 the upper one."""
    middle = (chain.upper + chain.lower) / 2
    half = (chain.upper - chain.lower) / 2
    return middle + half * values
