"""Every stop is clean beyond ``atrap run``: SIGINT, SIGTERM and SIGHUP during ``atrap eval``,
``merge``, ``experiment`` and the crowd commands end them with one line and 128 + the signal
(130 for Ctrl+C), no traceback, and no process left behind — Flower's included, whose own
children (SuperExec, ServerApp, ClientApp) do not stop with their parents."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.registry import Registry
from atrap_studio.crowd.processes import Process, free_port
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.runner import Runner
from tests.conftest import shrink
from tests.faults.conftest import ATRAP, _env, command_lines, marked_processes

CROWD_WAIT_S = 300.0  # a crowd starts seven Python processes; only bounds a hung probe


def _code(signum: int) -> int:
    return 130 if signum == signal.SIGINT else 128 + signum


def _catches_stops(pid: int) -> bool:
    """Whether the process has its own handlers for SIGTERM and SIGHUP (set by ``atrap`` once
    it has parsed its arguments): a signal before that would meet Python's default action."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:"))[7:], 16)
    return all(caught >> (s - 1) & 1 for s in (signal.SIGTERM, signal.SIGHUP))


def _torch_loaded(pid: int) -> bool:
    try:
        return "libtorch" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def _running_app(folder: Path, app: str) -> bool:
    """Whether Flower's ``app`` (e.g. ``flwr-clientapp``) runs for the crowd in ``folder``."""
    return any(
        app in command
        for command in command_lines(marked_processes(f"FLWR_HOME={folder}/flower\0"))
    )


def _wait(condition: Callable[[], bool], started: Started, limit: float) -> None:
    """Poll until ``condition`` holds; fail, with the command's output, if it never does."""
    deadline = time.monotonic() + limit
    while not condition():
        if started.popen.poll() is not None:
            pytest.fail(
                f"{started.popen.args!r} ended early ({started.popen.returncode}):\n"
                f"{started.out.read_text()}\n{started.err.read_text()}"
            )
        if time.monotonic() > deadline:
            pytest.fail(f"{started.popen.args!r}: the condition was not reached in time")
        time.sleep(0.1)


@dataclass
class Started:
    """``atrap`` running in the background, its output going to files (readable meanwhile)."""

    popen: subprocess.Popen[bytes]
    out: Path
    err: Path


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Started]]:
    """Start ``atrap``; what a test leaves running is killed after it, Flower's too."""
    started: list[Started] = []

    def run(*args: str) -> Started:
        out, err = (tmp_path / f"{args[0]}-{len(started)}.{end}" for end in ("out", "err"))
        with out.open("wb") as stdout, err.open("wb") as stderr:
            popen = subprocess.Popen([*ATRAP, *args], stdout=stdout, stderr=stderr, env=_env())
        started.append(Started(popen, out, err))
        return started[-1]

    yield run
    for each in started:
        if each.popen.poll() is None:
            each.popen.kill()
        each.popen.wait()
    for pid in marked_processes(str(tmp_path)):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _stopped_cleanly(started: Started, signum: int, limit: float = 120) -> None:
    """Signal a command and wait for it: one clean last line, the exit code of the signal."""
    started.popen.send_signal(signum)
    started.popen.wait(limit)
    err = started.err.read_text()
    assert started.popen.returncode == _code(signum), err
    assert "Traceback" not in err, err
    assert err.rstrip().splitlines()[-1] == f"stopped by {signal.Signals(signum).name}", err


@pytest.fixture
def network(tmp_path: Path, arm_doc: GraphDocument, registry: Registry) -> Path:
    out = tmp_path / "trained"
    Runner(Pipeline(shrink(arm_doc), registry), out_dir=out).run(10)
    return out / "network.atrapnet"


