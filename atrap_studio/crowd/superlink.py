"""The aggregator's SuperLink: Flower's own server, reachable from other PCs only for the Fleet API.

Flower 1.42 serves every API — Fleet (peers), Control (register keys, start runs, without
authentication unless its OIDC plug-in is installed) and Runtime (the ServerApp) — from one
HTTP app on one port, and has no flag to bind them apart. So this process builds Flower's app
exactly as ``flower-superlink`` does and serves it with uvicorn on two sockets, both TLS:

* a loopback socket (127.0.0.1, a port chosen at start), where the aggregator's own processes
  (the ``flwr`` CLI, the SuperExec and its ServerApp) reach every API;
* the public socket peers dial, where a request may only call one of the Fleet API's routes
  (POST, exact path, a bounded body); anything else is refused with a status code and a
  line in the aggregator's log before Flower sees it.

On both, the Control API answers only requests that carry the aggregator's secret, made anew
at each start (``--control-secret-file``): Flower's own account-authentication plug-in
interface on this side (:class:`SecretBearer`), Flower's CLI on the other, which sends the
bearer token it finds in its credential store (the crowd's ``flower/credentials.yaml``,
readable by its owner only). Other accounts on the aggregator's PC reach the loopback port
but not the secret.

Run as ``python -m atrap_studio.crowd.superlink --public-host H --public-port P
--control-secret-file F [--parent-pid PID] <Flower's flower-superlink options>``; Flower's
``--host`` must be loopback. With ``--parent-pid`` it stops when that process ends, however it
ended.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hmac
import ipaddress
import socket
import ssl
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from logging import WARNING
from typing import Any

LOOPBACK = "127.0.0.1"
#: Largest request body a peer may send. Flower cuts arrays into 5 MiB pieces
#: (FLWR_PRIVATE_MAX_ARRAY_CHUNK_SIZE), so no Fleet request of a well-behaved peer comes near.
MAX_REQUEST_BYTES = 16 * 1024 * 1024
#: Largest update one peer may send: the objects (pieces of arrays) pushed for one reply,
#: counted by the upload session Flower gives each reply. The crowd's networks are a few MB;
#: without a cap a peer could push pieces until the aggregator's memory is full.
MAX_UPDATE_BYTES = 256 * 1024 * 1024
#: Upload sessions remembered at most (the oldest are forgotten first).
MAX_SESSIONS = 10_000
PUSH_OBJECT = "/v1/fleet/push-object"
#: Longest piece of a refused request's path written to the log.
MAX_LOGGED_PATH = 120
#: Requests one address may make on the public socket: a burst, then so many a second. A peer
#: polls every few seconds and moves a round's network in tens of requests; peers behind one
#: router share an address.
BURST = 1000
PER_SECOND = 200.0
#: A flood's refusals are logged at most once per this many seconds and address, counted.
LOG_EVERY_S = 10.0
#: Addresses remembered at most; those with a full allowance again are forgotten first.
MAX_ADDRESSES = 10_000

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def fleet_paths() -> frozenset[str]:
    """The paths of Flower's Fleet API routes (what a SuperNode calls), from its own router."""
    from flwr.superlink.routers.fleet.router import router

    return frozenset(str(getattr(route, "path", "")) for route in router.routes)


def public_problem(
    scope: Scope, allowed: frozenset[str], max_bytes: int = MAX_REQUEST_BYTES
) -> tuple[int, str] | None:
    """Why a request that arrived on the public socket may not reach Flower (an HTTP status
    and the reason), or None for a Fleet API call."""
    if scope["type"] != "http":
        return 403, "only Flower's Fleet API is served on this address"
    if scope["method"] != "POST" or scope["path"] not in allowed:
        return 403, "only Flower's Fleet API is served on this address"
    headers = dict(scope.get("headers", ()))
    length = headers.get(b"content-length")
    if length is None:
        return 411, "a request body must state its length"
    try:
        size = int(length)
    except ValueError:
        return 400, "the request's length is not a number"
    if size > max_bytes:
        return 413, f"a request of {size:,} bytes is more than {max_bytes:,}"
    return None


