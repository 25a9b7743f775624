"""The editor's autosave on a full disk: a tiny tmpfs under the autosave folder (in a user and
mount namespace, so no privileges are needed), filled while the graph has unsaved edits made by
key presses. The editor says so in the status bar and the log, keeps the edits and goes on; the
user's file is untouched, no traceback; once there is room, autosave works again."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from shlex import quote

import pytest

from tests.faults.conftest import WAIT_S, namespace_works

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not namespace_works(), reason="needs unshare -rm (user namespaces)")
def test_autosave_on_a_full_disk_is_said_and_the_editor_goes_on(tmp_path: Path) -> None:
    data, user_file, report = tmp_path / "data", tmp_path / "mine.yaml", tmp_path / "report.json"
    autosave = data / "autosave"
    autosave.mkdir(parents=True)
    probe = [sys.executable, "-m", "tests.faults.autosave_probe", str(data), str(user_file)]
    script = f"mount -t tmpfs -o size=64k tmpfs {quote(str(autosave))} || exit 99; " + " ".join(
        quote(part) for part in [*probe, str(report)]
    )
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=4 * WAIT_S,
        cwd=REPO,
    )
    if done.returncode == 99:
        pytest.skip(f"tmpfs cannot be mounted here: {done.stderr}")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    seen = json.loads(report.read_text())
    assert seen["tracebacks"] == []
    assert seen["failed"], seen["status"]
    assert "No space left on device (the disk is full)" in seen["status"]
    assert str(autosave) in seen["status"]
    assert seen["log"].count("Autosave failed") == 1, seen["log"]  # said once, not every tick
    assert seen["user_file_unchanged"] and seen["modified"]
    assert seen["recovered"] and seen["copy_holds_value"], seen
    assert not [name for name in seen["autosave_folder"] if name.endswith(".tmp")]
