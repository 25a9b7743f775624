"""Learned IK: a trained network's guess of the joint angles, refined by a few DLS steps, batched.

A network trained on the robot arm (for example the ``robot_arm_reach`` example) answers in
one batched forward pass with joint angles that bring the tip near the target; a few steps of
damped least squares from that guess then close the rest (measured in benchmarks/ik.py: about
3 mm median from the network alone, well under 0.01 mm after 3 steps, several times faster than
DLS from a cold start).

Given target orientations as well (a network trained on poses, such as the ``robot_arm_pose``
example's, reads them), the guess is of the whole pose and the refinement solves the 6-D error
of position and orientation (:func:`atrap_studio.ik.dls.solve_dls` with ``rotations``);
answers are then judged by both the distance and the angle left.

The solver only accepts a network it can feed exactly as it was trained: the file's manifest
lists the sensors of the graph it was trained with (the same graph the file embeds), and each
must be one the solver can compute from a start pose and a target; its output must be absolute
joint targets of the same arm.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from atrap_studio.core.errors import AtrapError
from atrap_studio.ik.chain import ArmChain, ArmGeometry
from atrap_studio.ik.dls import METRES_PER_RADIAN, solve_dls
from atrap_studio.ik.features import (
    DISTANCE_MODES,
    TURN_MODES,
    joint_quaternions,
    tip_to_target,
    turn_to_target,
)
from atrap_studio.ik.result import IKResult
from atrap_studio.ik.rotations import ORIENTATION_ENCODINGS, angle_between, encode

if TYPE_CHECKING:
    from atrap_studio.runtime.netfile import LoadedNetwork, NetManifest, PortMeaning

__all__ = ["SOLVER_GIVES", "LearnedIK", "LearnedIKResult", "NetworkUnfitError"]

#: The sensors a learned IK network may read: all are computed from a start pose and a target.
SOLVER_GIVES = {
    "sensor.target_position": "the target",
    "sensor.joint_angles": "the start pose's joint angles",
    "sensor.effector_position": "the start pose's tip position",
    "sensor.distance_to_target": "the start pose's tip-to-target distance",
    "sensor.target_orientation": "the target's orientation",
    "sensor.effector_orientation": "the start pose's tip orientation",
    "sensor.orientation_to_target": "the start pose's turn to the target's orientation",
}
#: Sensors that read the target's orientation: a network reading one needs orientations given.
_ORIENTATION_SENSORS = ("sensor.target_orientation", "sensor.orientation_to_target")
#: The angle (radians) that counts as reached when orientations are given: 0.5 degrees.
DEFAULT_ANGLE_TOLERANCE = 0.5 * 3.141592653589793 / 180
#: Sensors that carry the target: a network reading none of them cannot know where to reach.
_TARGET_SENSORS = ("sensor.target_position", "sensor.distance_to_target")
_ARM_SCENE = "scene.robot_arm"
_ANSWER = "action.joint_targets"
#: Random start poses the fallback tries, one after another, for targets DLS from the middle
#: of the limits missed; and the seed they are drawn with.
FALLBACK_RANDOM_STARTS = 4
_FALLBACK_SEED = 0
#: Targets solved at once: bounds memory (DLS builds (N, J, 3, 3) frames) for large files.
DEFAULT_CHUNK = 65_536


class NetworkUnfitError(AtrapError):
    """A network that cannot serve as an IK solver: another scene, inputs or outputs."""


@dataclass(kw_only=True)
class LearnedIKResult(IKResult):
    """An :class:`IKResult` with what a user of learned IK needs to trust each answer.

    Attributes:
        guess_error: The network's answer alone, distance (N,) in metres from the target.
        reached: (N,) True where ``error`` is within the tolerance the solve was asked for.
        beyond_reach: (N,) True where the target lies farther from the base than the
            stretched arm: no solver can reach it; ``q`` stretches the arm towards it (near,
            not exactly at, the closest the arm gets).
        rescued: (N,) True where the fallback (DLS from a cold start, for targets the
            refinement left beyond the tolerance) gave the answer.
        guess_angle: For poses, the network's answer alone: angle (N,) in radians from the
            target's orientation; None for positions only.

    ``reached`` then asks both the distance and the angle (``angle``) to be within their
    tolerances.
    """

    guess_error: Tensor
    reached: Tensor
    beyond_reach: Tensor
    rescued: Tensor
    guess_angle: Tensor | None = None


def trained_arm(manifest: NetManifest, geometry: ArmGeometry | None = None) -> ArmGeometry:
    """The arm a network was trained on, from its provenance.

    Args:
        manifest: The network's manifest.
        geometry: The arm to assume when the file does not say (files from before format
            version 2); a file naming another arm is refused all the same.

    Raises:
        NetworkUnfitError: another scene, an arm that cannot be read, or none named or given.
    """
    scene = manifest.provenance.scene
    if scene is None:
        if geometry is None:
            raise NetworkUnfitError(
                "it does not say which scene it was trained on (an older file); retrain it, "
                "or give the arm it was trained on"
            )
        return geometry
    if scene.type != _ARM_SCENE:
        raise NetworkUnfitError(f"it was trained on {scene.type}, not on {_ARM_SCENE}")
    props = scene.props
    try:
        trained = ArmGeometry.from_props(
            int(props.get("joints", 0)),
            props.get("axes", []),
            props.get("link_lengths", []),
            props.get("limits_deg", []),
        )
    except (TypeError, ValueError) as exc:
        raise NetworkUnfitError(f"its arm cannot be read from its provenance: {exc}") from None
    if geometry is not None and trained != geometry:
        raise NetworkUnfitError(f"it was trained on another arm ({trained}), not {geometry}")
    return trained


def fit_problems(manifest: NetManifest, geometry: ArmGeometry) -> list[str]:
    """Why a network's inputs and outputs do not fit a learned IK solver of ``geometry``
    (empty when they do): each input must be a sensor the solver computes, of the right size."""
    joints = geometry.joints
    problems = []
    for port in manifest.inputs:
        if port.type not in SOLVER_GIVES:
            gives = ", ".join(f"{t} ({what})" for t, what in SOLVER_GIVES.items())
            problems.append(
                f"it reads '{port.node}' ({port.type}), which a solver cannot give: it gives "
                f"only {gives}"
            )
            continue
        expected = _input_size(port, joints)
        if expected is None:
            problems.append(f"input '{port.node}' ({port.type}) has settings {port.props}")
        elif port.size != expected:
            problems.append(
                f"input '{port.node}' ({port.type}) has {port.size} values, a {joints}-joint "
                f"arm's has {expected}"
            )
    if not any(port.type in _TARGET_SENSORS for port in manifest.inputs):
        problems.append(
            "it never reads the target (no sensor.target_position or "
            "sensor.distance_to_target among its inputs), so it cannot know where to reach"
        )
    outputs = [(port.type, port.size) for port in manifest.outputs]
    if outputs != [(_ANSWER, joints)]:
        problems.append(
            f"it answers with {outputs}; a solver needs absolute joint angles, "
            f"[('{_ANSWER}', {joints})]"
        )
    return problems


def _input_size(port: PortMeaning, joints: int) -> int | None:
    """The size a sensor has on a ``joints``-joint arm; None for settings the solver lacks."""
    if port.type == "sensor.joint_angles":
        encoding = port.props.get("encoding", "radians")
        return {"radians": joints, "quaternion": 4 * joints}.get(encoding)
    if port.type == "sensor.distance_to_target":
        mode = port.props.get("mode", "vector")
        if mode not in DISTANCE_MODES:
            return None
        return 3 if mode in ("vector", "direction") else 1
    if port.type in ("sensor.target_orientation", "sensor.effector_orientation"):
        return ORIENTATION_ENCODINGS.get(port.props.get("encoding", "rotation_6d"))
    if port.type == "sensor.orientation_to_target":
        mode = port.props.get("mode", "rotation_vector")
        if mode not in TURN_MODES:
            return None
        return 3 if mode == "rotation_vector" else 1
    return 3


class LearnedIK:
    """A batched IK solver made of a trained network and damped-least-squares refinement.

    Args:
        network: A loaded network file (:func:`atrap_studio.runtime.netfile.load_network`).
        where: The file's name, for messages.
        dtype: Precision of the refinement and of the errors reported; the network itself
            always runs in float32 (its file holds float32 weights).
        geometry: The arm to assume when the file does not name one (see :func:`trained_arm`).

    Raises:
        NetworkUnfitError: naming every input or output that does not fit.
    """

    def __init__(
        self,
        network: LoadedNetwork,
        *,
        where: str = "the network",
        dtype: torch.dtype = torch.float32,
        geometry: ArmGeometry | None = None,
    ) -> None:
        manifest = network.manifest
        try:
            self.geometry = trained_arm(manifest, geometry)
        except NetworkUnfitError as exc:
            raise NetworkUnfitError(f"{where} cannot serve as a learned IK solver: {exc}") from None
        problems = fit_problems(manifest, self.geometry)
        if problems:
            raise NetworkUnfitError(
                f"{where} cannot serve as a learned IK solver: " + "; ".join(problems)
            )
        self.manifest = manifest
        self.chain = ArmChain(self.geometry, dtype=dtype)
        self._net_chain = ArmChain(self.geometry, dtype=torch.float32)
        self._inputs = list(manifest.inputs)
        self._needs_tip = any(
            port.type
            in (
                "sensor.effector_position",
                "sensor.distance_to_target",
                "sensor.effector_orientation",
                "sensor.orientation_to_target",
            )
            for port in self._inputs
        )
        #: Whether the network reads the target's orientation (it was trained on poses).
        self.reads_orientation = any(port.type in _ORIENTATION_SENSORS for port in self._inputs)
        # The share of each joint's range that the output's -1..+1 spans (action "range").
        self._span = float(manifest.outputs[0].props.get("range", 1.0))
        self.module = network.module.float().eval()

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        *,
        dtype: torch.dtype = torch.float32,
        geometry: ArmGeometry | None = None,
    ) -> LearnedIK:
        """Load and check a network file as a solver.

        Raises:
            NetworkFileError: the file is not a sound network file.
            NetworkUnfitError: it is one, but not of a network that can solve IK.
        """
        from atrap_studio.runtime.netfile import load_network

        return cls(load_network(path), where=os.fspath(path), dtype=dtype, geometry=geometry)

    @property
    def joints(self) -> int:
        """Number of joints of the arm the network drives."""
        return self.geometry.joints

    def start_pose(self, n: int) -> Tensor:
        """The default start pose (n, J), the middle of every joint's range: one of the poses
        the network was trained from, and the same for every target, so answers repeat."""
        chain = self._net_chain
        return ((chain.lower + chain.upper) / 2).expand(n, self.joints).clone()

    def guess(
        self, targets: Tensor, q_start: Tensor | None = None, rotations: Tensor | None = None
    ) -> Tensor:
        """The network's joint angles (N, J) for targets (N, 3): one batched forward pass.

        Args:
            targets: Effector targets in metres.
            q_start: The pose (N, J) the arm starts from, for networks that read it (joint
                angles, the tip's position); None: :meth:`start_pose`.
            rotations: Target orientations (N, 3, 3), for networks that read them.
        """
        targets = _checked_targets(targets).to(torch.float32)
        if self.reads_orientation and rotations is None:
            raise ValueError(
                "this network was trained on poses (it reads the target's orientation): "
                "give the targets' orientations too"
            )
        if rotations is not None:
            rotations = _checked_rotations(rotations, targets.shape[0]).to(torch.float32)
        if q_start is None:
            q_start = self.start_pose(targets.shape[0])
        elif q_start.shape != (targets.shape[0], self.joints):
            raise ValueError(
                f"q_start must have shape ({targets.shape[0]}, {self.joints}), "
                f"got {tuple(q_start.shape)}"
            )
        chain = self._net_chain
        with torch.inference_mode():
            state = self._state(q_start.to(torch.float32), targets, rotations)
            unit = self.module(state)
            middle, half = (chain.upper + chain.lower) / 2, (chain.upper - chain.lower) / 2
            return chain.clamp(middle + half * (self._span * unit))

    def solve(
        self,
        targets: Tensor,
        *,
        refine: int = 3,
        q_start: Tensor | None = None,
        tolerance: float = 1e-3,
        fallback: bool = False,
        chunk: int = DEFAULT_CHUNK,
        rotations: Tensor | None = None,
        angle_tolerance: float = DEFAULT_ANGLE_TOLERANCE,
        metres_per_radian: float = METRES_PER_RADIAN,
    ) -> LearnedIKResult:
        """The network's guess, then up to ``refine`` DLS steps from it, ``chunk`` targets at a
        time.

        Refinement keeps the best pose it sees, the guess included, so it never makes an
        answer worse (for poses: the distance and ``metres_per_radian`` times the angle, as
        one 6-D error); it stops early once every target of a chunk is within 1e-6 m.

        Args:
            targets: Effector targets (N, 3) in metres, all finite.
            refine: DLS steps after the guess (0: the network alone).
            q_start: Start poses (N, J) the network reads (see :meth:`guess`).
            tolerance: Distance in metres that counts as reached (``result.reached``).
            fallback: Solve the targets within reach that are still beyond ``tolerance``
                again with full DLS from a cold start (the middle of the limits, then up to
                :data:`FALLBACK_RANDOM_STARTS` random poses for what that misses), keeping the
                better answer: the few targets the network misses by far (a few % of the
                example's) cost little this way, and all the others keep the learned speed.
            chunk: Most targets solved at once.
            rotations: Target orientations (N, 3, 3) of the tip: solve whole poses. Required
                by a network that reads orientations; a network of positions only guesses the
                position and the refinement turns the tip.
            angle_tolerance: With ``rotations``: the angle (radians) that counts as reached.
            metres_per_radian: With ``rotations``: how the refinement weighs an angle against
                a distance (see :mod:`atrap_studio.ik.dls`).

        Returns:
            Joint angles in the chain's dtype, their errors (and angles), the guess's and flags.
        """
        if refine < 0:
            raise ValueError(f"refine must be 0 or more steps, got {refine}")
        if chunk < 1:
            raise ValueError(f"chunk must be at least 1, got {chunk}")
        targets = _checked_targets(targets)
        n = targets.shape[0]
        if q_start is not None and q_start.shape != (n, self.joints):
            raise ValueError(
                f"q_start must have shape ({n}, {self.joints}), got {tuple(q_start.shape)}"
            )
        if rotations is not None:
            rotations = _checked_rotations(rotations, n)
        elif self.reads_orientation:
            raise ValueError(
                "this network was trained on poses (it reads the target's orientation): "
                "give the targets' orientations too"
            )
        pose = None if rotations is None else _Pose(angle_tolerance, metres_per_radian)
        parts = [
            self._solve_chunk(
                targets[i : i + chunk],
                None if q_start is None else q_start[i : i + chunk],
                None if rotations is None else rotations[i : i + chunk],
                refine,
                tolerance if fallback else None,
                pose,
            )
            for i in range(0, n, chunk)
        ]
        error = torch.cat([p.error for p in parts])
        reached = error <= tolerance
        angle = guess_angle = None
        if pose is not None:
            angle = torch.cat([p.angle for p in parts if p.angle is not None])
            guess_angle = torch.cat([p.guess_angle for p in parts if p.guess_angle is not None])
            reached = reached & (angle <= angle_tolerance)
        return LearnedIKResult(
            q=torch.cat([p.q for p in parts]),
            error=error,
            iterations=max((p.iterations for p in parts), default=0),
            angle=angle,
            guess_error=torch.cat([p.guess_error for p in parts]),
            guess_angle=guess_angle,
            reached=reached,
            beyond_reach=torch.cat([p.beyond for p in parts]),
            rescued=torch.cat([p.rescued for p in parts]),
        )

    def _solve_chunk(
        self,
        targets: Tensor,
        q_start: Tensor | None,
        rotations: Tensor | None,
        refine: int,
        fallback_above: float | None,
        pose: _Pose | None,
    ) -> _Chunk:
        chain = self.chain
        targets_c = targets.detach().to(chain.dtype)
        turns = None if rotations is None else rotations.detach().to(chain.dtype)
        weight = METRES_PER_RADIAN if pose is None else pose.metres_per_radian
        # A target beyond reach is aimed at through the point of the reach sphere on the way
        # to it: the stretched arm pointing at it, and no overflow for absurd distances.
        distance = _distance(targets_c, torch.zeros_like(targets_c))
        beyond = distance > self.geometry.reach
        aim = targets_c * torch.clamp(self.geometry.reach / distance, max=1.0).unsqueeze(1)
        # The guess in the refinement's dtype and limits: the pose DLS starts from, exactly.
        guessed_for = turns if self.reads_orientation else None
        q_guess = chain.clamp(self.guess(aim, q_start, guessed_for).to(chain.dtype))
        guess = self._measure(q_guess, targets_c, turns)
        best, iterations = guess, 0
        if refine:
            refined = solve_dls(
                chain, aim, q_guess, iterations=refine, rotations=turns, metres_per_radian=weight
            )
            best = best.better(self._found(refined, targets_c, turns, beyond), weight)
            iterations = refined.iterations
        rescued = torch.zeros_like(beyond)
        if fallback_above is not None:
            # DLS from the middle of the limits, then, for what it still misses, from a few
            # random poses (seeded: answers repeat): a pose DLS misses from one start it
            # usually reaches from another.
            generator = torch.Generator(device=chain.device).manual_seed(_FALLBACK_SEED)
            for attempt in range(1 + FALLBACK_RANDOM_STARTS):
                missed = best.error > fallback_above
                if best.angle is not None and pose is not None:
                    missed |= best.angle > pose.angle_tolerance
                rows = (missed & ~beyond).nonzero().squeeze(1)
                if not rows.numel():
                    break
                start = chain.sample_q(int(rows.numel()), generator) if attempt else None
                aimed = None if turns is None else turns[rows]
                cold = solve_dls(  # its own iterations and tolerance
                    chain, aim[rows], start, rotations=aimed, metres_per_radian=weight
                )
                found = self._found(cold, targets_c[rows], aimed, beyond[rows])
                best, taken = best.take(rows, found, weight)
                rescued = rescued.clone()
                rescued[taken] = True
        return _Chunk(
            best.q,
            best.error,
            guess.error,
            iterations,
            beyond,
            rescued,
            best.angle,
            guess.angle,
        )

    def _found(
        self, found: IKResult, targets: Tensor, rotations: Tensor | None, beyond: Tensor
    ) -> _Answer:
        """What DLS found, as far from the targets as it is: DLS measured it to the aim, which
        is the target itself except beyond reach, so only those rows are measured again."""
        answer = _Answer(found.q, found.error, found.angle)
        if not bool(beyond.any()):
            return answer
        far = beyond.nonzero().squeeze(1)
        again = self._measure(
            found.q[far], targets[far], None if rotations is None else rotations[far]
        )
        error = found.error.clone()
        error[far] = again.error
        return _Answer(found.q, error, found.angle)

    def _measure(self, q: Tensor, targets: Tensor, rotations: Tensor | None) -> _Answer:
        """How far the tip at ``q`` is from each target (and turned from its orientation),
        measured to the target itself (not the aim: they differ beyond reach)."""
        if rotations is None:
            return _Answer(q, _distance(self.chain.effector(q), targets), None)
        position, rotation = self.chain.pose(q)
        return _Answer(q, _distance(position, targets), angle_between(rotation, rotations))

    def _state(self, q_start: Tensor, targets: Tensor, rotations: Tensor | None) -> Tensor:
        """The network's input, slice by slice as the manifest lists its sensors."""
        chain = self._net_chain
        if self._needs_tip:
            tip, tip_rotation = chain.pose(q_start)
        else:
            tip, tip_rotation = targets, None
        parts = []
        for port in self._inputs:
            if port.type == "sensor.target_position":
                parts.append(targets)
            elif port.type == "sensor.effector_position":
                parts.append(tip)
            elif port.type == "sensor.distance_to_target":
                parts.append(tip_to_target(targets - tip, port.props.get("mode", "vector")))
            elif port.type == "sensor.effector_orientation":
                assert tip_rotation is not None
                parts.append(encode(tip_rotation, port.props.get("encoding", "rotation_6d")))
            elif port.type == "sensor.target_orientation":
                assert rotations is not None
                parts.append(encode(rotations, port.props.get("encoding", "rotation_6d")))
            elif port.type == "sensor.orientation_to_target":
                assert rotations is not None and tip_rotation is not None
                mode = port.props.get("mode", "rotation_vector")
                parts.append(turn_to_target(tip_rotation, rotations, mode))
            elif port.props.get("encoding", "radians") == "radians":
                parts.append(q_start)
            else:
                parts.append(joint_quaternions(q_start, chain.axis_index))
        return torch.cat(parts, dim=1)


@dataclass
class _Chunk:
    q: Tensor
    error: Tensor
    guess_error: Tensor
    iterations: int
    beyond: Tensor
    rescued: Tensor
    angle: Tensor | None
    guess_angle: Tensor | None


@dataclass(frozen=True)
class _Pose:
    """How a solve of poses judges and weighs angles."""

    angle_tolerance: float
    metres_per_radian: float


@dataclass
class _Answer:
    """Joint angles (N, J) and how far their tip is from the targets (and turned from them)."""

    q: Tensor
    error: Tensor
    angle: Tensor | None

    def score(self, weight: float) -> Tensor:
        """One figure per row, lower is better: the distance, or the 6-D error's length."""
        if self.angle is None:
            return self.error
        return torch.hypot(self.error, weight * self.angle)

    def better(self, other: _Answer, weight: float) -> _Answer:
        """Per row, the better of the two (``other`` on a tie): refining never makes worse."""
        take = other.score(weight) <= self.score(weight)
        return _Answer(
            torch.where(take.unsqueeze(1), other.q, self.q),
            torch.where(take, other.error, self.error),
            None
            if self.angle is None or other.angle is None
            else torch.where(take, other.angle, self.angle),
        )

    def take(self, rows: Tensor, other: _Answer, weight: float) -> tuple[_Answer, Tensor]:
        """These rows replaced by ``other``'s where it is better; and the rows replaced."""
        keep = other.score(weight) < _Answer(
            self.q[rows], self.error[rows], None if self.angle is None else self.angle[rows]
        ).score(weight)
        taken = rows[keep]
        q, error = self.q.clone(), self.error.clone()
        q[taken], error[taken] = other.q[keep], other.error[keep]
        angle = None
        if self.angle is not None and other.angle is not None:
            angle = self.angle.clone()
            angle[taken] = other.angle[keep]
        return _Answer(q, error, angle), taken


def _distance(a: Tensor, b: Tensor) -> Tensor:
    """Row-wise |a - b| (N,) without overflow: a target 1e300 m away is far, not infinitely."""
    d = a - b
    scale = d.abs().amax(dim=1, keepdim=True).clamp(min=torch.finfo(d.dtype).tiny)
    norm: Tensor = torch.linalg.vector_norm(d / scale, dim=1)
    return scale.squeeze(1) * norm


def _checked_targets(targets: Tensor) -> Tensor:
    if targets.dim() != 2 or targets.shape[1] != 3:
        raise ValueError(f"targets must have shape (N, 3), got {tuple(targets.shape)}")
    finite = torch.isfinite(targets).all(dim=1)
    if not bool(finite.all()):
        rows = (~finite).nonzero().squeeze(1)[:5].tolist()
        raise ValueError(f"targets hold NaN or infinite values (rows {rows}...)")
    return targets


def _checked_rotations(rotations: Tensor, n: int) -> Tensor:
    if rotations.shape != (n, 3, 3):
        raise ValueError(
            f"orientations must have shape ({n}, 3, 3) to match the targets, "
            f"got {tuple(rotations.shape)}"
        )
    if not bool(torch.isfinite(rotations).all()):
        raise ValueError("orientations hold NaN or infinite values")
    return rotations
