"""kill -9 in the middle of a run: every checkpoint left on disk is complete and loads,
metrics.csv parses, the newest checkpoint resumes, the temp files the kill left are cleaned,
and metrics.csv has no gap after the resume."""

from __future__ import annotations

import csv
import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from atrap_studio.cli.main import main
from atrap_studio.runtime.checkpoint import load_checkpoint
from tests.faults.conftest import checkpoints, wait_for


def test_kill_9_mid_run_then_resume(
    graph: Path, tmp_path: Path, started: Callable[..., subprocess.Popen[str]]
) -> None:
    out = tmp_path / "run"
    process = started("run", str(graph), "--steps", "1000000", "--out", str(out), "--quiet")
    wait_for(lambda: len(checkpoints(out)) >= 2, process)
    time.sleep(random.Random(18).uniform(0.0, 0.3))  # a seeded point between writes
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    left = checkpoints(out)
    assert left
    steps = [load_checkpoint(path).step for path in left]  # complete, or absent
    with (out / "metrics.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(row["step"].isdigit() for row in rows)
    # as a kill between creating and renaming a file leaves it
    (out / "checkpoints" / f".ckpt-{steps[-1] + 10:08d}.atrapckpt.0123456789ab.tmp").write_bytes(
        b"\0" * 1000
    )
    target = str(steps[-1] + 20)
    assert main(["run", str(graph), "--resume", str(left[-1]), "--steps", target, "--quiet"]) == 0
    assert not list(out.rglob("*.tmp"))
    with (out / "metrics.csv").open(newline="") as handle:
        logged = [int(row["step"]) for row in csv.DictReader(handle)]
    assert logged == list(range(5, steps[-1] + 21, 5))  # logged every 5 updates, no gap
