"""Fault probes run the real program: ``atrap`` in a subprocess, killed, signalled, starved of
disk, fed damaged files. Graphs are the arm example shrunk to a run of milliseconds per update.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.yaml_io import save_graph
from tests.conftest import shrink

ATRAP = [sys.executable, "-m", "atrap_studio.cli.main"]
WAIT_S = 60.0  # only bounds a hung probe; no test looks at a timing


@pytest.fixture
def graph(tmp_path: Path, arm_doc: GraphDocument) -> Path:
    """A tiny arm graph file (128 arms, 3 joints, 32x32 network, checkpoint every 10 updates)."""
    path = tmp_path / "tiny.yaml"
    save_graph(shrink(arm_doc), path)
    return path


def atrap(*args: str, timeout: float = WAIT_S) -> subprocess.CompletedProcess[str]:
    """Run the ``atrap`` command to its end."""
    return subprocess.run(
        [*ATRAP, *args], capture_output=True, text=True, timeout=timeout, env=_env()
    )


@pytest.fixture
def started() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start ``atrap`` in the background; whatever a test leaves running is killed after it."""
    processes: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [*ATRAP, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.communicate(timeout=WAIT_S)


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str] | None = None) -> None:
    """Poll until ``condition`` holds; fail (with the process's output) if it never does."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if process is not None and process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the run ended early ({process.returncode}):\n{out}\n{err}")
        if time.monotonic() > deadline:
            pytest.fail("the condition was not reached in time")
        time.sleep(0.05)


def namespace_works() -> bool:
    """Whether ``unshare -rm`` works here: a user and mount namespace, in which a test may mount
    a small tmpfs without privileges."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=WAIT_S)
    return probe.returncode == 0


def checkpoints(out: Path) -> list[Path]:
    return sorted((out / "checkpoints").glob("ckpt-*.atrapckpt"))


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONFAULTHANDLER": "1"}


def marked_processes(marker: str) -> list[int]:
    """Running processes whose environment or command line names ``marker`` (the test's
    folder: Flower's processes, and theirs, inherit ``FLWR_HOME`` inside it)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            env = Path(f"/proc/{entry}/environ").read_bytes()
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if (marker.encode() in env or marker.encode() in command) and alive(int(entry)):
            found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    """Running: not ended, nor a zombie (ended, not yet reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def command_lines(pids: list[int]) -> list[str]:
    """The command lines of those of ``pids`` still running."""
    out = []
    for pid in pids:
        with contextlib.suppress(OSError):
            out.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
    return out
