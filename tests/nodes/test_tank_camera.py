"""The tank camera's fast ray caster gives exactly what the plain formulation gives.

The oracle below is the camera as it was before it was made fast (``git show 98bb567:
nodes/scenes/tanks/arena.py``), written out plainly: every ray against every circle with the
textbook quadratic, boolean masks and ``where``s, one wall distance per axis. The camera must
match it bit for bit on random arenas, including the awkward ones: origins inside a pillar or
a shell, dead tanks, shells at rest, maps without pillars, wide and one-ray cameras.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor

from atrap_studio.nodes.scenes.tanks.arena import SHELL_RADIUS, TankArena
from atrap_studio.nodes.scenes.tanks.geometry import FAR, ray_circles
from atrap_studio.nodes.scenes.tanks.nodes import camera_view
from atrap_studio.nodes.scenes.tanks.workspace import Workspace


def plain_ray_circles(origin: Tensor, direction: Tensor, centres: Tensor, radii: Tensor) -> Tensor:
    """(N, R, C) distance from each ray's origin to where it enters each circle, FAR if never."""
    ox, oy = origin[..., 0, None], origin[..., 1, None]
    dx, dy = direction[..., 0, None], direction[..., 1, None]
    cx, cy = centres[:, None, :, 0], centres[:, None, :, 1]
    b = (ox * dx + oy * dy) - (dx * cx + dy * cy)  # d·(o - c)
    circle = torch.where(radii > 0, centres.square().sum(-1) - radii.square(), FAR)
    k = ((ox * ox + oy * oy) + circle[:, None, :]) - 2 * (ox * cx + oy * cy)  # |o - c|² - r²
    disc = torch.addcmul(-k, b, b)
    root = disc.clamp(min=0.0).sqrt()
    hit = (disc >= 0) & (root >= b)  # the far root is ahead: in front, or the origin inside
    near = (-(root + b)).clamp(min=0.0)
    return torch.where(hit, near, FAR)


def plain_ray_box(origin: Tensor, direction: Tensor, half: float) -> Tensor:
    safe = torch.where(direction.abs() < 1e-9, torch.full_like(direction, 1e-9), direction)
    limit = torch.where(safe > 0, half - origin, -half - origin)
    return (limit / safe).clamp(min=0.0).amin(-1)


def plain_camera(scene: TankArena, tank: int, rays: int, fov: float) -> tuple[Tensor, Tensor]:
    """Depth and class (0 wall, 1 pillar, 2 enemy, 3 enemy shell) of each ray, (N, rays)."""
    offsets = torch.linspace(fov / 2, -fov / 2, rays)
    angle = scene.heading[:, tank, None] + offsets[None]
    direction = torch.stack([torch.cos(angle), torch.sin(angle)], -1)
    origin = scene.position[:, tank, None, :]
    used = (scene.pillars[..., 2] > 0).any(0).nonzero()
    pillars = scene.pillars[:, : int(used.max()) + 1 if used.numel() else 0]
    alive = (scene.health[:, 1 - tank, None] > 0).float()
    flying = scene.shell_alive[:, 1 - tank, None].float()
    centres = torch.cat(
        [pillars[..., :2], scene.shell[:, 1 - tank, None], scene.position[:, 1 - tank, None]], 1
    )
    radii = torch.cat([pillars[..., 2], SHELL_RADIUS * flying, scene.rules.tank_radius * alive], 1)
    to_circles = plain_ray_circles(origin, direction, centres, radii)
    depth = plain_ray_box(origin, direction, scene.rules.half)
    what = torch.zeros_like(depth, dtype=torch.int64)
    if pillars.shape[1]:
        to_pillar = to_circles[..., :-2].amin(-1)
        what = torch.where(to_pillar < depth, 1, what)
        depth = torch.minimum(depth, to_pillar)
    for kind, distance in ((3, to_circles[..., -2]), (2, to_circles[..., -1])):
        what = torch.where(distance < depth, kind, what)
        depth = torch.minimum(depth, distance)
    return depth, what


