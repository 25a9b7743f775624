"""What an aggregator shows to other PCs, and what a peer agrees to run.

The aggregator listens for peers on 127.0.0.2, standing for its network address (Linux routes
all of 127/8 to loopback); its Control API is on 127.0.0.1 only. The peer dials 127.0.0.2.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from atrap_studio.core.yaml_io import load_graph, save_graph
from atrap_studio.crowd.processes import (
    Aggregator,
    CrowdFolder,
    Process,
    free_port,
    start_peer,
    tool,
)
from atrap_studio.crowd.security import make_peer_key
from atrap_studio.crowd.superlink import MAX_REQUEST_BYTES
from atrap_studio.examples import example_path
from tests.conftest import shrink
from tests.crowd.conftest import FAST

OUTSIDE = "127.0.0.2"


class Crowd:
    def __init__(self, folder: CrowdFolder, aggregator: Aggregator, peer: Process, graph: Path):
        self.folder, self.aggregator, self.peer, self.graph = folder, aggregator, peer, graph


@pytest.fixture(scope="module")
def crowd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crowd]:
    root = tmp_path_factory.mktemp("exposed")
    try:
        socket.create_server((OUTSIDE, 0)).close()
    except OSError:
        pytest.skip(f"{OUTSIDE} is not a loopback address here")
    graph = root / "small.yaml"
    save_graph(shrink(load_graph(example_path("robot_arm_reach"))), graph)
    folder = CrowdFolder(root / "crowd")
    folder.prepare(["localhost", "127.0.0.1", OUTSIDE])
    key = root / "peer.key"
    make_peer_key(key).replace(folder.peers / "peer.key.pub")
    aggregator = Aggregator(folder, host=OUTSIDE, port=free_port())
    aggregator.start()
    try:
        aggregator.register_all()
        peer = start_peer(
            folder,
            "peer",
            address=aggregator.address,
            ca=folder.certs.ca,
            key=key,
            graph=graph,
            port=free_port(),
        )
        try:
            yield Crowd(folder, aggregator, peer, graph)
        finally:
            peer.stop()
    finally:
        aggregator.stop()


def _routes() -> list[str]:
    from flwr.supercore.routers.runtime.router import router as runtime
    from flwr.superlink.routers.control.router import router as control

    return [str(getattr(route, "path", "")) for route in [*control.routes, *runtime.routes]]


def test_from_outside_only_the_fleet_api_answers(crowd: Crowd) -> None:
    aggregator = crowd.aggregator
    public = f"https://{aggregator.address}"
    with httpx.Client(verify=ssl.create_default_context(cafile=crowd.folder.certs.ca)) as web:
        for path in _routes():  # every Control and Runtime API call, and the API's pages
            assert web.post(public + path, content=b"\0").status_code == 403, path
        for path in ("/docs", "/openapi.json", "/health"):
            assert web.get(public + path).status_code == 403, path
        assert web.get(f"https://127.0.0.1:{aggregator.control_port}/health").status_code == 200
    with pytest.raises(ConnectionRefusedError):  # the Control API's socket is loopback only
        socket.create_connection((OUTSIDE, aggregator.control_port), timeout=5)

    # Flower's own CLI, pointed at the public address, can register no key
    home = crowd.folder.root / "outsider"
    home.mkdir()
    (home / "config.toml").write_text(
        f'[superlink]\ndefault = "x"\n[superlink.x]\naddress = "{aggregator.address}"\n'
        f"root-certificates = {json.dumps(str(crowd.folder.certs.ca))}\n"
    )
    rogue = make_peer_key(crowd.folder.root / "rogue.key")
    env = crowd.folder.env() | {"FLWR_HOME": str(home)}
    command = [tool("flwr"), "supernode", "register", str(rogue), "x", "--format", "json"]
    reply = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert not json.loads(reply.stdout or "{}").get("success"), reply.stdout

    # a request larger than any a peer sends is refused before it is read
    context = ssl.create_default_context(cafile=crowd.folder.certs.ca)
    with (
        socket.create_connection((OUTSIDE, aggregator.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=OUTSIDE) as tls,
    ):
        tls.sendall(
            b"POST /v1/fleet/push-object HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/protobuf\r\n"
            + f"Content-Length: {MAX_REQUEST_BYTES + 1}\r\n\r\n".encode()
        )
        assert tls.recv(100).startswith(b"HTTP/1.1 413")
    log = aggregator.process.log.read_text() if aggregator.process else ""
    assert "refused POST /v1/control/register-node from" in log
    assert "only Flower's Fleet API is served on this address" in log
    assert "refused POST /v1/fleet/push-object from" in log and "is more than" in log
    assert aggregator.process and aggregator.process.alive() and crowd.peer.alive()


def test_on_the_aggregators_own_pc_the_control_api_wants_its_secret(crowd: Crowd) -> None:
    """Another account on the aggregator's PC reaches the loopback port, but not the secret
    that only the aggregator's processes hold (Flower's CLI, from the crowd's folder)."""
    from flwr.superlink.routers.control.middlewares import CONTROL_AUTH_ROUTE_KEYS
    from flwr.superlink.routers.control.router import router as control

    login = {path for _, path in CONTROL_AUTH_ROUTE_KEYS}
    inside = f"https://{crowd.aggregator.control_address}"
    context = ssl.create_default_context(cafile=crowd.folder.certs.ca)
    with httpx.Client(verify=context) as web:
        for route in control.routes:
            path = str(getattr(route, "path", ""))
            for headers in ({}, {"Authorization": "Bearer not-the-secret"}):
                answer = web.post(inside + path, content=b"", headers=headers)
                if path in login:  # Flower's login steps: nothing to log in with
                    assert answer.status_code >= 400 and b"token" not in answer.content, path
                else:
                    assert answer.status_code == 401, (path, answer.status_code)
    assert not (crowd.folder.root / "control.secret").exists()  # read once, then removed
    store = crowd.folder.home / "credentials.yaml"
    assert store.stat().st_mode & 0o077 == 0  # the aggregator's owner only

    # Flower's CLI without the crowd's credentials: another account, on this very PC
    home = crowd.folder.root / "neighbour"
    home.mkdir()
    (home / "config.toml").write_text((crowd.folder.home / "config.toml").read_text())
    env = crowd.folder.env() | {"FLWR_HOME": str(home)}
    rogue = make_peer_key(crowd.folder.root / "neighbour.key")
    for command in (
        ["supernode", "register", str(rogue), "atrap", "--format", "json"],
        ["ls", "--format", "json"],
    ):
        reply = subprocess.run(
            [tool("flwr"), *command], env=env, capture_output=True, text=True, timeout=120
        )
        assert not json.loads(reply.stdout or "{}").get("success"), reply.stdout
    assert len(crowd.aggregator.nodes()) == 1  # the crowd's own CLI: let in


