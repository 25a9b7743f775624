"""A disk that fills mid-run: ``atrap run`` on a small tmpfs (in a user and mount namespace, so
no privileges are needed) stops with a clear message naming the file, the update and the last
good checkpoint, which loads; no traceback, no temp file left."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.registry import Registry
from atrap_studio.runtime.checkpoint import load_checkpoint
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.runner import Runner
from tests.conftest import shrink
from tests.faults.conftest import ATRAP, WAIT_S

PAGE = 4096


def _namespace_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=WAIT_S)
    return probe.returncode == 0


@pytest.mark.skipif(not _namespace_works(), reason="needs unshare -rm (user namespaces)")
def test_a_full_disk_mid_run_stops_cleanly(
    graph: Path, tmp_path: Path, arm_doc: GraphDocument, registry: Registry
) -> None:
    probe = tmp_path / "probe"
    Runner(Pipeline(shrink(arm_doc), registry), out_dir=probe).run(10)
    pages = -(-(probe / "checkpoints" / "ckpt-00000010.atrapckpt").stat().st_size // PAGE)
    size_kib = (2 * pages + pages // 2 + 6) * PAGE // 1024  # two checkpoints fit, not three
    disk, copy = tmp_path / "disk", tmp_path / "copy"
    disk.mkdir()
    out = disk / "run"
    script = (
        'out=$3; copy=$4; mount -t tmpfs -o size="$1"k tmpfs "$2" || exit 99; shift 4; '
        '"$@"; rc=$?; cp -a "$out" "$copy"; exit $rc'
    )
    places = [str(size_kib), str(disk), str(out), str(copy)]
    command = [*ATRAP, "run", str(graph), "--steps", "1000000", "--out", str(out), "--quiet"]
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", *places, *command],
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    if done.returncode == 99:
        pytest.skip(f"tmpfs cannot be mounted here: {done.stderr}")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    found = re.search(
        r"could not write (\S+) after update ([\d,]+): No space left on device \(the disk is "
        r"full\); the last good checkpoint is (\S+)",
        done.stderr,
    )
    assert found, done.stderr
    assert Path(found.group(1)).name in ("metrics.csv", f"ckpt-{int(found[2]):08d}.atrapckpt")
    last_good = copy / Path(found.group(3)).relative_to(out)
    assert load_checkpoint(last_good).step < int(found.group(2).replace(",", ""))
    assert not [p for p in copy.rglob("*") if p.name.endswith(".tmp")]
    assert (copy / "metrics.csv").read_text().startswith("step,")
