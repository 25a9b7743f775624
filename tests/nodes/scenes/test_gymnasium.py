"""The gymnasium scene: the environment's own numbers through the graph, and bad environments."""

from __future__ import annotations

from pathlib import Path

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.events import Event, EventBus
from atrap_studio.core.registry import Registry
from atrap_studio.core.validation import analyse
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes.scenes.gymnasium.scene import GymScene
from atrap_studio.runtime.context import Command
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.runner import Runner
from tests.conftest import shrink
from tests.nodes.scenes import faulty_envs


def _seed_of(generator: torch.Generator) -> int:
    """The seed a scene built on ``generator`` resets its environments with."""
    copy = torch.Generator().manual_seed(0)
    copy.set_state(generator.get_state())
    return int(torch.randint(0, 2**31 - 1, (1,), generator=copy))


def _reference(env_id: str, instances: int, seed: int) -> gymnasium.vector.VectorEnv:
    env = gymnasium.make_vec(
        env_id,
        num_envs=instances,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": AutoresetMode.DISABLED},
    )
    env.reset(seed=seed)
    return env


@pytest.mark.parametrize("vectorize", ["copies", "auto"])
def test_cartpole_through_the_scene_equals_the_env_itself(vectorize: str) -> None:
    generator = torch.Generator().manual_seed(11)
    seed = _seed_of(generator)
    scene = GymScene("CartPole-v1", instances=3, vectorize=vectorize, generator=generator)
    if vectorize == "auto":  # gymnasium's own vector version, seeded the same way
        reference = gymnasium.make_vec("CartPole-v1", 3, vectorization_mode="vector_entry_point")
    else:
        reference = _reference("CartPole-v1", 3, seed)
    obs, _ = reference.reset(seed=seed)
    np.testing.assert_array_equal(scene.obs.numpy(), obs)
    rng = np.random.default_rng(0)
    for _ in range(30):
        scene.begin_step()
        choice = rng.integers(0, 2, 3)
        values = torch.nn.functional.one_hot(torch.as_tensor(choice), 2).float() * 2 - 1
        scene.apply([Command("env_action", values)])
        obs, reward, terminated, truncated, _ = reference.step(choice)
        np.testing.assert_allclose(scene.obs.numpy(), obs, rtol=0, atol=0)
        np.testing.assert_array_equal(scene.reward.numpy(), reward)
        np.testing.assert_array_equal(scene.terminated.numpy(), terminated)
        np.testing.assert_array_equal(scene.truncated.numpy(), truncated & ~terminated)
        if bool(scene.done.any()):  # restarts differ by design between the two
            break


def test_continuous_actions_are_scaled_to_the_bounds() -> None:
    generator = torch.Generator().manual_seed(5)
    reference = _reference("Pendulum-v1", 2, _seed_of(generator))
    scene = GymScene("Pendulum-v1", instances=2, generator=generator)
    for value in (-1.0, 0.25, 1.0, 3.0):  # out of [-1, 1] is clamped
        scene.begin_step()
        scene.apply([Command("env_action", torch.full((2, 1), value))])
        torque = np.full((2, 1), 2.0 * max(-1.0, min(1.0, value)), np.float32)
        obs, reward, *_ = reference.step(torque)
        np.testing.assert_allclose(scene.obs.numpy(), obs, atol=1e-6)
        np.testing.assert_allclose(scene.reward.numpy(), reward, atol=1e-5)


def test_episode_returns_are_the_sum_of_rewards_and_restart_after_the_end() -> None:
    scene = GymScene("CartPole-v1", instances=4, generator=torch.Generator().manual_seed(1))
    push_right = torch.tensor([[-1.0, 1.0]]).repeat(4, 1)  # falls over within ~10 steps
    gathered = torch.zeros(4, dtype=torch.float64)
    for _ in range(60):
        scene.begin_step()
        scene.apply([Command("env_action", push_right)])
        gathered += scene.reward.double()
        if bool(scene.done.any()):
            ended = scene.done
            outcome = scene.outcome()
            torch.testing.assert_close(outcome["return"][ended], gathered[ended])
            assert not bool(outcome["success"][ended].any())  # far from 475
            assert bool(scene.terminated[ended].all())
            gathered[ended] = 0.0
    assert scene.episodes >= 4


