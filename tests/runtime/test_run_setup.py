"""Assembling a run (shared by ``atrap run`` and the editor): resume, seed, folder, budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import AtrapError, RunError
from atrap_studio.core.events import Event, EventBus
from atrap_studio.core.registry import Registry
from atrap_studio.runtime.run_setup import prepare_run


def test_a_prepared_run_trains_and_resumes_with_the_checkpoints_seed(
    small_doc: GraphDocument, registry: Registry, tmp_path: Path
) -> None:
    events: list[Event] = []
    bus = EventBus()
    bus.subscribe(events.append)
    first = prepare_run(
        small_doc, registry, source="small.yaml", out_dir=tmp_path, seed=7, steps=10, events=bus
    )
    assert first.events is bus and first.total_steps == 10 and first.out_dir == tmp_path
    assert first.run().step == 10 and events[0].kind == "started"
    checkpoint = tmp_path / "checkpoints" / "ckpt-00000010.atrapckpt"
    resumed = prepare_run(
        small_doc, registry, source="small.yaml", out_dir=tmp_path, resume_from=checkpoint, steps=15
    )
    assert resumed.pipeline.seed == 7 and resumed.checkpoint is not None
    assert resumed.run().step == 15


def test_resuming_refuses_another_seed_and_another_graph_before_compiling(
    small_doc: GraphDocument, registry: Registry, tmp_path: Path
) -> None:
    prepare_run(small_doc, registry, source="s.yaml", out_dir=tmp_path, seed=3, steps=5).run()
    checkpoint = tmp_path / "checkpoints" / "ckpt-00000005.atrapckpt"
    with pytest.raises(AtrapError, match="made with seed 3; drop --seed"):
        prepare_run(small_doc, registry, source="s.yaml", resume_from=checkpoint, seed=4)
    other = small_doc.model_copy(deep=True)
    other.nodes[3].props["hidden"] = [16]
    with pytest.raises(RunError, match="different graph"):
        prepare_run(other, registry, source="s.yaml", resume_from=checkpoint)


def test_the_default_folder_and_budget(
    small_doc: GraphDocument, registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default folder is claimed (created and locked) at once
    prepared = prepare_run(small_doc, registry, source="graphs/reach.yaml")
    assert prepared.out_dir == Path("runs") / "reach" and prepared.out_dir.is_dir()
    assert prepared.total_steps == prepared.pipeline.trainer.budget.steps
    prepared.release()
