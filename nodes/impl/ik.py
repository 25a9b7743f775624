"""The ``action.ik_reach`` node: a trained arm network used as an IK solver inside a graph."""

from __future__ import annotations

from typing import Any

import torch

from atrap_studio.core.errors import NetworkFileError, RunError
from atrap_studio.ik.dls import METRES_PER_RADIAN
from atrap_studio.ik.learned import LearnedIK, NetworkUnfitError
from atrap_studio.ik.rotations import from_six_d, small_rotation
from atrap_studio.nodes.impl.nn import resolve
from atrap_studio.runtime.arm_scene import ArmScene
from atrap_studio.runtime.context import Command, NodeContext

#: Damping (metres) of the first-order map from a moved point to moved joints, so that the
#: gradient stays bounded where the arm is stretched or folded (a singular pose).
_GRADIENT_DAMPING = 0.01


class IKReach:
    """Joint targets that bring the tip to the point (and orientation) its input names.

    The solve itself has no gradient; for trainers that learn through the scene's gradient (the
    direct trainer) the joints follow a moved point to first order, as the solution would:
    ``dq = J^T (J J^T + lambda^2 I)^-1 de`` at the solved pose, with ``de`` the move of the
    point (and the turn of the orientation, weighted as the solver weighs it).
    """

    def __init__(self, ctx: NodeContext) -> None:
        self.id = ctx.id
        self.pose = ctx.props["orientation"] == "given"
        self.refine = int(ctx.props["refine"])
        self.path = resolve(ctx, ctx.props["file"])
        try:
            self.solver = LearnedIK.from_file(self.path)
        except (NetworkFileError, NetworkUnfitError) as exc:
            raise RunError(
                f"node '{ctx.id}' cannot use {self.path} as its IK solver: {exc}", node=ctx.id
            ) from None
        if self.solver.reads_orientation and not self.pose:
            raise RunError(
                f"node '{ctx.id}': {self.path} was trained on poses (it reads the target's "
                "orientation), so it needs one: set 'orientation' to given",
                node=ctx.id,
            )
        self._checked = False

    def forward(self, inputs: dict[str, Any]) -> dict[str, Command]:
        scene: ArmScene = inputs["scene"]
        if not self._checked:
            self._check_arm(scene)
        values: torch.Tensor = inputs["values"]
        solver = self.solver
        point = values[:, :3] * solver.geometry.reach
        rotation = from_six_d(values[:, 3:9]) if self.pose else None
        with torch.no_grad():
            found = solver.solve(
                point.detach(),
                rotations=None if rotation is None else rotation.detach(),
                refine=self.refine,
            )
        q = found.q.to(values.dtype)
        if values.requires_grad:
            q = q + self._follow(q, point, rotation)
        chain = solver.chain
        middle, half = (chain.upper + chain.lower) / 2, (chain.upper - chain.lower) / 2
        return {"command": Command("joint_targets", (q - middle) / half)}

    def _follow(
        self, q: torch.Tensor, point: torch.Tensor, rotation: torch.Tensor | None
    ) -> torch.Tensor:
        """Zero in value; in gradient, how the solved joints move with the asked point."""
        chain = self.solver.chain
        with torch.no_grad():
            _, _, jac = chain.pose_and_jacobian(q)
        moved = point - point.detach()
        if rotation is None:
            jac, error = jac[:, :3], moved
        else:
            weight = METRES_PER_RADIAN  # as the solver weighs an angle against a distance
            jac = torch.cat([jac[:, :3], weight * jac[:, 3:]], dim=1)
            error = torch.cat([moved, weight * small_rotation(rotation.detach(), rotation)], dim=1)
        eye = torch.eye(jac.shape[1], dtype=jac.dtype, device=jac.device)
        system = jac @ jac.transpose(1, 2) + _GRADIENT_DAMPING**2 * eye
        solved = torch.linalg.solve(system, error.unsqueeze(-1))
        return (jac.transpose(1, 2) @ solved).squeeze(-1)

    def _check_arm(self, scene: ArmScene) -> None:
        geometry = getattr(scene, "geometry", None)
        if geometry != self.solver.geometry:
            raise RunError(
                f"node '{self.id}': {self.path} solves for another arm ({self.solver.geometry}) "
                f"than the scene's ({geometry}); train a network on this arm, or use its file",
                node=self.id,
            )
        self._checked = True
