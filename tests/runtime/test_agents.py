"""Several learning agents in one graph: the two-learner tank example at a tiny size steps its
arenas once per step for both agents, each trainer learns from its own rewards, a checkpoint
holds every agent and resumes bit for bit, each agent's network file loads on its own, and
validation names the node at fault when agents lack pieces or claim the same tank."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from atrap_studio.core.document import GraphDocument, Link, NodeDoc
from atrap_studio.core.errors import RunError
from atrap_studio.core.events import EventBus
from atrap_studio.core.registry import Registry
from atrap_studio.core.validation import analyse
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.runtime.checkpoint import load_checkpoint
from atrap_studio.runtime.netfile import load_network
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.runner import Runner

EXAMPLE = "tanks_two_learners_ppo"


def _tiny(red_trainer: str = "trainer.ppo", **red: Any) -> GraphDocument:
    """The two-learner example on 6 small arenas with small networks; the red agent may
    learn by another trainer."""
    doc = load_graph(example_path(EXAMPLE))
    for node in doc.nodes:
        if node.type == "scene.tank_arena":
            node.props.update(instances=6, episode_steps=30)
        elif node.type == "sensor.camera":
            node.props["rays"] = 8
        elif node.type == "nn.factory":
            node.props["hidden"] = [16]
        elif node.type.startswith("trainer."):
            if node.id == "red_teach" and red_trainer != node.type:
                node.type = red_trainer
                node.props = {"buffer_size": 500, "batch_size": 16, "target_every": 20}
            node.props.update(
                horizon=8, steps=6, eval_every=3, eval_episodes=6, checkpoint_every=2, log_every=1
            )
            if node.id == "red_teach":
                node.props.update(red)
    return doc


def _node(doc: GraphDocument, node_id: str) -> NodeDoc:
    return next(n for n in doc.nodes if n.id == node_id)


def test_the_example_has_two_agents_each_with_its_own_pieces(registry: Registry) -> None:
    analysis = analyse(load_graph(example_path(EXAMPLE)), registry)
    assert analysis.ok, analysis.issues
    assert analysis.trainer == "blue_teach"
    blue, red = analysis.agents
    assert (blue.trainer, blue.network, blue.seats) == ("blue_teach", "blue_brain", ("blue",))
    assert (red.trainer, red.network, red.seats) == ("red_teach", "red_brain", ("red",))
    assert red.sensors == ("red_eye", "red_self") and red.actions == ("red_drive",)
    assert red.rewards == ("red_hit", "red_win", "red_hurt")


def test_one_scene_step_serves_both_agents_each_from_its_own_side(registry: Registry) -> None:
    pipeline = Pipeline(_tiny(), registry)
    blue, red = pipeline.agents
    assert (blue.seat, red.seat) == (0, 1)
    arena: Any = pipeline.scene
    steps = []
    original = arena.apply
    arena.apply = lambda commands: (steps.append(commands), original(commands))
    metrics = pipeline.train(0)
    assert len(steps) == 8  # horizon 8: one apply per step, with both tanks' commands
    assert all(sorted(c.seat for c in commands) == [0, 1] for commands in steps)
    for trainer in ("blue_teach", "red_teach"):
        assert f"{trainer}:loss/policy" in metrics and f"{trainer}:reward/total" in metrics
    assert "blue_teach:reward/blue_hit" in metrics and "red_teach:reward/red_hit" in metrics
    assert not any(k.startswith("blue_teach:reward/red") for k in metrics)
    # each observes its own tank: the red agent's camera is the arena seen from the red tank
    mirrored = arena.mirrored()
    assert torch.equal(red.observe(arena), blue.observe(mirrored))
    # the networks are their own: different seeds, different weights
    assert not torch.equal(blue.network[0].weight, red.network[0].weight)


def test_the_red_tank_waits_without_its_agent(registry: Registry) -> None:
    """The first agent alone (a test or play of it) leaves the red tank standing still."""
    pipeline = Pipeline(_tiny(), registry)
    arena: Any = pipeline.scene
    before = arena.position[:, 1].clone()
    arena.begin_step()
    pipeline.act(arena, pipeline.network(pipeline.observe(arena)))
    assert torch.equal(arena.position[:, 1], before)


def _straight_and_resumed(doc: GraphDocument, registry: Registry, tmp_path: Path) -> Runner:
    """Train ``doc`` 6 updates straight, and again stopped at 4 and resumed from that
    checkpoint; assert both end the same, bit for bit; return the resumed runner."""
    straight = Runner(Pipeline(doc, registry), out_dir=tmp_path / "a")
    assert straight.run().reason == "completed"
    half = tmp_path / "b"
    bus = EventBus()
    interrupted = Runner(Pipeline(doc, registry), out_dir=half, events=bus)
    bus.subscribe(lambda e: e.kind == "checkpoint" and e.step == 4 and interrupted.request_stop())
    assert interrupted.run().step == 4
    checkpoint = load_checkpoint(half / "checkpoints" / "ckpt-00000004.atrapckpt")
    assert any(k.startswith("agent/red_teach/network/") for k in checkpoint.tensors)
    assert any(k.startswith("agent/red_teach/trainer/") for k in checkpoint.tensors)
    assert set(checkpoint.agents_meta) == {"red_teach"}
    resumed = Runner(Pipeline(doc, registry, seed=checkpoint.seed), out_dir=half)
    assert resumed.run(resume=checkpoint).step == 6
    for a, b in zip(straight.pipeline.agents, resumed.pipeline.agents, strict=True):
        assert a.trainer_id == b.trainer_id and a.architecture == b.architecture
        weights_a, weights_b = a.network.state_dict(), b.network.state_dict()
        assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)
        mine, theirs = a.trainer.state_tensors()[0], b.trainer.state_tensors()[0]
        assert mine.keys() == theirs.keys()
        assert all(torch.equal(mine[k], theirs[k]) for k in mine), a.trainer_id
    scene_a = straight.pipeline.scene.state_tensors()
    scene_b = resumed.pipeline.scene.state_tensors()
    assert all(torch.equal(scene_a[k], scene_b[k]) for k in scene_a)

    def rows(folder: Path) -> list[str]:  # elapsed time and speed aside
        lines = (folder / "metrics.csv").read_text().splitlines()
        head = lines[0].split(",")
        keep = [i for i, k in enumerate(head) if k != "elapsed_s" and not k.startswith("perf/")]
        return [",".join(line.split(",")[i] for i in keep) for line in lines]

    assert rows(tmp_path / "a") == rows(half)
    return resumed


@pytest.mark.parametrize("red_trainer", ["trainer.ppo", "trainer.dqn"])
def test_checkpoints_of_two_agents_resume_bit_exactly(
    registry: Registry, tmp_path: Path, red_trainer: str
) -> None:
    _straight_and_resumed(_tiny(red_trainer), registry, tmp_path)


def test_the_second_agents_network_grows_and_resumes_exactly(
    registry: Registry, tmp_path: Path
) -> None:
    doc = _tiny()
    _node(doc, "red_brain").props.update(grow="schedule", grow_every=3, grow_max_width=24)
    resumed = _straight_and_resumed(doc, registry, tmp_path)
    blue, red = resumed.pipeline.agents
    assert blue.architect is None and red.architect is not None
    assert blue.architecture.parameter_count() < red.architecture.parameter_count()
    assert red.owner.history  # how it grew, kept across the resume


def test_each_agent_writes_a_network_file_that_loads_as_any(
    registry: Registry, tmp_path: Path
) -> None:
    result = Runner(Pipeline(_tiny(), registry), out_dir=tmp_path).run()
    assert result.network_path == tmp_path / "network.atrapnet"
    assert result.network_paths == {
        "blue_teach": tmp_path / "network.atrapnet",
        "red_teach": tmp_path / "network-red_brain.atrapnet",
    }
    blue = load_network(tmp_path / "network.atrapnet")
    red = load_network(tmp_path / "network-red_brain.atrapnet")
    assert [m.node for m in blue.manifest.inputs] == ["blue_eye", "blue_self"]
    assert [m.node for m in red.manifest.inputs] == ["red_eye", "red_self"]
    assert [m.node for m in red.manifest.outputs] == ["red_drive"]
    # the red file's test is its own side of the fights: its wins are blue's losses
    evaluation = result.evaluation
    assert evaluation is not None
    assert red.manifest.training["evaluation"]["mean_result"] == pytest.approx(
        -evaluation["mean_result"]
    )
    # a red network plays the blue tank of a one-agent graph (the arena is symmetric)
    single = load_graph(example_path("tanks_camera_ppo"))
    for node in single.nodes:
        if node.type == "scene.tank_arena":
            node.props["instances"] = 4
        elif node.type == "sensor.camera":
            node.props["rays"] = 8
        elif node.type == "nn.factory":
            red_file = str(tmp_path / "network-red_brain.atrapnet")
            node.type, node.props = "nn.load", {"file": red_file}
    single.links = [lk for lk in single.links if lk.dst.port != "image"]
    assert Pipeline(single, registry).network is not None


def test_a_save_node_saves_the_network_linked_into_it(registry: Registry, tmp_path: Path) -> None:
    doc = _tiny()
    doc.nodes.append(
        NodeDoc(id="keep_red", type="nn.save", props={"file": "red-{update}.atrapnet"})
    )
    doc.links.append(Link.model_validate(["red_brain.network", "keep_red.network"]))
    _node(doc, "keep_red").props["every"] = 3
    Runner(Pipeline(doc, registry), out_dir=tmp_path).run()
    saved = load_network(tmp_path / "red-6.atrapnet")
    assert [m.node for m in saved.manifest.inputs] == ["red_eye", "red_self"]


def test_you_play_against_the_first_agent_of_a_two_agent_graph(registry: Registry) -> None:
    """Play Against the Network seats the person in the red tank in place of the second
    agent; the first agent's network drives blue."""
    from atrap_studio.nodes.scenes.tanks.play import Duel

    doc = _tiny()
    weights = Pipeline(doc, registry).network.state_dict()
    duel = Duel(doc, weights)
    before = duel.arena.position[0, 1].clone()
    duel.step(drive=1.0, turn=0.0, fire=False)
    assert duel.arena.opponent_name == "player"
    assert not torch.equal(duel.arena.position[0, 1], before)  # the person's keys drove red


