"""One run per folder: a used folder is refused or a numbered sibling taken, a lock keeps a
second run out, the folder is checked before training, rotation removes only a run's own files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import AtrapError
from atrap_studio.core.registry import Registry
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.run_folder import LOCK_NAME, claim_run_folder, newest_checkpoint
from atrap_studio.runtime.run_setup import prepare_run
from atrap_studio.runtime.runner import Runner


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != LOCK_NAME
    }


def test_a_folder_holding_a_run_is_refused_and_left_as_it_was(
    small_doc: GraphDocument, registry: Registry, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    prepare_run(small_doc, registry, source="s.yaml", out_dir=out, steps=20).run()
    before = _snapshot(out)
    assert "metrics.csv" in before and "network.atrapnet" in before
    with pytest.raises(AtrapError) as info:
        prepare_run(small_doc, registry, source="s.yaml", out_dir=out, when_used="refuse")
    message = str(info.value)
    assert message.startswith(f"{out}: holds a previous run (metrics.csv, network.atrapnet, ")
    assert f"--resume {out / 'checkpoints' / 'ckpt-00000020.atrapckpt'}" in message
    assert "--new-folder" in message
    assert _snapshot(out) == before


def test_the_default_takes_a_fresh_numbered_sibling(
    small_doc: GraphDocument, registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folders = []
    for _ in range(3):
        prepared = prepare_run(small_doc, registry, source="graphs/reach.yaml", steps=5)
        folders.append(prepared.out_dir)
        prepared.run()
    assert folders == [Path("runs/reach"), Path("runs/reach-2"), Path("runs/reach-3")]
    assert prepared.total_steps == 5


def test_resuming_continues_in_the_checkpoints_own_folder(
    small_doc: GraphDocument, registry: Registry, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    prepare_run(small_doc, registry, source="s.yaml", out_dir=out, steps=10).run()
    checkpoint = out / "checkpoints" / "ckpt-00000010.atrapckpt"
    resumed = prepare_run(small_doc, registry, source="s.yaml", resume_from=checkpoint, steps=20)
    assert resumed.out_dir == out
    assert resumed.run().step == 20
    elsewhere = tmp_path / "other"
    prepare_run(small_doc, registry, source="s.yaml", out_dir=elsewhere, steps=5).run()
    with pytest.raises(AtrapError, match="holds a previous run"):
        prepare_run(
            small_doc,
            registry,
            source="s.yaml",
            out_dir=elsewhere,
            resume_from=checkpoint,
            when_used="refuse",
        )


def test_a_second_claim_of_a_locked_folder_is_refused_or_moves_aside(tmp_path: Path) -> None:
    first = claim_run_folder(tmp_path / "run", when_used="refuse")
    with pytest.raises(
        AtrapError, match=rf"another run is writing there \(process {os.getpid()}\)"
    ):
        claim_run_folder(tmp_path / "run", when_used="refuse")
    beside = claim_run_folder(tmp_path / "run", when_used="sibling")
    assert beside.path == tmp_path / "run-2"
    first.release()
    again = claim_run_folder(tmp_path / "run", when_used="refuse")  # free once released
    again.release()
    beside.release()


def test_a_file_or_an_unwritable_place_is_refused_before_training(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("not a folder")
    with pytest.raises(AtrapError, match="is a file, not a folder"):
        claim_run_folder(a_file, when_used="refuse")
    with pytest.raises(AtrapError, match="cannot be used as the run's folder"):
        claim_run_folder(a_file / "below", when_used="refuse")
    assert a_file.read_text() == "not a folder"
    locked = tmp_path / "read-only"
    locked.mkdir()
    locked.chmod(0o555)
    # root writes anywhere it may chmod; /sys refuses it too
    unwritable = locked / "run" if os.geteuid() != 0 else Path("/sys/atrap-run-test")
    try:
        with pytest.raises(AtrapError, match="cannot be used as the run's folder"):
            claim_run_folder(unwritable, when_used="sibling")
    finally:
        locked.chmod(0o755)


def test_stale_temp_files_of_a_killed_run_are_removed_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "checkpoints").mkdir()
    stale = [
        tmp_path / ".metrics.csv.k2j3h4.tmp",
        tmp_path / "checkpoints" / ".ckpt-00000010.atrapckpt.9f8e7d6c5b4a.tmp",
    ]
    kept = [tmp_path / ".notes.txt.abc.tmp", tmp_path / "metrics.csv.tmp"]
    for path in stale + kept:
        path.write_text("x")
    claim_run_folder(tmp_path, when_used="refuse").release()
    assert [p.exists() for p in stale] == [False, False]
    assert [p.exists() for p in kept] == [True, True]


def test_rotation_removes_only_the_runs_own_checkpoints(
    small_doc: GraphDocument, registry: Registry, tmp_path: Path
) -> None:
    Runner(Pipeline(small_doc, registry), out_dir=tmp_path / "first").run(10)
    older = tmp_path / "run" / "checkpoints"
    older.mkdir(parents=True)
    foreign = older / "ckpt-99999999.atrapckpt"  # sorts after everything this run writes
    shutil.copy(tmp_path / "first" / "checkpoints" / "ckpt-00000010.atrapckpt", foreign)
    runner = Runner(Pipeline(small_doc, registry), out_dir=tmp_path / "run", keep_checkpoints=2)
    runner.run(40)
    names = sorted(p.name for p in older.iterdir())
    assert names == ["ckpt-00000030.atrapckpt", "ckpt-00000040.atrapckpt", foreign.name]
    assert runner.last_checkpoint == older / "ckpt-00000040.atrapckpt"


def test_the_newest_checkpoint_is_looked_for_in_the_numbered_siblings_too(tmp_path: Path) -> None:
    wanted = tmp_path / "runs" / "reach"
    assert newest_checkpoint(wanted) is None
    written = []
    for when, folder in enumerate(("reach-10", "reach", "reach-2", "reach-x", "other")):
        checkpoints = tmp_path / "runs" / folder / "checkpoints"
        checkpoints.mkdir(parents=True)
        path = checkpoints / "ckpt-00000100.atrapckpt"
        path.write_bytes(b"")
        os.utime(path, ns=(when * 10**9, when * 10**9))
        written.append(path)
    assert newest_checkpoint(wanted) == written[2], "reach-2 wrote last of reach and its siblings"