FOREIGN_SERVER = """
import time
from pathlib import Path
from flwr.app import ConfigRecord, Message, RecordDict
from flwr.serverapp import Grid, ServerApp

app = ServerApp()

@app.main()
def main(grid: Grid, context) -> None:
    while not (nodes := list(grid.get_node_ids())):
        time.sleep(0.2)
    ask = [Message(RecordDict({"config": ConfigRecord({"server-round": 1})}), dst_node_id=n,
                   message_type="train") for n in nodes]
    replies = grid.send_and_receive(ask, timeout=90)
    reasons = [r.error.reason for r in replies if r.has_error()]
    Path(context.run_config["report"]).write_text("\\n".join(reasons))
"""

FOREIGN_CLIENT = """
from pathlib import Path
from flwr.clientapp import ClientApp

MARKER = {marker!r}
Path(MARKER).write_text("imported")
app = ClientApp()

@app.train()
def train(message, context):
    Path(MARKER).write_text("ran")
    return message
"""


def test_a_run_with_other_code_never_runs_on_a_peer(crowd: Crowd, tmp_path: Path) -> None:
    marker, report = tmp_path / "marker", tmp_path / "report.txt"
    app = tmp_path / "foreign"
    app.mkdir()
    (app / "foreign_server.py").write_text(FOREIGN_SERVER)
    (app / "foreign_client.py").write_text(FOREIGN_CLIENT.format(marker=str(marker)))
    (app / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        '[project]\nname = "atrap-crowd"\nversion = "0.1.0"\nlicense = "MIT"\n'
        'dependencies = []\n[tool.flwr.app]\npublisher = "atrap"\n'
        "[tool.flwr.app.components]\n"
        'serverapp = "foreign_server:app"\nclientapp = "foreign_client:app"\n'
        f"[tool.flwr.app.config]\nreport = {json.dumps(str(report))}\n"
    )
    # started where only the aggregator's owner can: on its machine, through loopback
    command = [tool("flwr"), "run", str(app), "atrap", "--format", "json"]
    started = subprocess.run(
        command, env=crowd.folder.env(), capture_output=True, text=True, timeout=120
    )
    assert json.loads(started.stdout).get("success"), started.stdout + started.stderr
    deadline = time.monotonic() + 180
    while not report.exists():  # written by the foreign ServerApp once the peer answered
        assert time.monotonic() < deadline, "the foreign run's ServerApp heard nothing"
        time.sleep(0.5)
    assert not marker.exists(), "the foreign app ran on the peer"
    assert "refused to run the crowd run's app" in report.read_text()
    said = crowd.peer.log.read_text()
    assert "refused to run the crowd run's app: it brings files this peer's crowd app " in said
    assert "'foreign_client.py'" in said
    assert crowd.peer.alive()

    # the peer is still in the crowd: our own app's round runs on it, through 127.0.0.2
    run = {
        "graph-file": str(crowd.graph.resolve()),
        "out-dir": str(crowd.folder.rounds.resolve()),
        "num-rounds": 1,
        "min-peers": 1,
        **FAST,
    }
    status = crowd.aggregator.wait(crowd.aggregator.submit(run), timeout=300)
    assert status.state == "finished" and len(status.rounds[0].peers) == 1