def test_both_agents_learn_their_own_rewards(registry: Registry) -> None:
    """Each trainer's rewards are its own tank's: the red agent rewarded for hitting blue."""
    pipeline = Pipeline(_tiny(), registry)
    arena: Any = pipeline.scene
    arena.hits[:] = torch.tensor([False, True])  # red was hit: blue hit it
    blue, red = pipeline.agents
    assert float(blue.rewards(arena)["blue_hit"].min()) == 1.0
    assert float(red.rewards(arena)["red_hurt"].max()) == -0.5
    assert float(red.rewards(arena)["red_hit"].max()) == 0.0


# -- validation ------------------------------------------------------------------------------


def _codes(doc: GraphDocument, registry: Registry) -> dict[str, tuple[str | None, str]]:
    return {i.code: (i.node, i.severity) for i in analyse(doc, registry).issues}


def test_two_agents_claiming_one_tank_are_refused(registry: Registry) -> None:
    doc = _tiny()
    _node(doc, "red_drive").props["tank"] = "blue"
    assert _codes(doc, registry)["agent.seat_taken"] == ("red_drive", "error")


def test_a_scripted_opponent_leaves_room_for_one_agent(registry: Registry) -> None:
    doc = _tiny()
    _node(doc, "arena").props["opponent"] = "hunter"
    issues = [i for i in analyse(doc, registry).issues if i.code == "graph.trainers"]
    assert [i.node for i in issues] == ["red_teach"]
    assert "opponent to 'learner'" in issues[0].hint


