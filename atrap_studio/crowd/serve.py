"""Serving a crowd between PCs, for ``atrap crowd serve`` and the editor's Crowd dock alike.

One sequence for both: the crowd's folder and certificates, at least one allowed peer key,
the aggregator (only Flower's Fleet API public, see crowd/superlink.py), the keys
registered, then one run followed round by round. A stop from another thread (the dock's
Stop button) ends it between any two of these steps.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from atrap_studio.crowd.processes import Aggregator, CrowdError, CrowdFolder
from atrap_studio.crowd.status import STATUS_FILE, CrowdStatus


@dataclass(frozen=True)
class ServeRequest:
    """A crowd to serve: its graph, folder, where peers dial, and the run's settings."""

    graph: Path
    folder: Path
    host: str = "127.0.0.1"
    port: int = 9092
    names: tuple[str, ...] = ()  # host names or addresses peers dial (in the certificate)
    rounds: int = 10
    min_peers: int = 2
    settings: Mapping[str, str | int | float] = field(default_factory=dict)  # RUN_CONFIG keys
    timeout: float = 24 * 3600.0


class CrowdStopped(CrowdError):
    """The crowd was stopped on purpose (not a failure)."""


class CrowdServer:
    """The aggregator of one crowd and its run; ``start``, then ``run``, ``stop`` always."""

    def __init__(self, request: ServeRequest) -> None:
        self.request = request
        self.folder = CrowdFolder(request.folder)
        self.aggregator = Aggregator(self.folder, host=request.host, port=request.port)
        self._stopping = threading.Event()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def allowed_keys(self) -> list[Path]:
        """The public keys of the peers that may join (the crowd's peers folder)."""
        return sorted(self.folder.peers.glob("*.pub"))

    def start(self) -> list[Path]:
        """Prepare the folder, start the aggregator and register every allowed key; the keys.

        Raises:
            CrowdError: no key is allowed, the graph is missing, or the aggregator did not
                start (its port taken, say).
        """
        if not self.request.graph.is_file():
            raise CrowdError(f"{self.request.graph}: no such graph file (the crowd trains it)")
        self.folder.prepare(["localhost", "127.0.0.1", *self.request.names])
        keys = self.allowed_keys()
        if not keys:
            raise CrowdError(
                f"no peer may join: put each peer's public key (from `atrap crowd key` or the "
                f"Crowd dock's Make a Key) in {self.folder.peers}"
            )
        self._check_stop()
        self.aggregator.start()
        self._check_stop()
        self.aggregator.register_all()
        return keys

    def run(self, on_status: Callable[[CrowdStatus], None] | None = None) -> CrowdStatus:
        """Start the run and follow it to its end (a new run's status replaces the last's)."""
        request = self.request
        (self.folder.rounds / STATUS_FILE).unlink(missing_ok=True)
        self._check_stop()
        run_id = self.aggregator.submit(
            {
                "graph-file": str(request.graph.resolve()),
                "out-dir": str(self.folder.rounds.resolve()),
                "num-rounds": request.rounds,
                "min-peers": request.min_peers,
                **request.settings,
            }
        )
        try:
            return self.aggregator.wait(run_id, timeout=request.timeout, on_status=on_status)
        except CrowdError:
            self._check_stop()
            raise

    def connected(self) -> list[dict[str, str]]:
        """The peers Flower knows and whether each is online (see Aggregator.nodes)."""
        return self.aggregator.nodes()

    def stop(self) -> None:
        """Stop the aggregator and its run (from any thread); the networks saved stay."""
        self._stopping.set()
        self.aggregator.stop()

    def _check_stop(self) -> None:
        if self.stopping:
            self.aggregator.stop()
            raise CrowdStopped("stopped")