def test_frames_of_the_shown_copies() -> None:
    scene = GymScene("CartPole-v1", instances=3, vectorize="copies", generator=torch.Generator())
    snap = scene.snapshot([2, 0])
    assert snap.kind == "frame" and list(snap.instances) == [2, 0]
    assert len(snap.frames) == 2 and snap.frames[0].shape == (400, 600, 3)
    assert snap.frames[0].dtype == np.uint8 and snap.frames[0].std() > 0  # a real picture
    big = GymScene("CartPole-v1", instances=100, generator=torch.Generator())
    assert big.snapshot([0]).frames == () and "vectorize" in big.snapshot([0]).note


def test_cartpole_example_validates_and_its_outcome_is_the_return(registry: Registry) -> None:
    analysis = analyse(load_graph(example_path("cartpole_ppo")), registry)
    assert analysis.ok
    assert analysis.outcome is not None and analysis.outcome.score.key == "return"
    assert "475" in analysis.outcome.success
    assert analysis.inputs[("brain", "state")] == (4,)


@pytest.mark.parametrize(
    ("env_id", "words"),
    [
        ("NoSuchGame-v9", "no gymnasium environment 'NoSuchGame-v9' is installed"),
        ("Blackjack-v1", "Tuple space"),
    ],
)
def test_an_env_the_scene_cannot_carry_is_named_in_validation(
    env_id: str, words: str, registry: Registry
) -> None:
    doc = load_graph(example_path("cartpole_ppo"))
    doc.node("cartpole").props["env_id"] = env_id  # type: ignore[union-attr]
    issues = analyse(doc, registry).issues
    setup = [i for i in issues if i.code == "scene.setup"]
    assert len(setup) == 1 and setup[0].node == "cartpole" and words in setup[0].message


def test_observations_that_blow_up_stop_the_run_naming_the_sensor(
    registry: Registry, tmp_path: Path
) -> None:
    runner = Runner(Pipeline(_faulty_graph("explode"), registry), out_dir=tmp_path)
    result = runner.run()
    assert result.reason == "error"
    assert "node 'sees' (sensor.env_observation) observed a value beyond ±1e+15" in (
        result.error or ""
    )
    assert result.checkpoint is not None and result.checkpoint.is_file()  # the last good one


def _faulty_graph(fault: str) -> GraphDocument:
    faulty_envs.register()
    doc = shrink(load_graph(example_path("pendulum_ppo")), steps=30, checkpoint_every=5)
    doc.node("pendulum").props.update(  # type: ignore[union-attr]
        env_id=f"atrap-test/Faulty{fault.title()}-v0", instances=2, success_return_on=False
    )
    doc.node("teach").props.update(horizon=2, eval_every=1000)  # type: ignore[union-attr]
    return doc


@pytest.mark.parametrize("fault", ["nan", "raise"])
def test_an_env_that_fails_mid_run_stops_it_naming_the_scene(
    fault: str, registry: Registry, tmp_path: Path
) -> None:
    events: list[Event] = []
    bus = EventBus()
    bus.subscribe(events.append)
    runner = Runner(Pipeline(_faulty_graph(fault), registry), out_dir=tmp_path, events=bus)
    result = runner.run()
    assert result.reason == "error"
    assert "the scene 'pendulum' failed" in (result.error or "")
    assert ("non-finite" if fault == "nan" else "lost its licence") in (result.error or "")
    error = events[-1]
    assert error.kind == "error" and error.data["node"] == "pendulum"
    assert result.checkpoint is not None and result.checkpoint.is_file()  # the last good one
