"""The tank duel as gymnasium envs: ``atrap/TankArena-v0``.

Not a second copy of the game: each env is the graph env of ``tanks_camera_ppo.yaml`` with the
arena and camera set from keyword arguments, so an outside RL library plays the very game our
own trainers see. The observation is the camera strip (per ray: distance as a share of the
arena's diagonal; then whether it sees the enemy; then whether it sees an enemy shell) and
the tank's status (health, gun loaded); the action is one score per move (the highest is
played) with ``controls="discrete"``, or drive, turn and fire with ``controls="continuous"``;
the reward is the example's (hits, the win, hits taken, aim). A fight ends when a tank is
destroyed (terminated) or by the time limit (truncated); ``info`` then holds ``result``
(+1 won, 0 draw, -1 lost) and ``is_success``.
"""

from __future__ import annotations

from typing import Any

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import AtrapError
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.envs.graph_env import GraphEnv, GraphVectorEnv
from atrap_studio.examples import example_path

EXAMPLE = "tanks_camera_ppo"


def tank_game_graph(
    *,
    opponent: str = "wanderer",
    map: str = "pillars",  # the scene's own property name
    rays: int = 32,
    fov_deg: float = 90.0,
    episode_steps: int = 300,
    hits_to_kill: int = 3,
    controls: str = "discrete",
) -> GraphDocument:
    """The example graph with its arena and camera set as asked."""
    doc = load_graph(example_path(EXAMPLE))
    arena, camera = doc.node("arena"), doc.node("eye")
    assert arena is not None and camera is not None
    arena.props.update(
        opponent=opponent,
        map=map,
        episode_steps=episode_steps,
        hits_to_kill=hits_to_kill,
        controls=controls,
    )
    camera.props.update(rays=rays, fov_deg=fov_deg)
    return doc


class TankArenaEnv(GraphEnv):
    """One arena: the agent's tank against a scripted opponent (keyword arguments as
    :func:`tank_game_graph`, plus ``device`` and ``render_mode=None``)."""

    def __init__(self, device: str = "cpu", render_mode: str | None = None, **game: Any) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode {render_mode!r} is not supported; this env has none")
        try:
            super().__init__(tank_game_graph(**game), device=device)
        except AtrapError as exc:  # an argument the graph refuses, in validation's words
            raise ValueError(str(exc)) from None


class TankArenaVectorEnv(GraphVectorEnv):
    """``num_envs`` arenas in one batched scene: one tensor pass per step."""

    def __init__(
        self,
        num_envs: int = 1,
        device: str = "cpu",
        render_mode: str | None = None,
        **game: Any,
    ) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode {render_mode!r} is not supported; this env has none")
        try:
            super().__init__(tank_game_graph(**game), num_envs=num_envs, device=device)
        except AtrapError as exc:
            raise ValueError(str(exc)) from None
