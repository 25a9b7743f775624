"""Self-play in the tank arena: the other tank is driven by frozen copies of the agent's own
network, seeing the arena from its side through the graph's own sensors; the pool of copies
grows as training goes, is kept in checkpoints, and tests play against it without adding to it."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes.scenes.tanks.arena import TankArena
from atrap_studio.nodes.scenes.tanks.opponents import PastSelf
from atrap_studio.runtime.checkpoint import load_checkpoint, restore, save_checkpoint
from atrap_studio.runtime.pipeline import Pipeline


def _self_play(instances: int = 8) -> GraphDocument:
    doc = load_graph(example_path("tanks_camera_ppo"))
    doc.node("arena").props.update(
        instances=instances, opponent="past_self", map="open", episode_steps=30
    )  # type: ignore[union-attr]
    doc.node("teach").props.update(horizon=8, minibatches=2, epochs=1)  # type: ignore[union-attr]
    return doc


def test_the_mirrored_view_is_the_arena_seen_from_the_other_tank(registry: Registry) -> None:
    pipeline = Pipeline(_self_play(1), registry, seed=0)
    arena = pipeline.scene
    assert isinstance(arena, TankArena)
    arena.position[0] = torch.tensor([[-4.0, 0.0], [4.0, 2.0]])
    arena.heading[0] = torch.tensor([0.0, math.pi])
    arena.health[0] = torch.tensor([3, 1])
    mirror = arena.mirrored()
    assert mirror.health[0].tolist() == [1, 3]
    torch.testing.assert_close(mirror.position[0, 0], torch.tensor([4.0, 2.0]))
    # the graph's own sensors read the other tank's camera and status from the mirror
    (seen,) = pipeline.play_as(mirror, [pipeline.network])
    assert seen[-1].kind == "tank_controls" and seen[-1].values.shape == (1, 3)
    depth, _ = arena.camera(1, 32, math.radians(90.0))
    mirror_depth, _ = mirror.camera(0, 32, math.radians(90.0))
    torch.testing.assert_close(depth, mirror_depth)
    assert arena.health[0].tolist() == [3, 1]  # the arena itself is untouched


def test_the_past_self_plays_as_the_network_would_in_its_place(registry: Registry) -> None:
    pipeline = Pipeline(_self_play(4), registry, seed=1)
    arena = pipeline.scene
    assert isinstance(arena, TankArena) and isinstance(arena.opponent, PastSelf)
    arena.begin_step()
    controls = arena.opponent.act(arena, arena.opponent_state, arena.generator)
    # the first copy is the network itself, so its controls are the network's on the mirror
    expected = pipeline.play_as(arena.mirrored(), [pipeline.network])[0][-1].values
    torch.testing.assert_close(controls, expected.clamp(-1, 1))
    assert int(arena.opponent_state["copies"][0]) == 1


def test_the_pool_grows_and_a_checkpoint_resumes_self_play_exactly(
    registry: Registry, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(PastSelf, "EVERY", 8)  # a copy every update of 8 steps
    doc = _self_play()
    first = Pipeline(doc, registry, seed=4)
    first.trainer.plan(10)
    for update in range(3):
        first.trainer.step(update)
    state = first.scene.opponent_state  # type: ignore[attr-defined]
    assert int(state["copies"][0]) == 3
    newest = state["pool2/0.weight"]
    assert not torch.equal(state["pool0/0.weight"], newest)  # copies of a network that learned
    path = tmp_path / "self-play.atrapckpt"
    save_checkpoint(path, first, step=3, env_steps=192, elapsed_s=1.0)
    resumed = Pipeline(doc, registry, seed=4)
    restore(resumed, load_checkpoint(path))
    resumed.trainer.plan(10)
    for pipeline in (first, resumed):
        for update in (3, 4):
            pipeline.trainer.step(update)
    for name in ("position", "heading", "health"):
        assert torch.equal(getattr(first.scene, name), getattr(resumed.scene, name)), name
    for key, value in first.network.state_dict().items():
        assert torch.equal(value, resumed.network.state_dict()[key]), key
    # a test plays the pool as it is and adds nothing to it
    copies = int(state["copies"][0])
    first.evaluate(first.trainer.policy, 16, seed=9)
    assert int(first.scene.opponent_state["copies"][0]) == copies  # type: ignore[attr-defined]


def test_a_loaded_network_is_tested_against_itself(registry: Registry) -> None:
    pipeline = Pipeline(_self_play(2), registry, seed=2)
    with torch.no_grad():  # as if weights were loaded from a file after the pipeline was built
        for parameter in pipeline.network.parameters():
            parameter.add_(0.5)
    test = pipeline.scene.spawn(4, torch.Generator().manual_seed(0))
    assert isinstance(test.opponent, PastSelf)
    test.begin_step()
    controls = test.opponent.act(test, test.opponent_state, test.generator)
    expected = pipeline.play_as(test.mirrored(), [pipeline.network])[0][-1].values
    torch.testing.assert_close(controls, expected.clamp(-1, 1))
