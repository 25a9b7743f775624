"""Networks that grow and shrink inside real runs: the owner, the trainers, events, checkpoints
and network files follow every change."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import RunError
from atrap_studio.core.events import Event, EventBus
from atrap_studio.core.registry import Registry
from atrap_studio.core.validation import analyse
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.runtime.architect.surgery import hidden_widths
from atrap_studio.runtime.checkpoint import load_checkpoint
from atrap_studio.runtime.netfile import load_network
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.runner import Runner
from tests.conftest import shrink


def growing(doc: GraphDocument, mode: str = "schedule", **props: object) -> GraphDocument:
    """``doc`` with its NN Factory set to grow (a small first network, small steps)."""
    grown = doc.model_copy(deep=True)
    for node in grown.nodes:
        if node.type == "nn.factory":
            node.props.update(
                hidden=[8, 8], grow=mode, grow_every=5, grow_max_width=12, grow_max_layers=3
            )
            node.props.update(props)
    return grown


def run(
    doc: GraphDocument, registry: Registry, out: Path | None, steps: int
) -> tuple[Runner, list[Event]]:
    events: list[Event] = []
    bus = EventBus()
    bus.subscribe(events.append)
    runner = Runner(Pipeline(doc, registry), out_dir=out, events=bus)
    result = runner.run(steps)
    assert result.reason == "completed", result.error
    return runner, events


def test_a_scheduled_network_grows_and_every_holder_follows(
    arm_doc: GraphDocument, registry: Registry, tmp_path: Path
) -> None:
    doc = growing(shrink(arm_doc))
    runner, events = run(doc, registry, tmp_path, 40)
    pipeline = runner.pipeline
    changes = [e for e in events if e.kind == "architecture"]
    # every 5 updates: widen 8 -> 10 -> 12 (each layer), then insert a third layer (silu: an
    # exact identity needs neuron pairs, so twice the width); then the bounds allow no more
    assert [e.step for e in changes] == [5, 10, 15, 20, 25]
    assert [e.data["revision"] for e in changes] == [1, 2, 3, 4, 5]
    assert [e.data["hidden"] for e in changes] == [
        [10, 8],
        [10, 10],
        [12, 10],
        [12, 12],
        [12, 12, 24],
    ]
    assert all(e.data["action"] == "grow" and e.data["reason"] for e in changes)
    assert hidden_widths(pipeline.architecture) == [12, 12, 24]
    # the trainer trains the owner's module with an optimiser over exactly its parameters
    trainer = pipeline.trainer
    assert trainer.network is pipeline.network  # type: ignore[attr-defined]
    trained = {id(p) for group in trainer.optimizer.param_groups for p in group["params"]}  # type: ignore[attr-defined]
    assert trained == {id(p) for p in pipeline.network.parameters()}
    # the curves get the parameter count; the run goes on after the last change
    steps = [e for e in events if e.kind == "step"]
    counts = [e.data["metrics"]["architect/parameters"] for e in steps]
    assert counts == sorted(counts) and counts[0] < counts[-1]
    # the network file holds the grown network and how it grew
    saved = load_network(tmp_path / "network.atrapnet")
    assert saved.manifest.architecture == pipeline.architecture
    growth = saved.manifest.training["growth"]
    assert [line.split(":")[0] for line in growth][:2] == [
        "widened hidden layer 0 from 8 to 10",
        "widened hidden layer 1 from 8 to 10",
    ]
    assert len(growth) == 5
    with torch.no_grad():
        x = torch.randn(16, pipeline.architecture.inputs)
        assert torch.equal(saved.module(x), pipeline.network(x))


def test_a_checkpoint_after_changes_resumes_exactly(
    arm_doc: GraphDocument, registry: Registry, tmp_path: Path
) -> None:
    doc = growing(shrink(arm_doc), mode="schedule")
    straight, _ = run(doc, registry, tmp_path / "a", 40)
    half = tmp_path / "b"
    bus = EventBus()
    interrupted = Runner(Pipeline(doc, registry), out_dir=half, events=bus)
    bus.subscribe(lambda e: e.kind == "checkpoint" and e.step == 20 and interrupted.request_stop())
    assert interrupted.run(40).step == 20
    checkpoint = load_checkpoint(half / "checkpoints" / "ckpt-00000020.atrapckpt")
    assert checkpoint.network_meta["revision"] == 4  # taken after four changes
    resumed_pipeline = Pipeline(doc, registry)
    assert hidden_widths(resumed_pipeline.architecture) == [8, 8]
    resumed = Runner(resumed_pipeline, out_dir=half)
    assert resumed.run(40, resume=checkpoint).step == 40
    assert resumed_pipeline.architecture == straight.pipeline.architecture
    assert resumed_pipeline.owner.history == straight.pipeline.owner.history
    for a, b in zip(
        straight.pipeline.network.parameters(), resumed_pipeline.network.parameters(), strict=True
    ):
        assert torch.equal(a, b)


def test_the_kalman_architect_resumes_its_track_exactly(
    arm_doc: GraphDocument, registry: Registry, tmp_path: Path
) -> None:
    """The controller's filter and decisions continue across a checkpoint: the curves of a
    resumed run equal those of a run that never stopped."""
    doc = growing(shrink(arm_doc, steps=60, checkpoint_every=20, log_every=1), mode="kalman")
    straight, events = run(doc, registry, tmp_path / "a", 60)
    track = [e.data["metrics"].get("architect/level") for e in events if e.kind == "step"]
    assert None not in track[10:]  # the track is in the curves
    half = tmp_path / "b"
    bus = EventBus()
    interrupted = Runner(Pipeline(doc, registry), out_dir=half, events=bus)
    bus.subscribe(lambda e: e.kind == "checkpoint" and e.step == 20 and interrupted.request_stop())
    interrupted.run(60)
    checkpoint = load_checkpoint(half / "checkpoints" / "ckpt-00000020.atrapckpt")
    later: list[Event] = []
    bus = EventBus()
    bus.subscribe(later.append)
    resumed = Runner(Pipeline(doc, registry), out_dir=half, events=bus)
    resumed.run(60, resume=checkpoint)
    resumed_track = [e.data["metrics"].get("architect/level") for e in later if e.kind == "step"]
    assert resumed_track == track[20:]
    assert resumed.pipeline.owner.history == straight.pipeline.owner.history


@pytest.mark.parametrize(
    "example", ["cartpole_ppo", "pendulum_sac", "cartpole_dqn"], ids=["ppo", "sac", "dqn"]
)
def test_trial_and_reward_trainers_train_on_after_a_change(
    example: str, registry: Registry
) -> None:
    doc = shrink(load_graph(example_path(example)), steps=3, eval_every=3, eval_episodes=4)
    for node in doc.nodes:
        if node.type.startswith("trainer."):
            node.props.update(horizon=8, checkpoint_every=100)
            for key, value in (("batch_size", 16), ("learning_starts", 0), ("minibatches", 2)):
                if key in node.props:
                    node.props[key] = value
    doc = growing(doc, grow_every=3)
    runner, events = run(doc, registry, None, 5)
    pipeline = runner.pipeline
    assert [e.step for e in events if e.kind == "architecture"] == [3]
    trainer = pipeline.trainer
    trained = {id(p) for group in trainer.optimizer.param_groups for p in group["params"]}  # type: ignore[attr-defined]
    assert {id(p) for p in pipeline.network.parameters()} <= trained
    before = [p.detach().clone() for p in pipeline.network.parameters()]
    runner.run(7)  # two more updates on the grown network
    after = list(pipeline.network.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    if example == "cartpole_dqn":  # the still copy follows the new shape
        target = trainer.target  # type: ignore[attr-defined]
        assert [p.shape for p in target.parameters()] == [p.shape for p in after]


def test_growing_while_playing_its_past_self_is_refused(registry: Registry) -> None:
    doc = growing(shrink(load_graph(example_path("tanks_self_play_ppo"))))
    with pytest.raises(RunError, match="cannot grow or shrink while it plays against copies"):
        Pipeline(doc, registry)


def test_bounds_that_contradict_are_a_problem_before_running(
    arm_doc: GraphDocument, registry: Registry
) -> None:
    doc = growing(arm_doc, grow_min_width=32, grow_max_width=16)
    issues = analyse(doc, registry).issues
    assert any(
        issue.prop == "grow_min_width" and "above the largest" in issue.message for issue in issues
    )