def test_eval_merge_and_experiment_stop_cleanly_on_each_signal(
    graph: Path, network: Path, tmp_path: Path, start: Callable[..., Started]
) -> None:
    """The three commands work side by side, each stopped by another signal while busy."""
    merged = tmp_path / "merged.atrapnet"
    experiment = ["--regions", "2", "--instances", "128", "--steps", "10000000", "--no-crowd"]
    experiment += ["--out", str(tmp_path / "vast")]
    busy = {
        signal.SIGTERM: start(
            "eval", str(graph), "--network", str(network), "--episodes", "100000000"
        ),
        signal.SIGHUP: start(
            "merge", str(network), str(network), "-o", str(merged), "--steps", "10000000"
        ),
        signal.SIGINT: start("experiment", "vast-world", str(graph), *experiment),
    }
    for each in busy.values():
        pid = each.popen.pid
        _wait(lambda pid=pid: _catches_stops(pid) and _torch_loaded(pid), each, 120)  # type: ignore[misc]
    for signum, each in busy.items():
        _stopped_cleanly(each, signum)
    assert not merged.exists()
    assert not [p.name for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_stopping_a_flower_process_stops_what_it_started(tmp_path: Path) -> None:
    """A child that left its parent's session (as Flower's ServerApp does) and one started by
    a child (as a ClientApp is) stop with it; none is left running."""
    mark = {**os.environ, "ATRAP_PROBE": str(tmp_path)}
    script = "sleep 600 & setsid sleep 600 & sh -c 'sleep 600 & wait' & wait"
    process = Process("tree", ["sh", "-c", script], mark, tmp_path / "tree.log")
    deadline = time.monotonic() + 60
    while len(marked_processes(str(tmp_path))) < 5:  # sh, sleep, setsid's sleep, sh, its sleep
        assert time.monotonic() < deadline, command_lines(marked_processes(str(tmp_path)))
        time.sleep(0.05)
    process.stop()
    assert not process.alive()
    assert command_lines(marked_processes(str(tmp_path))) == []


@pytest.mark.slow
@pytest.mark.timeout(600)  # three crowds' worth of Flower processes start on a shared machine
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_crowd_commands_stop_cleanly_and_leave_no_flower_process(
    graph: Path, tmp_path: Path, start: Callable[..., Started]
) -> None:
    """``crowd serve`` with a ``crowd join`` peer, and ``crowd local``, each mid-round."""
    rounds = ("--rounds", "100000", "--local-steps", "5", "--episodes", "64")
    served, key = tmp_path / "served", tmp_path / "peer-key"
    (served / "peers").mkdir(parents=True)
    keyed = subprocess.run(
        [*ATRAP, "crowd", "key", str(key), "--register-in", str(served / "peers")],
        capture_output=True, text=True, timeout=120, env=_env(),
    )  # fmt: skip
    assert keyed.returncode == 0, keyed.stderr
    port = free_port()
    serve = start(
        "crowd", "serve", str(graph), "--folder", str(served), "--port", str(port),
        "--min-peers", "1", *rounds,
    )  # fmt: skip
    local = start(
        "crowd", "local", str(graph), "--peers", "1", "--folder", str(tmp_path / "local"),
        *rounds,
    )  # fmt: skip
    _wait(lambda: "waiting for" in serve.out.read_text(), serve, CROWD_WAIT_S)
    join = start(
        "crowd", "join", f"127.0.0.1:{port}", str(graph), "--ca", str(served / "certs/ca.crt"),
        "--key", str(key), "--folder", str(tmp_path / "joined"),
    )  # fmt: skip
    # Mid-round: the processes that used to be left behind (a run's ServerApp and a peer's
    # ClientApp, children of Flower's children; a peer's is ours, crowd/app_check.py) run.
    for each, folder, app in (
        (serve, served, "flwr-serverapp"),
        (join, tmp_path / "joined", "crowd.app_check"),
        (local, tmp_path / "local", "flwr-serverapp"),
        (local, tmp_path / "local", "crowd.app_check"),
    ):
        _wait(lambda f=folder, a=app: _running_app(f, a), each, CROWD_WAIT_S)  # type: ignore[misc]
    assert join.popen.poll() is None, join.err.read_text()  # still in the crowd
    _stopped_cleanly(join, signal.SIGINT)
    _stopped_cleanly(serve, signal.SIGTERM)
    _stopped_cleanly(local, signal.SIGHUP)
    assert command_lines(marked_processes(str(tmp_path))) == []


def test_a_stop_swallowed_where_python_ignores_exceptions_still_stops() -> None:
    """A signal that lands in a ``__del__`` or an import-lock callback (seen: a merge went on
    for good after its SIGHUP) is delivered again and stops the block."""
    from atrap_studio.cli.stops import Stopped, stopped_by_signals

    class SignalsWhenCollected:
        def __del__(self) -> None:
            os.kill(os.getpid(), signal.SIGTERM)  # the handler's Stopped is raised in here

    with pytest.raises(Stopped) as caught, stopped_by_signals():
        SignalsWhenCollected()  # collected at once
        for _ in range(200):
            time.sleep(0.005)
    assert caught.value.signum == signal.SIGTERM


def test_a_stop_that_lands_while_a_class_is_made_is_found_in_what_python_raises() -> None:
    """Python wraps an exception raised in ``__set_name__`` in a RuntimeError (seen: a merge's
    SIGHUP inside ``import torch`` ended in a traceback and exit code 1); the CLI finds the
    stop in it and stops as for any other."""
    from atrap_studio.cli.stops import stop_within, stopped_by_signals

    class SignalsWhenNamed:
        def __set_name__(self, owner: type, name: str) -> None:
            os.kill(os.getpid(), signal.SIGHUP)  # the handler's Stopped is raised in here

    with pytest.raises(RuntimeError) as caught, stopped_by_signals():
        type("Made", (), {"attribute": SignalsWhenNamed()})
    stop = stop_within(caught.value)
    assert stop is not None and stop.signum == signal.SIGHUP
    assert stop_within(RuntimeError("plain")) is None
