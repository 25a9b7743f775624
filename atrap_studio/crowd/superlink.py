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

Run as ``python -m atrap_studio.crowd.superlink --public-host H --public-port P [--parent-pid
PID] <Flower's flower-superlink options>``; Flower's ``--host`` must be loopback. With
``--parent-pid`` it stops when that process ends, however it ended.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from logging import WARNING
from typing import Any

LOOPBACK = "127.0.0.1"
#: Largest request body a peer may send. Flower cuts arrays into 5 MiB pieces
#: (FLWR_PRIVATE_MAX_ARRAY_CHUNK_SIZE), so no Fleet request of a well-behaved peer comes near.
MAX_REQUEST_BYTES = 16 * 1024 * 1024
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


class FleetOnlyOutside:
    """ASGI middleware in front of Flower's app: requests on the loopback socket pass; those
    on any other socket pass only if :func:`public_problem` finds nothing wrong."""

    def __init__(
        self,
        app: App,
        internal_port: int,
        max_bytes: int = MAX_REQUEST_BYTES,
        rate: RequestRate | None = None,
    ) -> None:
        self.app = app
        self.internal = (LOOPBACK, internal_port)
        self.allowed = fleet_paths()
        self.max_bytes = max_bytes
        self.rate = rate or RequestRate()

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
        if problem is None:
            await self.app(scope, receive, send)
            return
        status, reason = problem
        await _refuse(scope, receive, send, status, reason)


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
    ours, flower_args = parser.parse_known_args(argv)

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
    app = FleetOnlyOutside(create_app(config, SuperLinkLifespan), config.port)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            ssl_keyfile=config.ssl_keyfile,
            ssl_certfile=config.ssl_certfile,
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