def test_a_red_tank_without_its_agent_is_refused(registry: Registry) -> None:
    doc = _tiny()
    doc.nodes = [n for n in doc.nodes if not n.id.startswith("red_")]
    doc.links = [lk for lk in doc.links if "red_" not in f"{lk.src} {lk.dst}"]
    assert _codes(doc, registry)["agent.seat_idle"] == ("arena", "error")
    _node(doc, "arena").props["opponent"] = "wanderer"
    assert analyse(doc, registry).ok  # one agent against a script: as always


def test_a_red_action_needs_the_learner_opponent(registry: Registry) -> None:
    doc = load_graph(example_path("tanks_camera_ppo"))
    next(n for n in doc.nodes if n.type == "action.tank_controls").props["tank"] = "red"
    issues = [i for i in analyse(doc, registry).issues if i.code == "agent.seat_unavailable"]
    assert len(issues) == 1 and issues[0].prop == "tank"
    assert "opponent to 'learner'" in issues[0].hint


def test_a_network_or_an_action_shared_by_two_agents_is_refused(registry: Registry) -> None:
    doc = _tiny()
    doc.links = [lk for lk in doc.links if str(lk.src) != "red_brain.network"]
    doc.links.append(Link.model_validate(["blue_brain.network", "red_teach.network"]))
    codes = _codes(doc, registry)
    assert codes["agent.shared_network"] == ("blue_brain", "error")
    assert codes["agent.no_trainer"] == ("red_drive", "error")
    doc = _tiny()
    doc.links = [lk for lk in doc.links if str(lk.dst) != "arena.actuators" or "red" not in str(lk)]
    doc.links.append(Link.model_validate(["red_brain.action", "blue_drive.values"]))
    assert _codes(doc, registry)["agent.shared_action"] == ("blue_drive", "error")


def test_a_sensor_of_the_other_tank_is_worth_a_warning(registry: Registry) -> None:
    doc = _tiny()
    _node(doc, "red_eye").props["tank"] = "blue"
    analysis = analyse(doc, registry)
    assert analysis.ok
    assert _codes(doc, registry)["agent.other_seat"] == ("red_eye", "warning")


def test_agents_step_together_only_with_equal_horizons(registry: Registry) -> None:
    with pytest.raises(RunError, match="horizons are 'blue_teach' 8, 'red_teach' 16") as caught:
        Pipeline(_tiny(horizon=16), registry)
    assert caught.value.node == "red_teach"


def test_a_two_agent_graph_as_a_gymnasium_env_steps_the_red_agent_too() -> None:
    """The env's agent is the first; the second answers by its own network in the same step."""
    from atrap_studio.envs.graph_env import GraphVectorEnv

    env = GraphVectorEnv(_tiny(), num_envs=3)
    pipeline = env._task.pipeline
    red = pipeline.agents[1]
    with torch.no_grad():  # red's network always answers 'forward' (option 1 of 8)
        red.network[-1].bias[1] = 100.0
    env.reset(seed=1)
    arena: Any = pipeline.scene
    before = arena.position[:, 1].clone()
    env.step(np.zeros((3, 8), dtype=np.float32))
    moved = torch.linalg.vector_norm(arena.position[:, 1] - before, dim=-1)
    assert bool((moved > 0.2).all())  # 3 m/s for 0.1 s, less where a wall or pillar stops it
