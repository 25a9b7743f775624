"""A whole crowd on one machine: the aggregator and K peers as real processes on loopback,
with TLS and registered keys exactly as between PCs — for trying a crowd out and for tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

from atrap_studio.crowd.processes import (
    Aggregator,
    CrowdError,
    CrowdFolder,
    Process,
    free_port,
    start_peer,
)
from atrap_studio.crowd.security import make_peer_key
from atrap_studio.crowd.status import CrowdStatus


class LocalCrowd:
    """An aggregator and ``peers`` peers training ``graph``; use as a context manager.

    With ``split`` each peer trains its own region (peer k: region k of ``peers``), as PCs in
    different worlds would. The merged network of each round lands in ``folder/rounds``.
    """

    def __init__(self, graph: Path, folder: Path, *, peers: int, split: bool = True) -> None:
        if peers < 1:
            raise CrowdError("a crowd needs at least one peer")
        self.graph = graph
        self.folder = CrowdFolder(folder)
        self.count = peers
        self.split = split
        self.aggregator = Aggregator(self.folder, port=free_port())
        self.peers: list[Process] = []

    def __enter__(self) -> LocalCrowd:
        crowd = self.folder
        crowd.prepare(["localhost", "127.0.0.1"])
        keys = []
        for index in range(self.count):
            key = crowd.root / "keys" / f"peer-{index + 1}"
            if not key.exists():
                public = make_peer_key(key)
                shutil.copyfile(public, crowd.peers / public.name)
            keys.append(key)
        try:
            self.aggregator.start()
            self.aggregator.register_all()
            for index, key in enumerate(keys):
                self.peers.append(
                    start_peer(
                        crowd,
                        f"peer-{index + 1}",
                        address=self.aggregator.address,
                        ca=crowd.certs.ca,
                        key=key,
                        graph=self.graph,
                        region=index if self.split else 0,
                        regions=self.count if self.split else 1,
                        port=free_port(),
                    )
                )
        except BaseException:
            self.__exit__()
            raise
        return self

    def run(
        self,
        rounds: int,
        settings: Mapping[str, str | int | float] | None = None,
        *,
        timeout: float = 3600.0,
        on_status: Callable[[CrowdStatus], None] | None = None,
    ) -> CrowdStatus:
        """Run ``rounds`` rounds and wait for them.

        Raises:
            CrowdError: the run failed or ran out of time.
        """
        run = {
            "graph-file": str(self.graph.resolve()),
            "out-dir": str(self.folder.rounds.resolve()),
            "num-rounds": rounds,
            "min-peers": self.count,
            **(settings or {}),
        }
        run_id = self.aggregator.submit(run)
        return self.aggregator.wait(run_id, timeout=timeout, on_status=on_status)

    def __exit__(self, *_: object) -> None:
        for process in self.peers:
            process.stop()
        self.aggregator.stop()


def run_local_crowd(
    graph: Path,
    folder: Path,
    *,
    peers: int,
    rounds: int,
    settings: Mapping[str, str | int | float] | None = None,
    split: bool = True,
    timeout: float = 3600.0,
    on_status: Callable[[CrowdStatus], None] | None = None,
) -> CrowdStatus:
    """Start a local crowd, run it for ``rounds`` rounds and stop it (see LocalCrowd)."""
    with LocalCrowd(graph, folder, peers=peers, split=split) as crowd:
        return crowd.run(rounds, settings, timeout=timeout, on_status=on_status)
