"""The training loop: learning, events, checkpoints, exact resume, stopping, divergence."""

from __future__ import annotations

import threading
from pathlib import Path

import torch

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.events import Event, EventBus
from atrap_studio.core.registry import Registry
from atrap_studio.runtime.checkpoint import load_checkpoint
from atrap_studio.runtime.netfile import load_network
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.runner import Runner
from tests.conftest import shrink


def _run(
    doc: GraphDocument,
    registry: Registry,
    out: Path | None,
    steps: int | None = None,
    **kwargs: object,
) -> tuple[Runner, list[Event]]:
    events: list[Event] = []
    bus = EventBus()
    bus.subscribe(events.append)
    runner = Runner(Pipeline(doc, registry, **kwargs), out_dir=out, events=bus)  # type: ignore[arg-type]
    runner.result = runner.run(steps)  # type: ignore[attr-defined]
    return runner, events


def test_direct_trainer_learns_to_reach(arm_doc: GraphDocument, registry: Registry) -> None:
    doc = shrink(arm_doc, steps=300, eval_every=300, lr=0.01, explore_steps=30)
    doc.nodes[0].props["instances"] = 256
    doc.nodes[3].props["hidden"] = [64, 64]
    pipeline = Pipeline(doc, registry)
    runner = Runner(pipeline)
    before = runner.evaluate()
    result = runner.run()
    assert result.reason == "completed" and result.step == 300
    assert result.evaluation is not None
    assert result.evaluation["median_error_mm"] < 0.3 * before["median_error_mm"]