class RequestRate:
    """How often each address may call: a token bucket per address, so that a peer flooding
    the aggregator is refused (429) while the others go on."""

    def __init__(
        self,
        burst: int = BURST,
        per_second: float = PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst, self.per_second, self.clock = burst, per_second, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (allowance, when)
        self._refused: dict[str, tuple[float, int]] = {}  # address -> (last logged, since)

    def allow(self, address: str) -> bool:
        now = self.clock()
        left, then = self._buckets.get(address, (float(self.burst), now))
        left = min(float(self.burst), left + (now - then) * self.per_second)
        allowed = left >= 1.0
        self._buckets[address] = (left - 1.0 if allowed else left, now)
        if len(self._buckets) > MAX_ADDRESSES:
            self._forget(now)
        return allowed

    def to_log(self, address: str) -> int:
        """How many refusals of ``address`` to report now (0: stay quiet, one was lately)."""
        now = self.clock()
        logged, since = self._refused.get(address, (-LOG_EVERY_S, 0))
        if now - logged < LOG_EVERY_S:
            self._refused[address] = (logged, since + 1)
            return 0
        self._refused[address] = (now, 0)
        return since + 1

    def _forget(self, now: float) -> None:
        for address, (left, then) in list(self._buckets.items()):
            if left + (now - then) * self.per_second >= self.burst:
                del self._buckets[address]
                self._refused.pop(address, None)


class UpdateSizes:
    """Bytes pushed so far per upload session (one peer's reply): how a cap on the total size
    of one update is kept, whatever the size of each piece."""

    def __init__(self, max_bytes: int = MAX_UPDATE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._pushed: dict[str, int] = {}

    def add(self, session: str, size: int) -> int | None:
        """Count ``size`` more bytes for ``session``; the total if that is over the cap (the
        piece is then refused), else None. Once over, a session stays over: its update can
        never arrive whole, so every later piece is refused too (one passed on to Flower
        would make it drop the whole reply before the ServerApp hears that it failed)."""
        total = self._pushed.pop(session, 0) + size  # re-inserted last: the oldest go first
        self._pushed[session] = total
        while len(self._pushed) > MAX_SESSIONS:
            del self._pushed[next(iter(self._pushed))]
        return total if total > self.max_bytes else None


class FleetOnlyOutside:
    """ASGI middleware in front of Flower's app: requests on the loopback socket pass; those
    on any other socket pass only if :func:`public_problem` finds nothing wrong."""

    def __init__(
        self,
        app: App,
        internal_port: int,
        max_bytes: int = MAX_REQUEST_BYTES,
        rate: RequestRate | None = None,
        updates: UpdateSizes | None = None,
        end_upload: Callable[[str], bool] | None = None,
    ) -> None:
        self.app = app
        self.internal = (LOOPBACK, internal_port)
        self.allowed = fleet_paths()
        self.max_bytes = max_bytes
        self.rate = rate or RequestRate()
        self.updates = updates or UpdateSizes()
        #: Ends an upload session in Flower's state at once (see :func:`end_upload`).
        self.end_upload = end_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server")
        if scope["type"] == "lifespan" or (server and tuple(server) == self.internal):
            await self.app(scope, receive, send)
            return
        address = str((scope.get("client") or ("?", 0))[0])
        if not self.rate.allow(address):
            count = self.rate.to_log(address)
            reason = f"more than {self.rate.per_second:g} requests a second"
            await _refuse(scope, receive, send, 429, reason, count)
            return
        problem = public_problem(scope, self.allowed, self.max_bytes)
        if problem is None and scope["path"] == PUSH_OBJECT:
            await self._push_object(scope, receive, send)
            return
        if problem is None:
            await self.app(scope, receive, send)
            return
        status, reason = problem
        await _refuse(scope, receive, send, status, reason)

    async def _push_object(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A piece of a peer's update: passed on while the update's total stays under the
        cap, read here first (at most ``max_bytes``, as its stated length was checked)."""
        from flwr.proto.message_pb2 import PushObjectRequest
        from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the peer went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                reason = f"a request of more than {self.max_bytes:,} bytes"
                await _refuse(scope, receive, send, 413, reason)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            piece = PushObjectRequest.FromString(body)
        except DecodeError:
            await _refuse(scope, receive, send, 400, "the request is not a PushObjectRequest")
            return
        total = self.updates.add(piece.session_id, len(piece.object_content))
        if total is not None:
            reason = (
                f"node {piece.node.node_id}'s update in run {piece.run_id} would hold more "
                f"than {self.updates.max_bytes:,} bytes ({total:,} so far): refused"
            )
            first = total - len(piece.object_content) <= self.updates.max_bytes
            if first and self.end_upload is not None:
                from starlette.concurrency import run_in_threadpool

                if await run_in_threadpool(self.end_upload, piece.session_id):
                    reason += ", and Flower is told the reply will not come"
            await _refuse(scope, receive, send, 413, reason)
            return
        given = False

        async def replay() -> Message:
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def end_upload(state: Any, session_id: str) -> bool:
    """Make Flower give up on one reply's upload now; whether it could.

    Flower waits for the rest of an upload until its session expires, 180 s after the last
    piece in Flower 1.42 (``OBJECT_PUSH_SESSION_TTL_SECONDS``), and the ServerApp, asking for
    the reply's pieces meanwhile, waits with it: a round would wait that long for an update
    refused for its size. Flower has no call to end an upload, so two rows of its SQL state
    (the aggregator's ``--database``; flwr is pinned to 1.42.0) are changed in one
    transaction: the session expires now, and so does the instruction the reply answers.
    Whichever way the ServerApp asks next — for the reply, or for a piece of it it already
    has the list of — Flower answers that it is unavailable, that peer is reported as
    failed, and the round goes on. False for another kind of state or an unknown session.
    """
    from flwr.supercore.corestate.sql_corestate import SqlCoreState
    from flwr.supercore.date import now
    from flwr.supercore.state.schema.corestate_models import (
        ObjectPushSession,
        ObjectPushSessionRoot,
    )
    from flwr.supercore.state.schema.linkstate_models import MessageIns, MessageRes
    from sqlalchemy import select, update

    if not isinstance(state, SqlCoreState):
        return False
    roots = select(ObjectPushSessionRoot.root_object_id).where(
        ObjectPushSessionRoot.session_id == session_id
    )
    answered = select(MessageRes.reply_to_message_id).where(MessageRes.message_id.in_(roots))
    with state.session() as session:
        session.execute(
            update(MessageIns).where(MessageIns.message_id.in_(answered)).values(ttl=0.0)
        )
        done = session.execute(
            update(ObjectPushSession)
            .where(ObjectPushSession.session_id == session_id)
            .values(expires_at=now())
        )
    return bool(getattr(done, "rowcount", 0))


async def _refuse(
    scope: Scope, receive: Receive, send: Send, status: int, reason: str, count: int = 1
) -> None:
    """Answer ``status`` with the reason; log it unless ``count`` is 0 (a flood: quiet)."""
    from flwr.supercore import log
    from starlette.responses import PlainTextResponse

    client = scope.get("client") or ("?", 0)
    path = "".join(c if c.isprintable() else "?" for c in str(scope.get("path", "")))
    if len(path) > MAX_LOGGED_PATH:
        path = path[:MAX_LOGGED_PATH] + "…"
    what = f"{scope.get('method', scope['type'])} {path}"
    if count == 1:
        log(WARNING, "refused %s from %s:%s: %s", what, client[0], client[1], reason)
    elif count > 1:
        log(WARNING, "refused %d requests from %s (lately %s): %s", count, client[0], what, reason)
    if scope["type"] == "http":
        await PlainTextResponse(reason + "\n", status_code=status)(scope, receive, send)
    elif scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})


#: Why a TLS handshake failed, for people: the alerts a peer sends when it refuses this
#: aggregator's certificate.
REFUSED_CERTIFICATE = {
    "TLSV1_ALERT_UNKNOWN_CA": "it does not trust the authority that signed this aggregator's "
    "certificate: it holds another crowd's ca.crt",
    # every crowd's authority has the same name: the peer finds "its" one, whose signature
    # then does not check out
    "TLSV1_ALERT_DECRYPT_ERROR": "the certificate authority it trusts did not sign this "
    "aggregator's certificate: it holds another crowd's ca.crt",
    "SSLV3_ALERT_BAD_CERTIFICATE": "it refused this aggregator's certificate: it may dial a "
    "name the certificate is not for (serve with --name)",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": "it finds this aggregator's certificate expired",
}


class HandshakeLog:
    """Failed TLS handshakes, logged at most once per reason every LOG_EVERY_S (counted):
    a peer that cannot talk to the aggregator is seen in its log, a flood of them is not."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._seen: dict[str, tuple[float, int]] = {}  # reason -> (last logged, since)

    def failed(self, exc: ssl.SSLError, peer: Any = None) -> None:
        """Log a handshake that failed with ``exc``, with the ``peer``'s address (host,
        port) where it is known."""
        from flwr.supercore import log

        reason = str(exc.reason or exc.__class__.__name__)[:80]
        now = self.clock()
        logged, since = self._seen.get(reason, (-LOG_EVERY_S, 0))
        if now - logged < LOG_EVERY_S:
            self._seen[reason] = (logged, since + 1)
            return
        if len(self._seen) > MAX_ADDRESSES:
            self._seen.clear()
        self._seen[reason] = (now, 0)
        why = REFUSED_CERTIFICATE.get(reason, "the TLS handshake failed")
        more = f" ({since} more since the last such line)" if since else ""
        who = "a peer"
        if isinstance(peer, tuple) and len(peer) >= 2:  # (host, port[, IPv6's two more])
            host = f"[{peer[0]}]" if ":" in str(peer[0]) else peer[0]
            who = f"a peer at {host}:{peer[1]}"
        log(WARNING, "%s could not connect: %s (TLS: %s)%s", who, why, reason, more)


HANDSHAKES = HandshakeLog()


class PeerNamingLoop(asyncio.SelectorEventLoop):
    """asyncio's event loop, which also logs each failed TLS handshake with the address of
    the peer that failed it.

    asyncio drops failed handshakes silently outside debug mode, and the TLS object that
    sees the failure does not know the connection's address; the loop that accepted the
    connection knows both: the connection's waiter ends with the handshake's error. uvicorn
    takes this class as its ``loop`` ("module:name" of a loop factory).
    """

    def _make_ssl_transport(  # type: ignore[no-untyped-def]
        self, rawsock, protocol, sslcontext, waiter=None, **options
    ):
        made = super()._make_ssl_transport(  # type: ignore[misc]
            rawsock, protocol, sslcontext, waiter, **options
        )
        if waiter is not None and options.get("server_side"):
            peer = (options.get("extra") or {}).get("peername")
            waiter.add_done_callback(lambda done: _handshake_ended(done, peer))
        return made


def _handshake_ended(waiter: asyncio.Future[Any], peer: Any) -> None:
    if waiter.cancelled():
        return
    error = waiter.exception()
    if isinstance(error, ssl.SSLError):
        HANDSHAKES.failed(error, peer)


def secret_bearer(secret: str) -> Any:
    """Flower's Control API authentication plug-in that lets in only requests bearing
    ``secret`` (Flower's CLI sends it from its credential store, see Aggregator.start)."""
    from flwr.common.constant import ACCESS_TOKEN_KEY, NOOP_ACCOUNT_NAME, NOOP_FLWR_AID
    from flwr.supercore.auth.typing import AccountInfo
    from flwr.superlink.auth_plugin import ControlAuthnPlugin

    expected = secret.encode()
    # the one account of Flower's plain (account-less) federation: the holder of the secret
    owner = AccountInfo(flwr_aid=NOOP_FLWR_AID, account_name=NOOP_ACCOUNT_NAME)

    class SecretBearer(ControlAuthnPlugin):
        def __init__(self) -> None:
            pass

        def get_login_details(self) -> None:
            return None  # no login: the secret is handed over in the crowd's folder

        def validate_tokens_in_metadata(
            self, metadata: Sequence[tuple[str, str | bytes]]
        ) -> tuple[bool, AccountInfo | None]:
            tokens = [value for key, value in metadata if key == ACCESS_TOKEN_KEY]
            given = tokens[0] if len(tokens) == 1 else b""
            given = given.encode() if isinstance(given, str) else given
            if hmac.compare_digest(given, expected):
                return True, owner
            return False, None

        def get_auth_tokens(self, device_code: str) -> None:
            return None

        def refresh_tokens(self, metadata: Sequence[tuple[str, str | bytes]]) -> tuple[None, None]:
            return None, None  # the secret does not expire while the aggregator runs

    return SecretBearer()


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host`` (an address or a name; ``::`` takes IPv4 too)."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:  # a name: the address it stands for
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    dual = host == "::" and socket.has_dualstack_ipv6()
    return socket.create_server((host, port), family=family, dualstack_ipv6=dual)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--public-host", required=True, help="address peers dial")
    parser.add_argument("--public-port", type=int, required=True)
    parser.add_argument("--parent-pid", type=int, help="stop when this process ends")
    parser.add_argument(
        "--control-secret-file", required=True, help="the Control API's secret (read once)"
    )
    parser.add_argument(
        "--max-update-bytes", type=int, default=MAX_UPDATE_BYTES, help="one peer's reply, at most"
    )
    ours, flower_args = parser.parse_known_args(argv)
    try:
        with open(ours.control_secret_file, encoding="ascii") as file:
            secret = file.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        parser.error(f"cannot read the Control API's secret: {exc}")
    if len(secret) < 32:
        parser.error(f"{ours.control_secret_file}: the Control API's secret is too short")

    import uvicorn
    from flwr.supercore.http_logging import get_uvicorn_log_config
    from flwr.supercore.logger import console_handler
    from flwr.superlink.cli.flower_superlink import (
        SuperLinkLifespan,
        _parse_superlink_lifespan_config,
    )
    from flwr.superlink.main import create_app

    sys.argv = ["flower-superlink", *flower_args]  # Flower's own parser reads sys.argv
    config = _parse_superlink_lifespan_config()
    if config.host != LOOPBACK:
        parser.error(f"Flower's --host must be {LOOPBACK} (it serves the Control API)")
    if config.ssl_certfile is None or config.ssl_keyfile is None:
        parser.error("the SuperLink needs TLS: give Flower's --ssl-certfile and --ssl-keyfile")
    try:
        sockets = [listen(LOOPBACK, config.port), listen(ours.public_host, ours.public_port)]
    except OSError as exc:
        sys.exit(f"cannot listen on {ours.public_host}:{ours.public_port}: {exc}")
    config = dataclasses.replace(config, authn_plugin=secret_bearer(secret))
    flower = create_app(config, SuperLinkLifespan)
    app = FleetOnlyOutside(
        flower,
        config.port,
        updates=UpdateSizes(ours.max_update_bytes),
        end_upload=lambda session: end_upload(flower.state.linkstate_factory.state(), session),
    )
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            ssl_keyfile=config.ssl_keyfile,
            ssl_certfile=config.ssl_certfile,
            loop=f"{__name__}:PeerNamingLoop",
            log_config=get_uvicorn_log_config(console_handler.level),
            access_log=True,
            workers=1,
        )
    )
    if ours.parent_pid:  # as Ctrl+C once the command that started it is gone (even kill -9)
        from atrap_studio.crowd.supernode import stop_with_parent

        stop_with_parent(ours.parent_pid)
    server.run(sockets=sockets)


if __name__ == "__main__":
    main()