def test_a_peer_with_another_crowds_ca_is_told_and_the_crowd_goes_on(crowd: Crowd) -> None:
    from atrap_studio.crowd.security import make_certificates

    other = make_certificates(crowd.folder.root / "other-crowd")
    key = crowd.folder.root / "keys" / "peer-other-ca"
    make_peer_key(key).replace(crowd.folder.peers / "peer-other-ca.pub")
    crowd.aggregator.register_all()  # registered: only the certificate is wrong
    command = [
        sys.executable, "-m", "atrap_studio.cli.main", "crowd", "join", crowd.aggregator.address,
        str(crowd.graph), "--ca", str(other.ca), "--key", str(key),
        "--folder", str(crowd.folder.root / "other-peer"),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode != 0
    assert "ask its owner for the crowd's ca.crt" in done.stderr, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    log = crowd.aggregator.process.log.read_text() if crowd.aggregator.process else ""
    said = re.search(
        r"a peer at (127\.0\.0\.\d+):\d+ could not connect: the certificate authority it "
        r"trusts did not sign this aggregator's certificate: it holds another crowd's ca\.crt "
        r"\(TLS: TLSV1_ALERT_DECRYPT_ERROR\)",  # every crowd's authority bears the same name
        log,
    )
    assert said, log[-3000:]
    assert crowd.aggregator.process and crowd.aggregator.process.alive() and crowd.peer.alive()


def test_a_flooding_address_is_refused_quietly_and_the_others_go_on() -> None:
    """On Flower's own Fleet route, with the middleware's clock in the test's hands."""
    import asyncio
    import logging

    from atrap_studio.crowd.superlink import FleetOnlyOutside, RequestRate

    clock = [0.0]
    served: list[str] = []

    async def fleet(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        served.append(scope["client"][0])
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]

    rate = RequestRate(burst=10, per_second=5, clock=lambda: clock[0])
    app = FleetOnlyOutside(fleet, internal_port=1, rate=rate)

    async def call(client: str) -> int:
        statuses = []

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        scope = {
            "type": "http", "method": "POST", "path": "/v1/fleet/pull-messages",
            "headers": [(b"content-length", b"0")], "client": (client, 5),
            "server": ("192.0.2.1", 9092),
        }  # fmt: skip
        await app(scope, receive, send)
        return int(statuses[0])

    async def calls(client: str, count: int) -> list[int]:
        return [await call(client) for _ in range(count)]

    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("flwr").addHandler(handler)
    try:
        flood = asyncio.run(calls("198.51.100.66", 50))
        assert flood == [200] * 10 + [429] * 40
        assert asyncio.run(calls("198.51.100.7", 3)) == [200] * 3  # another peer goes on
        clock[0] = 1.0  # a second later the flooder may call five times more
        assert asyncio.run(calls("198.51.100.66", 6)) == [200] * 5 + [429]
        clock[0] = 11.0
        asyncio.run(calls("198.51.100.66", 11))
    finally:
        logging.getLogger("flwr").removeHandler(handler)
    assert served.count("198.51.100.66") == 25 and served.count("198.51.100.7") == 3
    flood_lines = [line for line in lines if "198.51.100.66" in line]
    assert flood_lines == [
        "refused POST /v1/fleet/pull-messages from 198.51.100.66:5: more than 5 requests a second",
        "refused 41 requests from 198.51.100.66 (lately POST /v1/fleet/pull-messages): more "
        "than 5 requests a second",
    ]


def test_an_update_over_the_cap_is_refused_and_the_others_go_on(tmp_path: Path) -> None:
    """The pieces of one reply (one upload session) may not add up to more than the cap,
    whatever the size of each; Flower gets every accepted piece as it was sent, and is told
    at once that the refused reply will not come (in its own state, as the aggregator's),
    so the ServerApp does not wait for it until the upload session would expire."""
    import asyncio
    import hashlib
    import logging

    from flwr.proto.message_pb2 import ObjectTree, PushObjectRequest
    from flwr.proto.node_pb2 import Node
    from flwr.superlink.config_loader import (
        get_federation_manager,
        get_objectstore_linkstate_factories,
    )

    from atrap_studio.crowd.superlink import FleetOnlyOutside, UpdateSizes, end_upload

    database = str(tmp_path / "state.db")  # as the aggregator's --database
    state = get_objectstore_linkstate_factories(database, get_federation_manager())[1].state()
    sessions, pieces = {}, {}
    for name in ("greedy", "another peer's"):  # each reply's upload, as Flower starts one
        sessions[name] = state.start_session(3)
        root, pieces[name] = (hashlib.sha256(f"{name} {part}".encode()).hexdigest()
                              for part in ("reply", "piece"))  # fmt: skip
        reply = ObjectTree(object_id=root, children=[ObjectTree(object_id=pieces[name])])
        state.preregister_object_tree(reply, sessions[name])
    assert state.get_object(3, pieces["greedy"]) == b""  # awaited: the ServerApp keeps asking
    received: list[bytes] = []

    async def flower(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        received.append((await receive())["body"])  # type: ignore[operator]
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]

    app = FleetOnlyOutside(
        flower,
        internal_port=1,
        updates=UpdateSizes(max_bytes=1000),
        end_upload=lambda session: end_upload(state, session),
    )

    async def push(name: str, size: int) -> tuple[int, bytes]:
        piece = PushObjectRequest(
            node=Node(node_id=7), run_id=3, object_id="x", object_content=b"\1" * size,
            session_id=sessions[name],
        ).SerializeToString()  # fmt: skip
        parts = [piece[:10], piece[10:]]  # as a body may arrive: in pieces
        statuses = []

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": parts.pop(0), "more_body": bool(parts)}

        async def send(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        scope = {
            "type": "http", "method": "POST", "path": "/v1/fleet/push-object",
            "headers": [(b"content-length", str(len(piece)).encode())],
            "client": ("198.51.100.9", 5), "server": ("192.0.2.1", 9092),
        }  # fmt: skip
        await app(scope, receive, send)
        return int(statuses[0]), piece

    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("flwr").addHandler(handler)
    try:
        greedy = [asyncio.run(push("greedy", size)) for size in (400, 400, 400, 10)]
        other = asyncio.run(push("another peer's", 400))
    finally:
        logging.getLogger("flwr").removeHandler(handler)
    assert [status for status, _ in greedy] == [200, 200, 413, 413]  # a reply never whole
    assert other[0] == 200
    assert received == [greedy[0][1], greedy[1][1], other[1]]  # intact, the refused one held
    assert lines == [
        "refused POST /v1/fleet/push-object from 198.51.100.9:5: node 7's update in run 3 "
        "would hold more than 1,000 bytes (1,200 so far): refused, and Flower is told the "
        "reply will not come",
        "refused POST /v1/fleet/push-object from 198.51.100.9:5: node 7's update in run 3 "
        "would hold more than 1,000 bytes (1,210 so far): refused",
    ]
    assert state.get_object(3, pieces["greedy"]) is None  # given up: unavailable now
    assert state.get_object(3, pieces["another peer's"]) == b""  # still awaited
    assert not end_upload(state, "no such session")
