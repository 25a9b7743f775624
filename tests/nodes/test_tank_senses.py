"""What tanks hear, and a hunter that uses its ears and the pillars: shots are remembered where
and when they were fired, the hearing sensor fades them, and the scripted hunter goes after a
shot it heard and hides behind a pillar while it reloads."""

from __future__ import annotations

import math

import torch

from atrap_studio.core.document import Endpoint
from atrap_studio.core.editing import add_node, connect, set_prop
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes.scenes.tanks.arena import NEVER, TankArena
from atrap_studio.runtime.context import Command
from atrap_studio.runtime.pipeline import Pipeline

WAIT = (0.0, 0.0, -1.0)
FIRE = (0.0, 0.0, 1.0)


def duel(opponent: str) -> TankArena:
    scene = TankArena(
        instances=1, map_name="open", opponent=opponent, generator=torch.Generator().manual_seed(0)
    )
    scene.pillars.zero_()
    return scene


def put(scene: TankArena, agent: tuple[float, float, float], enemy: tuple[float, float, float]):
    """Place both tanks as (x, y, heading)."""
    scene.position[0] = torch.tensor([agent[:2], enemy[:2]])
    scene.heading[0] = torch.tensor([agent[2], enemy[2]])


def step(scene: TankArena, controls: tuple[float, float, float], times: int = 1) -> None:
    for _ in range(times):
        scene.begin_step()
        scene.apply([Command("tank_controls", torch.tensor([controls]))])


def test_a_shot_is_remembered_where_it_was_fired_and_fades_with_time() -> None:
    scene = duel("idle")
    put(scene, (-4.0, 1.0, math.pi), (4.0, 0.0, 0.0))
    assert int(scene.shot_age[0, 0]) == NEVER
    assert float(scene.heard(1, memory=10, reach=12.0)[0]) == 0.0
    step(scene, FIRE)
    assert int(scene.shot_age[0, 0]) == 0
    torch.testing.assert_close(scene.shot_at[0, 0], torch.tensor([-4.0, 1.0]))
    assert float(scene.heard(1, memory=10, reach=12.0)[0]) == 1.0
    step(scene, WAIT, 5)
    assert abs(float(scene.heard(1, memory=10, reach=12.0)[0]) - 0.5) < 1e-6
    assert float(scene.heard(1, memory=10, reach=5.0)[0]) == 0.0  # too far away to hear
    step(scene, WAIT, 5)
    assert float(scene.heard(1, memory=10, reach=12.0)[0]) == 0.0


def test_the_hearing_sensor_gives_loudness_and_direction(registry: Registry) -> None:
    doc = load_graph(example_path("tanks_camera_ppo"))
    doc.node("arena").props.update(instances=1, opponent="idle", map="open")  # type: ignore[union-attr]
    spec = registry.get("sensor.hearing")
    assert spec is not None
    doc, ears = add_node(doc, spec)
    doc = set_prop(doc, ears, "memory_steps", 4)
    doc = connect(
        doc, registry, Endpoint(node="arena", port="scene"), Endpoint(node=ears, port="scene")
    )
    doc = connect(
        doc, registry, Endpoint(node=ears, port="value"), Endpoint(node="brain", port="state")
    )
    pipeline = Pipeline(doc, registry, seed=0)
    scene = pipeline.scene
    assert isinstance(scene, TankArena)
    scene.pillars.zero_()
    put(scene, (0.0, 0.0, 0.0), (0.0, 5.0, 0.0))  # the enemy is straight to the agent's left
    hearing = pipeline.impls[ears]
    silent = hearing.forward({"scene": scene})["value"][0]
    assert silent.tolist() == [0.0, 0.0, 0.0]
    scene.shot_at[0, 1] = scene.position[0, 1]
    scene.shot_age[0, 1] = 1
    loud, cos, sin = hearing.forward({"scene": scene})["value"][0].tolist()
    assert abs(loud - 0.75) < 1e-6 and abs(cos) < 1e-6 and abs(sin - 1.0) < 1e-6


def test_the_hunter_goes_after_a_shot_it_heard_from_out_of_sight() -> None:
    turned = {}
    for fires in (False, True):
        scene = duel("hunter")
        scene.pillars[0, 0] = torch.tensor([0.0, 0.0, 1.5])  # between the two tanks
        put(scene, (-4.0, 0.0, math.pi), (4.0, 0.0, math.pi / 2))
        assert not bool(scene.line_of_sight(1)[0])
        step(scene, FIRE if fires else WAIT)  # the agent fires at the wall behind it
        step(scene, WAIT, 9)  # a quarter turn takes 8 steps
        turned[fires] = abs(float(scene.bearing(1)[0]))
    assert turned[False] > math.radians(60.0)  # roaming: it never turned to the agent
    assert turned[True] < math.radians(20.0)  # it heard the shot and turned towards it


def test_the_hunter_hides_behind_a_pillar_while_it_reloads() -> None:
    scene = duel("hunter")
    scene.pillars[0, 0] = torch.tensor([2.5, 2.0, 0.9])
    put(scene, (-5.0, 0.0, 0.0), (1.0, 0.0, math.pi))
    assert bool(scene.line_of_sight(1)[0])
    scene.reload[0, 1] = 40  # it has just fired
    hidden = []
    for _ in range(30):
        step(scene, WAIT)
        hidden.append(not bool(scene.line_of_sight(1)[0]))
    assert hidden[-1], "still in the agent's sight after 3 s of reloading"
    scene.reload[0, 1] = 0  # loaded again: it comes out to fight
    for _ in range(30):
        step(scene, WAIT)
        if bool(scene.line_of_sight(1)[0]):
            break
    assert bool(scene.line_of_sight(1)[0])