def test_events_and_outputs(small_doc: GraphDocument, registry: Registry, tmp_path: Path) -> None:
    _, events = _run(small_doc, registry, tmp_path)
    kinds = [e.kind for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert kinds.count("step") == 8 and kinds.count("episode") == 2 and "checkpoint" in kinds
    metrics = next(e for e in events if e.kind == "step").data["metrics"]
    for key in (
        "loss/total",
        "reward/total",
        "reward/near",
        "explore/random_share",
        "scene/error_mm",
        "scene/success_rate",
        "perf/env_steps_per_s",
    ):
        assert key in metrics
    shares = [e.data["metrics"]["explore/random_share"] for e in events if e.kind == "step"]
    assert shares[0] > shares[-1] == 0.0  # random actions give way to the network's
    # outputs: the network, rotated checkpoints, metrics
    network = load_network(tmp_path / "network.atrapnet")
    assert [m.node for m in network.manifest.inputs] == ["q", "goal"]
    assert network.manifest.training["steps"] == 40
    checkpoints = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert checkpoints == [f"ckpt-{s:08d}.atrapckpt" for s in (20, 30, 40)]
    lines = (tmp_path / "metrics.csv").read_text().splitlines()
    assert lines[0].startswith("step,env_steps,elapsed_s,") and len(lines) == 9


def test_resume_is_exact(small_doc: GraphDocument, registry: Registry, tmp_path: Path) -> None:
    straight, _ = _run(small_doc, registry, tmp_path / "a")
    half = tmp_path / "b"
    bus = EventBus()
    interrupted = Runner(Pipeline(small_doc, registry), out_dir=half, events=bus)
    bus.subscribe(lambda e: e.kind == "checkpoint" and e.step == 20 and interrupted.request_stop())
    assert interrupted.run(40).step == 20
    checkpoint = load_checkpoint(half / "checkpoints" / "ckpt-00000020.atrapckpt")
    resumed = Runner(Pipeline(small_doc, registry, seed=checkpoint.seed), out_dir=half)
    result = resumed.run(40, resume=checkpoint)
    assert result.step == 40
    for a, b in zip(
        straight.pipeline.network.parameters(), resumed.pipeline.network.parameters(), strict=True
    ):
        assert torch.equal(a, b)
    rows_a = (tmp_path / "a" / "metrics.csv").read_text().splitlines()
    rows_b = (half / "metrics.csv").read_text().splitlines()
    assert len(rows_a) == len(rows_b)
    drop_time = [",".join(r.split(",")[:2] + r.split(",")[3:]) for r in rows_a]
    assert drop_time[0] == ",".join(rows_b[0].split(",")[:2] + rows_b[0].split(",")[3:])


def test_checkpoint_refuses_another_graph(
    small_doc: GraphDocument, registry: Registry, tmp_path: Path
) -> None:
    import pytest

    from atrap_studio.core.errors import RunError

    _run(small_doc, registry, tmp_path, steps=10)
    checkpoint = load_checkpoint(tmp_path / "checkpoints" / "ckpt-00000010.atrapckpt")
    other = small_doc.model_copy(deep=True)
    other.nodes[3].props["hidden"] = [16]
    with pytest.raises(RunError, match="different graph"):
        Runner(Pipeline(other, registry), out_dir=tmp_path).run(resume=checkpoint)


def test_stop_from_another_thread_keeps_a_checkpoint(
    small_doc: GraphDocument, registry: Registry, tmp_path: Path
) -> None:
    bus = EventBus()
    runner = Runner(Pipeline(small_doc, registry), out_dir=tmp_path, events=bus)
    bus.subscribe(
        lambda e: e.kind == "step" and threading.Thread(target=runner.request_stop).start()
    )
    result = runner.run(10_000)
    assert result.reason == "stopped" and 0 < result.step < 10_000
    assert result.checkpoint is not None and result.checkpoint.exists()
    assert load_checkpoint(result.checkpoint).step == result.step


def test_pause_and_resume_from_another_thread(small_doc: GraphDocument, registry: Registry) -> None:
    bus = EventBus()
    runner = Runner(Pipeline(small_doc, registry), events=bus)
    seen: list[str] = []

    def observe(event: Event) -> None:
        seen.append(event.kind)
        if event.kind == "step" and event.step == 5:
            runner.pause()
            threading.Timer(0.05, runner.resume).start()

    bus.subscribe(observe)
    result = runner.run(20)
    assert result.reason == "completed" and result.step == 20
    assert seen.index("paused") < seen.index("resumed")


def test_diverging_loss_stops_and_keeps_last_good_checkpoint(
    small_doc: GraphDocument, registry: Registry, tmp_path: Path
) -> None:
    _run(small_doc, registry, tmp_path, steps=10)
    good = tmp_path / "checkpoints" / "ckpt-00000010.atrapckpt"
    checkpoint = load_checkpoint(good)
    pipeline = Pipeline(small_doc, registry, seed=checkpoint.seed)
    runner = Runner(pipeline, out_dir=tmp_path)
    events: list[Event] = []
    runner.events.subscribe(events.append)
    # restore() sets the weights, so poison them after the resume, at each update
    original_step = pipeline.trainer.step

    def poisoned(step: int):  # type: ignore[no-untyped-def]
        with torch.no_grad():
            pipeline.network[0].weight.fill_(float("nan"))
        return original_step(step)

    pipeline.trainer.step = poisoned  # type: ignore[method-assign]
    result = runner.run(40, resume=checkpoint)
    assert result.reason == "error" and "training diverged" in (result.error or "")
    assert "the network 'brain'" in (result.error or "")
    assert result.checkpoint == good and load_checkpoint(good).step == 10
    assert events[-1].kind == "error" and events[-1].data["checkpoint"] == str(good)
    assert not (tmp_path / "checkpoints" / "ckpt-00000020.atrapckpt").exists()


def test_goal_stops_early(small_doc: GraphDocument, registry: Registry) -> None:
    doc = shrink(small_doc, goal_success_rate=0.0001, eval_every=5)
    doc.nodes[0].props["success_mm"] = 5000.0  # every reach succeeds
    runner, events = _run(doc, registry, None)
    assert runner.result.reason == "goal" and runner.result.step == 5  # type: ignore[attr-defined]
    assert events[-1].data["reason"] == "goal"
