"""Hostile places: a graph that is a named pipe or a link to /dev/zero, an --out that is a
file, read-only or holds another run; each refused at once by the CLI, nothing lost."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from atrap_studio.cli.main import main


@pytest.mark.timeout(30)  # the pipe used to hang the loader
def test_a_fifo_or_device_as_a_graph_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    for path in (fifo, zero):
        assert main(["validate", str(path)]) == 1
        assert f"error: {path}: is not a regular file" in capsys.readouterr().err
        assert main(["run", str(path), "--quiet"]) == 1
        assert "is not a regular file" in capsys.readouterr().err


def test_a_second_run_into_a_used_folder_is_refused_and_loses_nothing(
    graph: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["run", str(graph), "--steps", "20", "--out", str(out), "--quiet"]) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["run", str(graph), "--steps", "10", "--out", str(out), "--quiet"]) == 1
    assert f"error: {out}: holds a previous run" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    command = ["run", str(graph), "--steps", "10", "--out", str(out), "--new-folder", "--quiet"]
    assert main(command) == 0
    assert f"network:    {out}-2/network.atrapnet" in capsys.readouterr().out
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_an_out_that_is_a_file_or_read_only_is_refused_before_training(
    graph: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("keep me")
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o555)
    # root may write into a 0o555 folder; /sys refuses root too
    unwritable = read_only / "run" if os.geteuid() != 0 else Path("/sys/atrap-fault-probe")
    try:
        for out, words in ((a_file, "is a file, not a folder"), (unwritable, "cannot be used")):
            assert main(["run", str(graph), "--steps", "5", "--out", str(out), "--quiet"]) == 1
            captured = capsys.readouterr()
            assert f"error: {out}: {words}" in captured.err and "training" not in captured.out
    finally:
        read_only.chmod(0o755)
    assert a_file.read_text() == "keep me"
