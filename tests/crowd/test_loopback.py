"""A real crowd on loopback: Flower's SuperLink and SuperNodes as processes, TLS, peer keys."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.yaml_io import save_graph
from atrap_studio.crowd.local import LocalCrowd, run_local_crowd
from atrap_studio.crowd.processes import free_port, start_peer
from atrap_studio.crowd.security import make_peer_key
from atrap_studio.crowd.status import CrowdStatus, read_status
from atrap_studio.runtime.netfile import load_network
from tests.crowd.conftest import FAST


@pytest.fixture
def graph(small_doc: GraphDocument, tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    save_graph(small_doc, path)
    return path


def test_two_peers_three_rounds_over_tls(graph: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    seen: list[int] = []
    status = run_local_crowd(
        graph,
        tmp_path / "crowd",
        peers=2,
        rounds=3,
        settings=FAST,
        timeout=400,
        on_status=lambda s: seen.append(len(s.rounds)),
    )
    elapsed = time.monotonic() - started
    print(f"2 peers x 3 rounds over TLS: {elapsed:.1f} s")
    assert status.state == "finished" and [r.round for r in status.rounds] == [1, 2, 3]
    for record in status.rounds:
        assert sorted(record.peers.values()) == ["region 1 of 2", "region 2 of 2"]
        assert not record.dropped and not record.failed and not record.missing
        assert record.median is not None and record.median > 0
    assert seen[-1] == 3  # the status was followed while the run went on
    first = load_network(tmp_path / "crowd" / "rounds" / "round-001.atrapnet")
    last = load_network(tmp_path / "crowd" / "rounds" / "network.atrapnet")
    assert last.manifest.provenance.origin == "crowd"
    assert "region 1 of 2 + region 2 of 2" in last.manifest.provenance.variant
    assert last.manifest.provenance.lineage == first.manifest.provenance.lineage
    assert last.manifest.training["crowd_round"] == 3
    assert status == read_status(tmp_path / "crowd" / "rounds")


def test_a_peer_with_an_unregistered_key_is_refused(graph: Path, tmp_path: Path) -> None:
    with LocalCrowd(graph, tmp_path / "crowd", peers=1) as crowd:
        rogue_key = tmp_path / "rogue"
        make_peer_key(rogue_key)  # never registered
        rogue = start_peer(
            crowd.folder,
            "rogue",
            address=crowd.aggregator.address,
            ca=crowd.folder.certs.ca,
            key=rogue_key,
            graph=graph,
            port=free_port(),
        )
        try:
            code = rogue.popen.wait(60)
        finally:
            rogue.stop()
        assert code != 0
        assert "Failed to activate SuperNode" in rogue.tail(40)
        assert crowd.peers[0].alive()  # the registered peer is still in
        said = crowd.folder.logs / "aggregator.log"
        assert "No SuperNode found with the given public key" in said.read_text()


def test_a_peer_killed_mid_run_is_left_out_and_the_rounds_go_on(
    graph: Path, tmp_path: Path
) -> None:
    with LocalCrowd(graph, tmp_path / "crowd", peers=2) as crowd:

        def kill_after_first_round(status: CrowdStatus) -> None:
            if len(status.rounds) == 1 and crowd.peers[1].alive():
                crowd.peers[1].popen.kill()

        settings = FAST | {"round-timeout": 60.0}
        status = crowd.run(3, settings, timeout=400, on_status=kill_after_first_round)
    assert status.state == "finished" and len(status.rounds) == 3
    assert len(status.rounds[0].peers) == 2
    for record in status.rounds[1:]:
        assert list(record.peers.values()) == ["region 1 of 2"]
        assert record.median is not None  # merged from the peer that stayed
    later = status.rounds[1]
    assert later.failed or later.missing, "the killed peer is reported as left out"


def test_a_crowd_folder_can_be_started_again(graph: Path, tmp_path: Path) -> None:
    """Keys registered at the first start stay in Flower's state; a restart goes on."""
    for _ in range(2):
        with LocalCrowd(graph, tmp_path / "crowd", peers=1) as crowd:
            assert crowd.peers[0].alive()


CROWD_THEN_WAIT = """
import sys, time
from pathlib import Path
from atrap_studio.crowd.local import LocalCrowd
with LocalCrowd(Path(sys.argv[1]), Path(sys.argv[2]), peers=1):
    print("ready", flush=True)
    time.sleep(600)
"""


def _flower_processes(folder: Path) -> list[int]:
    """Running processes of the crowd in ``folder`` (they inherit its ``FLWR_HOME``)."""
    marker = f"FLWR_HOME={folder / 'flower'}\0".encode()
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker not in Path(f"/proc/{entry}/environ").read_bytes():
                continue
            state = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if state != "Z":
            found.append(int(entry))
    return found


def test_a_crowd_killed_outright_leaves_no_flower_process(graph: Path, tmp_path: Path) -> None:
    """``kill -9`` leaves no clean-up to run: the aggregator and the peer notice their parent
    is gone and stop with what they started."""
    folder = tmp_path / "crowd"
    command = [sys.executable, "-c", CROWD_THEN_WAIT, str(graph), str(folder)]
    parent = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None and parent.stdout.readline() == "ready\n"
        started = time.monotonic() + 60  # Flower starts a SuperExec in its own time
        while len(_flower_processes(folder)) < 3 and time.monotonic() < started:
            time.sleep(0.2)
        assert len(_flower_processes(folder)) >= 3  # aggregator, its SuperExec, the peer
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 60
    while _flower_processes(folder) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = {pid: _command(pid) for pid in _flower_processes(folder)}
    for pid in left:  # leave nothing behind even when the check fails
        os.kill(pid, signal.SIGKILL)
    assert not left, f"left running: {left}"


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")[:200]
    except OSError:
        return "?"
