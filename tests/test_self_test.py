"""The self-test the packaged program runs on every build (``atrap-studio --self-test``), run
here from source at tiny sizes: it must pass on a working installation and say what failed
otherwise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _self_test(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "FLWR_TELEMETRY_ENABLED": "0",
        "FLWR_DISABLE_UPDATE_CHECK": "1",
        "TMPDIR": str(tmp_path),
    }
    env.pop("DISPLAY", None)
    return subprocess.run(
        [sys.executable, "-m", "atrap_studio.self_test", "--out", str(tmp_path / "out"), *args],
        capture_output=True,
        text=True,
        timeout=280,
        env=env,
        cwd=tmp_path,  # nothing of the repository's folder is needed
    )


@pytest.mark.slow  # every example compiled and trained two updates, plus six commands started
def test_the_self_test_passes_from_source(tmp_path: Path) -> None:
    done = _self_test(tmp_path, "--steps", "12", "--instances", "8")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    report = done.stdout.splitlines()
    for step in ("examples", "training", "views", "editor", "crowd-commands"):
        assert any(line.startswith(f"ok   {step} (") for line in report), step
    assert report[-1] == "self-test passed"
    assert "12 updates of 8 arms" in done.stdout
    assert "read back identical" in done.stdout
    for picture in ("scene.png", "neurons.png", "editor.png"):
        assert (tmp_path / "out" / picture).stat().st_size > 1000, picture
    assert (tmp_path / "out" / "run" / "network.atrapnet").is_file()


def test_a_failing_step_fails_the_self_test_and_says_why(tmp_path: Path) -> None:
    """Without the training step, the views have nothing to draw: that step fails, by name."""
    skipped = ["--skip", "examples", "--skip", "training", "--skip", "editor"]
    done = _self_test(tmp_path, *skipped, "--skip", "crowd-commands")
    assert done.returncode == 1
    assert "FAIL views (" in done.stdout
    assert "no snapshot to draw" in done.stdout
    assert done.stdout.splitlines()[-1] == "self-test FAILED: views"