def random_arenas(seed: int, map_name: str, count: int = 300) -> TankArena:
    """Arenas in random states the game itself rarely reaches, some of them awkward."""
    generator = torch.Generator().manual_seed(seed)
    scene = TankArena(instances=count, map_name=map_name, generator=generator)

    def uniform(*shape: int) -> Tensor:
        return torch.rand(*shape, generator=generator) * 2 - 1

    limit = scene.rules.half - scene.rules.tank_radius
    scene.position[:] = uniform(count, 2, 2) * limit
    scene.heading[:] = uniform(count, 2) * math.pi
    scene.shell[:] = uniform(count, 2, 2) * scene.rules.half
    scene.shell_alive[:] = uniform(count, 2) > 0
    scene.health[:] = (uniform(count, 2) > -0.6).long() * 2  # a fifth of the tanks dead
    # the camera inside a shell, inside a pillar, and exactly on a pillar's edge
    scene.shell[:20, 1] = scene.position[:20, 0] + 0.05
    scene.shell_alive[:20, 1] = True
    if map_name != "open":
        scene.pillars[20:40, 0, :2] = scene.position[20:40, 0] + 0.1
        scene.pillars[40:60, 0, :2] = scene.position[40:60, 0] + torch.tensor([0.5, 0.0])
        scene.pillars[20:60, 0, 2] = 0.5
    return scene


@pytest.mark.parametrize("map_name", ["random", "pillars", "open"])
def test_the_camera_matches_the_plain_ray_caster_bit_for_bit(map_name: str) -> None:
    seen: set[int] = set()
    for seed in range(3):
        scene = random_arenas(seed, map_name)
        for tank in (0, 1):
            for rays, fov in ((64, math.radians(90.0)), (33, math.radians(200.0)), (1, 0.3)):
                depth, what = plain_camera(scene, tank, rays, fov)
                fast_depth, fast_what = scene.camera(tank, rays, fov)
                assert torch.equal(fast_depth, depth) and torch.equal(fast_what, what)
                diagonal = 2 * math.sqrt(2) * scene.rules.half
                strip = torch.cat([depth / diagonal, (what == 2).float(), (what == 3).float()], -1)
                assert torch.equal(camera_view(scene, tank, rays, fov), strip)
                seen |= set(what.unique().tolist())
    # not trivially satisfied: every kind of thing was seen somewhere
    assert seen == ({0, 2, 3} if map_name == "open" else {0, 1, 2, 3})


def test_the_strip_is_the_callers_own_and_the_camera_works_in_and_out_of_inference_mode() -> None:
    scene = random_arenas(4, "random", count=50)
    kept = camera_view(scene, 0, 16, math.radians(90.0))
    copy = kept.clone()
    scene.position[:, 0] *= 0.5  # the next picture differs
    with torch.inference_mode():
        inside = camera_view(scene, 0, 16, math.radians(90.0))
    outside = camera_view(scene, 0, 16, math.radians(90.0))
    assert torch.equal(kept, copy) and not torch.equal(kept, outside)
    assert torch.equal(inside, outside)


def test_a_workspace_hands_back_the_same_memory_until_the_shape_or_mode_changes() -> None:
    work = Workspace()
    first = work.get("a", (4, 3))
    assert work.get("a", (4, 3)).data_ptr() == first.data_ptr()
    assert work.get("a", (5, 3)).shape == (5, 3)
    assert work.get("a", (5, 3), torch.int64).dtype == torch.int64
    with torch.inference_mode():
        assert work.get("a", (5, 3), torch.int64).is_inference()
    assert not work.get("a", (5, 3), torch.int64).is_inference()


def test_shells_meet_tanks_and_pillars_in_one_pass_as_in_two() -> None:
    """A shell's flight tests the tanks and the pillars as one set of circles; the distances
    must be those of the plain formula, circle by circle."""
    scene = random_arenas(5, "random")
    direction = torch.stack([torch.cos(scene.heading), torch.sin(scene.heading)], -1)
    centres = torch.cat([scene.position, scene.pillars[..., :2]], 1)
    radii = torch.cat([torch.full((scene.instances, 2), 0.45), scene.pillars[..., 2]], 1)
    together = ray_circles(scene.shell, direction, centres, radii)
    assert torch.equal(together, plain_ray_circles(scene.shell, direction, centres, radii))
    assert bool((together < FAR).any()) and bool((together == FAR).any())
