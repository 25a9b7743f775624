"""Every stop is clean: SIGINT, SIGTERM and SIGHUP stop ``atrap run`` as Ctrl+C does (a final
checkpoint and network, where they are), exiting 128 + the signal (130 for Ctrl+C); while a run
writes, its folder's lock keeps a second run out."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from atrap_studio.cli.main import main
from atrap_studio.runtime.checkpoint import load_checkpoint
from atrap_studio.runtime.netfile import load_network
from tests.faults.conftest import checkpoints, wait_for

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def test_each_signal_stops_a_run_cleanly_and_the_exit_code_says_so(
    graph: Path,
    tmp_path: Path,
    started: Callable[..., subprocess.Popen[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The three runs train side by side (one start-up's wait for all)."""
    runs = {}
    for signum in SIGNALS:
        out = tmp_path / signum.name
        runs[signum] = (
            out,
            started("run", str(graph), "--steps", "1000000", "--out", str(out), "--quiet"),
        )
    for out, process in runs.values():
        wait_for(lambda out=out: len(checkpoints(out)) >= 1, process)  # type: ignore[misc]
    out, process = runs[signal.SIGINT]
    assert main(["run", str(graph), "--steps", "5", "--out", str(out), "--quiet"]) == 1
    assert f"{out}: another run is writing there (process {process.pid})" in capsys.readouterr().err
    for signum, (_, process) in runs.items():
        process.send_signal(signum)
    for signum, (out, process) in runs.items():
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == (130 if signum == signal.SIGINT else 128 + signum), stderr
        assert "Traceback" not in stderr and "was stopped after" in stdout
        newest = checkpoints(out)[-1]
        assert f"  checkpoint: {newest}" in stdout
        resume = f"stopped by {signum.name}; resume with: atrap run {graph} --resume {newest}"
        assert resume in stderr
        step = load_checkpoint(newest).step
        assert f"after {step:,} updates" in stdout  # the final checkpoint is of the last update
        load_network(out / "network.atrapnet")
