"""``atrap-studio FILE --screenshot OUT.png`` under a real X server (Xvfb), as for bug reports.

The picture is kept in ``test-artifacts/`` (CI keeps that folder) so a person can look at it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6 import QtGui
from pytestqt.qtbot import QtBot

from atrap_studio.examples import example_path

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def distinct_colours(image: QtGui.QImage, step: int = 7) -> int:
    return len(
        {
            image.pixel(x, y)
            for x in range(0, image.width(), step)
            for y in range(0, image.height(), step)
        }
    )


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run (scripts/setup)")
def test_screenshot_of_the_example_under_xvfb(tmp_path: Path, qtbot: QtBot) -> None:
    out = tmp_path / "main-window.png"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "xcb",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    command = [
        "xvfb-run", "-a", "-s", "-screen 0 1600x1000x24",
        sys.executable, "-m", "atrap_studio.ui.app",
        str(example_path("robot_arm_reach")), "--screenshot", str(out), "--size", "1400x860",
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    image = QtGui.QImage(str(out))
    assert not image.isNull()
    assert (image.width(), image.height()) == (1400, 860)
    assert distinct_colours(image) > 40, "the picture is blank or nearly so"
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(out, ARTIFACTS / out.name)


def test_screenshot_of_a_broken_file_fails_cleanly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: atrap-graph\n", encoding="utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "atrap_studio.ui.app", str(bad), "--screenshot", "x.png"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "bad.yaml" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x.png").exists()
