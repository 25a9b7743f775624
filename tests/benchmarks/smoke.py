"""Running the benchmark scripts as a person would, at tiny sizes: the helper both smoke-test
files use (tests/benchmarks/test_smoke.py offscreen, tests/gl/test_benchmark_smoke.py under
Xvfb).

Each test names its command in its module's ``SMOKE`` table, under the test's own name. A
module-scoped :class:`SmokeRuns` starts the commands of the selected tests in the background, a
few at a time (each spends seconds importing torch and Qt on one core), and each test waits for
its own: a script that crashes fails its test, with the end of its output.

Everything a script writes goes under pytest's temporary folder: its outputs through ``{out}``
in its arguments, its temporary folders and Qt settings through ``TMPDIR`` and the XDG folders.
Nothing checks timings; the tests check that a script ends well and prints what it promises.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO / "benchmarks"
TIMEOUT_S = 240  # a smoke run takes seconds; this only stops a hung one
WORKERS = min(4, max(2, os.cpu_count() or 2))
NUMBER = r"(?:[\d,]+(?:\.\d+)?|nan|inf)"  # a printed figure, e.g. 1,234.5 (nan: nothing measured)


class Smoke:
    """A benchmark script and its arguments; ``{out}`` in them is the run's own folder."""

    def __init__(self, script: str, *args: str) -> None:
        self.script = script
        self.args = args


@dataclass(frozen=True)
class Ran:
    """A finished smoke run that exited with 0."""

    smoke: Smoke
    output: str  # its stdout
    out: Path  # its folder
    seconds: float


def run_smoke(smoke: Smoke, out: Path, platform: str) -> subprocess.CompletedProcess[str]:
    """Run ``benchmarks/<script>`` from the repository root, everything it writes under ``out``."""
    scratch = out / "scratch"
    for name in ("tmp", "config", "data", "cache"):
        (scratch / name).mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": platform,
        "TMPDIR": str(scratch / "tmp"),
        "XDG_CONFIG_HOME": str(scratch / "config"),
        "XDG_DATA_HOME": str(scratch / "data"),
        "XDG_CACHE_HOME": str(scratch / "cache"),
        "PYTHONFAULTHANDLER": "1",  # a crash in native code shows where
    }
    args = [arg.replace("{out}", str(out)) for arg in smoke.args]
    command = [sys.executable, str(BENCHMARKS / smoke.script), *args]
    return subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
    )


class SmokeRuns:
    """The smoke runs of one test module, started in the background a few at a time."""

    def __init__(
        self, table: dict[str, Smoke], names: Iterable[str], folder: Path, platform: str
    ) -> None:
        self._table = table
        self._folder = folder
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="smoke")
        self._runs: dict[str, Future[tuple[subprocess.CompletedProcess[str], float]]] = {}
        for name in names:
            self._runs[name] = self._pool.submit(self._timed, name, platform)

    def _timed(self, name: str, platform: str) -> tuple[subprocess.CompletedProcess[str], float]:
        started = time.perf_counter()
        done = run_smoke(self._table[name], self._folder / name, platform)
        return done, time.perf_counter() - started

    def __enter__(self) -> SmokeRuns:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def result(self, name: str) -> Ran:
        """Wait for the run of test ``name``; fails the calling test unless it exited with 0."""
        smoke = self._table[name]
        try:
            done, seconds = self._runs[name].result()
        except subprocess.TimeoutExpired as timeout:
            pytest.fail(f"{smoke.script} ran past {TIMEOUT_S} s\n{timeout.stdout!r}")
        if done.returncode != 0:
            pytest.fail(
                f"{smoke.script} exited with {done.returncode}\n"
                f"--- stdout (end)\n{done.stdout[-3000:]}\n--- stderr (end)\n{done.stderr[-3000:]}"
            )
        return Ran(smoke, done.stdout, self._folder / name, seconds)


def selected(request: pytest.FixtureRequest, table: dict[str, Smoke]) -> list[str]:
    """The tests of the requesting module that run in this session (not deselected, not
    skipped), in their order: only their scripts are started."""
    names = []
    for item in request.session.items:
        if getattr(item, "module", None) is request.module and not item.get_closest_marker("skip"):
            assert item.name in table, f"{item.name} has no entry in its module's SMOKE"
            names.append(item.name)
    return names


def smoke_fixtures(table: dict[str, Smoke], platform: str) -> tuple[Any, Any]:
    """The fixtures a smoke-test module assigns to ``smoke_runs, ran``: ``ran`` is the requesting
    test's finished run (its entry in ``table``, started with the module's others)."""

    @pytest.fixture(scope="module")
    def smoke_runs(
        request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[SmokeRuns]:
        folder = tmp_path_factory.mktemp("benchmarks")
        with SmokeRuns(table, selected(request, table), folder, platform) as runs:
            yield runs

    @pytest.fixture
    def ran(smoke_runs: SmokeRuns, request: pytest.FixtureRequest) -> Ran:
        done = smoke_runs.result(request.node.name)
        print(f"{' '.join((done.smoke.script, *done.smoke.args))}: {done.seconds:.1f} s")  # -rP
        return done

    return smoke_runs, ran


def lines(output: str, pattern: str) -> list[re.Match[str]]:
    """Every line of ``output`` that ``pattern`` matches whole (trailing blanks aside)."""
    regex = re.compile(pattern)
    return [m for line in output.splitlines() if (m := regex.fullmatch(line.rstrip()))]


def one_line(output: str, pattern: str) -> re.Match[str]:
    """The single line matching ``pattern``; fails with the whole output when there is none."""
    found = lines(output, pattern)
    assert len(found) == 1, f"expected one line matching {pattern!r} in:\n{output}"
    return found[0]
