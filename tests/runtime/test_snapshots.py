"""Snapshots for the views, commands from the GUI, and the scene's curriculum metrics."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.events import Event, EventBus
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.runner import Runner
from atrap_studio.runtime.snapshots import network_snapshot
from tests.conftest import shrink


def observed(pipeline: Pipeline) -> tuple[Runner, list[Event]]:
    """A runner on the pipeline and the list its events are collected into."""
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)
    return Runner(pipeline, events=bus), events


def run_with_events(pipeline: Pipeline, steps: int, prepare: object = None) -> list[Event]:
    runner, events = observed(pipeline)
    if callable(prepare):
        prepare(runner)
    runner.run(steps)
    return events


def test_a_snapshot_is_sent_once_per_request(small_doc: GraphDocument, registry: Registry) -> None:
    pipeline = Pipeline(small_doc, registry)

    def ask_twice(runner: Runner) -> None:
        runner.shown_instances = [3, 5]
        runner.request_snapshot()
        runner.request_snapshot()  # requests do not queue up

    events = run_with_events(pipeline, 5, ask_twice)
    snaps = [e for e in events if e.kind == "snapshot"]
    assert len(snaps) == 1
    scene, network = snaps[0].data["scene"], snaps[0].data["network"]
    assert scene.instances.tolist() == [3, 5]
    assert scene.joints.shape == (2, 4, 3)  # 3 joints: base, 2 elbows, tip
    np.testing.assert_allclose(
        scene.error_mm, np.linalg.norm(scene.target - scene.joints[:, -1], axis=1) * 1000, rtol=1e-5
    )
    assert network.sizes == (6, 32, 32, 3) and network.instance == 3
    assert [w.shape for w in network.weights] == [(32, 6), (32, 32), (3, 32)]
    assert [a.shape for a in network.activations] == [(6,), (32,), (32,), (3,)]


def test_activations_are_the_network_computed_layer_by_layer(
    small_doc: GraphDocument, registry: Registry
) -> None:
    pipeline = Pipeline(small_doc, registry)
    observation = torch.randn(4, 6)
    snap = network_snapshot(pipeline.network, observation, 2)
    np.testing.assert_allclose(snap.activations[0], observation[2].numpy())
    with torch.no_grad():
        final = pipeline.network(observation[2:3])[0].numpy()
    np.testing.assert_allclose(snap.activations[-1], final, rtol=1e-5, atol=1e-6)
    first = snap.weights[0] @ snap.activations[0] + snap.biases[0]
    silu = first / (1 + np.exp(-first))  # the example's hidden activation
    np.testing.assert_allclose(snap.activations[1], silu, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(("mode", "pinned"), [("random_in_reach", False), ("user_driven", True)])
def test_a_target_moved_by_the_user(
    small_doc: GraphDocument, registry: Registry, mode: str, pinned: bool
) -> None:
    doc = small_doc.model_copy(deep=True)
    doc.node("arm").props.update(target=mode, episode_steps=1)  # type: ignore[union-attr]
    pipeline = Pipeline(doc, registry)
    point = torch.tensor([0.2, 0.1, 0.4])

    def move(runner: Runner) -> None:
        runner.submit(lambda p: p.scene.set_target(0, point))

    events = run_with_events(pipeline, 3, move)
    assert torch.allclose(pipeline.scene.target[0], point) is pinned
    steps = [e for e in events if e.kind == "step"]
    metrics = steps[-1].data["metrics"]
    assert metrics["curriculum/user_moves"] == 1.0
    assert metrics["curriculum/user_targets"] == (1.0 if pinned else 0.0)


def test_a_target_out_of_reach_is_pulled_in_and_a_bad_instance_refused(
    small_doc: GraphDocument, registry: Registry
) -> None:
    scene = Pipeline(small_doc, registry).scene
    scene.set_target(1, torch.tensor([100.0, 0.0, 0.0]))
    assert float(torch.linalg.vector_norm(scene.target[1])) <= scene.geometry.reach
    with pytest.raises(ValueError, match="no instance 999"):
        scene.set_target(999, torch.zeros(3))


def test_commands_and_snapshots_are_served_while_paused(
    small_doc: GraphDocument, registry: Registry
) -> None:
    runner, events = observed(Pipeline(small_doc, registry))
    runner.pause()
    worker = threading.Thread(target=runner.run, args=(10,))
    worker.start()
    runner.submit(lambda p: p.scene.set_target(0, torch.tensor([0.1, 0.1, 0.3])))
    runner.request_snapshot()
    deadline = time.monotonic() + 30
    while not any(e.kind == "snapshot" for e in events) and time.monotonic() < deadline:
        time.sleep(0.01)
    runner.request_stop()
    worker.join(30)
    snap = next(e for e in events if e.kind == "snapshot")
    assert snap.step == 0
    np.testing.assert_allclose(snap.data["scene"].target[0], [0.1, 0.1, 0.3], rtol=1e-6)


def test_placed_targets_survive_a_checkpoint(small_doc: GraphDocument, registry: Registry) -> None:
    doc = small_doc.model_copy(deep=True)
    doc.node("arm").props["target"] = "user_driven"  # type: ignore[union-attr]
    scene = Pipeline(doc, registry).scene
    scene.set_target(3, torch.tensor([0.2, 0.1, 0.3]))
    state = scene.state_tensors()
    fresh = Pipeline(doc, registry).scene
    fresh.load_state_tensors(state)
    assert fresh.user_targets == {3} and fresh.user_moves == 1
    del state["user_targets"], state["user_moves"]  # a checkpoint from before this feature
    fresh.load_state_tensors(state)
    assert fresh.user_targets == set() and fresh.user_moves == 0


def test_an_unexpected_failure_ends_the_run_cleanly(
    small_doc: GraphDocument, registry: Registry
) -> None:
    runner, events = observed(Pipeline(small_doc, registry))

    def broken(_: Pipeline) -> None:
        raise ZeroDivisionError("a node divided by zero")

    runner.submit(broken)
    result = runner.run(5)
    assert result.reason == "error" and "ZeroDivisionError: a node divided by zero" in (
        result.error or ""
    )
    assert events[-1].kind == "error"


def test_a_pose_scene_snapshot_carries_both_frames_and_judges_the_turn(
    registry: Registry,
) -> None:
    doc = shrink(load_graph(example_path("robot_arm_pose")))
    pipeline = Pipeline(doc, registry)
    scene = pipeline.scene
    with torch.no_grad():
        scene.target[:4] = scene.effector[:4]  # every tip on its target's point
        turns = scene.tip_rotation[:4].clone()
        scene.target_rotation[:2] = turns[:2]  # arms 0 and 1 also turned as their targets
    snap = pipeline.snapshot([0, 1, 2, 3])["scene"]
    assert snap.target_rotation is not None and snap.tip_rotation is not None
    assert snap.error_deg is not None
    np.testing.assert_allclose(snap.tip_rotation, turns.numpy(), atol=1e-6)
    np.testing.assert_allclose(snap.error_deg[:2], 0.0, atol=0.05)
    turned_away = scene.angle()[2:4].detach().numpy()
    np.testing.assert_allclose(np.radians(snap.error_deg[2:]), turned_away, rtol=1e-4)
    assert snap.success[:2].all()  # on the point and turned right
    expected = np.degrees(turned_away) < 5.0  # the example's success_deg
    assert snap.success[2:].tolist() == expected.tolist()


def test_a_position_scene_snapshot_has_no_frames(
    small_doc: GraphDocument, registry: Registry
) -> None:
    snap = Pipeline(small_doc, registry).snapshot([0])["scene"]
    assert snap.target_rotation is None and snap.tip_rotation is None and snap.error_deg is None
