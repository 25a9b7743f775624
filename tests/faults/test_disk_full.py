"""A disk that fills mid-run: ``atrap run`` on a small tmpfs (in a user and mount namespace, so
no privileges are needed) stops with a clear message naming the file, the update and the last
good checkpoint, which loads; no traceback, no temp file left. The other commands that write
files say which file the full disk refused and leave nothing half-written."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from shlex import quote

import pytest

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.registry import Registry
from atrap_studio.crowd.processes import free_port
from atrap_studio.runtime.checkpoint import load_checkpoint
from atrap_studio.runtime.netfile import load_network
from atrap_studio.runtime.netjson import save_network_json
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.runner import Runner
from tests.conftest import shrink
from tests.faults.conftest import ATRAP, WAIT_S, command_lines, marked_processes, namespace_works

PAGE = 4096


@pytest.mark.skipif(not namespace_works(), reason="needs unshare -rm (user namespaces)")
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


@pytest.mark.skipif(not namespace_works(), reason="needs unshare -rm (user namespaces)")
def test_a_full_disk_under_each_output_is_named_and_leaves_nothing_behind(
    tmp_path: Path, arm_doc: GraphDocument, registry: Registry
) -> None:
    """``crowd key``, ``export`` (each format), ``import`` and ``merge`` writing onto a full
    tmpfs: one message naming the file, no traceback, no file and no temp file left; a key made
    once the disk has room again is not refused (a failed try used to leave an empty key)."""
    trained = tmp_path / "trained"
    Runner(Pipeline(shrink(arm_doc), registry), out_dir=trained).run(10)
    network = trained / "network.atrapnet"
    as_json = tmp_path / "network.json"
    save_network_json(as_json, load_network(network))
    disk, results = tmp_path / "disk", tmp_path / "results"
    disk.mkdir()
    results.mkdir()
    probes = {
        "key": (disk / "peer", ["crowd", "key", str(disk / "peer")]),
        "json": (disk / "n.json", ["export", str(network), "--json", str(disk / "n.json")]),
        "onnx": (disk / "n.onnx", ["export", str(network), "--onnx", str(disk / "n.onnx")]),
        "html": (disk / "n.html", ["export", str(network), "--html", str(disk / "n.html")]),
        "import": (disk / "i.atrapnet", ["import", str(as_json), "-o", str(disk / "i.atrapnet")]),
        "merge": (
            disk / "m.atrapnet",
            [
                "merge",
                str(network),
                str(network),
                "--method",
                "average",
                "-o",
                str(disk / "m.atrapnet"),
            ],
        ),
    }
    on_disk = quote(str(disk))
    lines = [
        f"mount -t tmpfs -o size=64k tmpfs {on_disk} || exit 99",
        f"cat /dev/zero > {quote(str(disk / 'filler'))} 2>/dev/null",
    ]
    for name, (_, args) in probes.items():
        command = " ".join(quote(part) for part in [*ATRAP, *args])
        at = quote(str(results / name))
        lines.append(
            f"{command} > {at}.out 2> {at}.err; echo $? > {at}.rc; ls -A {on_disk} > {at}.ls"
        )
    again = " ".join(quote(part) for part in [*ATRAP, "crowd", "key", str(disk / "peer")])
    lines += [
        f"rm {quote(str(disk / 'filler'))}",
        f"{again} > {results}/again.out 2> {results}/again.err; echo $? > {results}/again.rc",
        f"cp -a {quote(str(disk))}/. {results}/disk/",
    ]
    (tmp_path / "probe.sh").write_text("\n".join(lines) + "\n")
    (results / "disk").mkdir()
    done = subprocess.run(
        ["unshare", "-rm", "sh", str(tmp_path / "probe.sh")],
        capture_output=True,
        text=True,
        timeout=10 * WAIT_S,
    )
    if done.returncode == 99:
        pytest.skip(f"tmpfs cannot be mounted here: {done.stderr}")
    for name, (target, _) in probes.items():
        err = (results / f"{name}.err").read_text()
        assert (results / f"{name}.rc").read_text().strip() == "1", (name, err)
        assert "Traceback" not in err, err
        message = f"error: {target}: No space left on device (the disk is full)"
        assert err.strip().splitlines()[-1] == message, (name, err)
        assert (results / f"{name}.ls").read_text().split() == ["filler"], name
    assert (results / "again.rc").read_text().strip() == "0", (results / "again.err").read_text()
    made = results / "disk"
    assert sorted(p.name for p in made.iterdir()) == ["peer", "peer.pub"]
    assert (made / "peer").read_bytes().startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")
    assert (made / "peer").stat().st_mode & 0o777 == 0o600


@pytest.mark.timeout(300)  # a crowd starts seven Python processes on a shared machine
@pytest.mark.skipif(not namespace_works(), reason="needs unshare -rm (user namespaces)")
def test_a_full_disk_under_a_crowd_names_the_file_and_leaves_no_process(
    graph: Path, tmp_path: Path
) -> None:
    """``crowd local`` whose merged network cannot be written (only its status fits: the
    status cannot say why either, so the message comes through Flower's run details), and
    ``crowd serve`` whose certificates cannot be: a message naming the file, exit 1, no
    traceback, nothing half-written and no Flower process left behind."""
    local, rounds = tmp_path / "local", tmp_path / "local" / "rounds"
    rounds.mkdir(parents=True)
    disk, results = tmp_path / "disk", tmp_path / "results"
    disk.mkdir()
    results.mkdir()
    crowd = [*ATRAP, "crowd", "local", str(graph), "--peers", "1", "--rounds", "2"]
    crowd += ["--local-steps", "5", "--episodes", "16", "--folder", str(local)]
    serve = [*ATRAP, "crowd", "serve", str(graph), "--folder", str(disk / "served")]
    serve += ["--port", str(free_port())]
    r, d = quote(str(results)), quote(str(disk))
    lines = [
        f"mount -t tmpfs -o size=64k tmpfs {quote(str(rounds))} || exit 99",
        f"head -c {15 * PAGE} /dev/zero > {quote(str(rounds / 'filler'))}",  # one page left
        f"{' '.join(map(quote, crowd))} > {r}/local.out 2> {r}/local.err; echo $? > {r}/local.rc",
        f"ls -A {quote(str(rounds))} > {r}/local.ls",
        f"mount -t tmpfs -o size=64k tmpfs {d} || exit 99",
        f"cat /dev/zero > {d}/filler 2>/dev/null",
        f"{' '.join(map(quote, serve))} > {r}/serve.out 2> {r}/serve.err; echo $? > {r}/serve.rc",
        f"find {d} -type f > {r}/serve.ls",
    ]
    (tmp_path / "probe.sh").write_text("\n".join(lines) + "\n")
    done = subprocess.run(
        ["unshare", "-rm", "sh", str(tmp_path / "probe.sh")],
        capture_output=True,
        text=True,
        timeout=250,
    )
    if done.returncode == 99:
        pytest.skip(f"tmpfs cannot be mounted here: {done.stderr}")
    err = (results / "local.err").read_text()
    assert (results / "local.rc").read_text().strip() == "1", err
    assert "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == (
        f"error: the crowd run failed: round 1: could not write {rounds}/round-001.atrapnet: "
        "No space left on device (the disk is full); no round was saved yet"
    )
    assert sorted((results / "local.ls").read_text().split()) == ["crowd.json", "filler"]
    err = (results / "serve.err").read_text()
    assert (results / "serve.rc").read_text().strip() == "1", err
    assert "Traceback" not in err, err
    message = f"error: {disk}/served/certs/ca.crt: No space left on device (the disk is full)"
    assert err.strip().splitlines()[-1] == message
    assert (results / "serve.ls").read_text().split() == [f"{disk}/filler"]
    assert command_lines(marked_processes(str(tmp_path))) == []
