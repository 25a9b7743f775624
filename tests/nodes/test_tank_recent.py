"""The watched arena's last steps: what a snapshot carries for the 3-D view to play."""

from __future__ import annotations

import itertools
import math

import torch

from atrap_studio.nodes.scenes.tanks.arena import TankArena
from atrap_studio.nodes.scenes.tanks.recent import RECENT
from atrap_studio.runtime.context import Command


def fight(seed: int = 0) -> TankArena:
    return TankArena(
        instances=4,
        map_name="random",
        opponent="wanderer",
        episode_steps=30,
        generator=torch.Generator().manual_seed(seed),
    )


def step(arena: TankArena) -> None:
    arena.begin_step()
    controls = torch.tensor([[1.0, 0.4, 1.0]]).repeat(arena.instances, 1)
    arena.apply([Command("tank_controls", controls)])


def test_a_snapshot_carries_the_watched_arenas_steps_since_the_last_one() -> None:
    arena = fight()
    assert arena.snapshot([2]).recent is None  # nothing recorded before the views asked
    seen = []
    for _ in range(40):  # past the end of a fight (30 steps): a new one starts in between
        step(arena)
        seen.append(
            (
                arena.position[2].clone(),
                arena.heading[2].clone(),
                int(arena.t[2]),
                arena.camera(0, 32, math.radians(90.0), torch.tensor([2]))[0][0],
            )
        )
    snap = arena.snapshot([2, 0])
    recent = snap.recent
    assert recent is not None and len(recent.steps) == 40
    assert recent.instances.tolist() == [2] * 40 and recent.recent is None
    for row, (position, heading, t, depth) in enumerate(seen):
        assert torch.equal(torch.from_numpy(recent.position[row]), position)
        assert torch.equal(torch.from_numpy(recent.heading[row]), heading)
        assert int(recent.steps[row]) == t
        assert torch.equal(torch.from_numpy(recent.ray_depth[row, 0]), depth)
    steps = recent.steps.tolist()
    assert any(b < a for a, b in itertools.pairwise(steps))  # a new fight is among them
    # each step is carried once; another arena starts afresh
    step(arena)
    again = arena.snapshot([2]).recent
    assert again is not None and len(again.steps) == 1
    assert arena.snapshot([1]).recent is None
    for _ in range(RECENT + 10):
        step(arena)
    last = arena.snapshot([1]).recent
    assert last is not None and len(last.steps) == RECENT
    assert torch.equal(torch.from_numpy(last.position[-1]), arena.position[1])


def test_watching_changes_nothing_in_the_fights() -> None:
    watched, plain = fight(3), fight(3)
    watched.snapshot([1])
    for index in range(50):
        step(watched)
        step(plain)
        if index % 7 == 0:
            watched.snapshot([1])
        for name, value in plain.state_tensors().items():
            torch.testing.assert_close(watched.state_tensors()[name], value, rtol=0, atol=0)
