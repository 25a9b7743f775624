"""A crowd simulated in one process: our ServerApp and ClientApp functions, peers one after
another, no Flower processes — for comparing ways of training a crowd within the time.

The ServerApp's ``main`` runs unchanged (the guarded strategy, the distilling aggregator,
scoring and saving every round) against :class:`InProcessGrid`, a Flower ``Grid`` that hands
each message straight to the ClientApp's function of its peer (``train``, ``receive_final``)
with that peer's own context, kept between rounds as a SuperNode keeps it. What it leaves
out is what Flower's processes add: TLS, the network, serialisation, one process a message,
polling and waiting — so its wall time is the training's and the aggregator's, not a crowd's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import torch
from flwr.app import Context, Message, RecordDict
from flwr.serverapp import Grid
from flwr.supercore.run import Run
from flwr.supercore.task_identity import TaskIdentity

from atrap_studio.crowd import apps
from atrap_studio.crowd.app_check import RUN_CONFIG
from atrap_studio.crowd.status import CrowdStatus, read_status

#: The node id the aggregator's messages come from (Flower's SuperLink uses 0 too).
SERVER_NODE = 0
RUN_ID = 1


@dataclass
class SimulatedPeer:
    """A peer of the simulation: its node id and the context its ClientApp sees."""

    node: int
    context: Context


class InProcessGrid(Grid):
    """Flower's Grid for a crowd in one process: pushing a message runs its peer's ClientApp
    function at once; pulling returns the replies."""

    def __init__(self, peers: Iterable[SimulatedPeer], run: Run) -> None:
        self.peers = {peer.node: peer for peer in peers}
        self._run = run
        self._replies: dict[str, Message] = {}

    def set_run(self, run: Run) -> None:
        self._run = run

    @property
    def run(self) -> Run:
        return self._run

    def create_message(
        self,
        content: RecordDict,
        message_type: str,
        dst_node_id: int,
        group_id: str,
        ttl: float | None = None,
    ) -> Message:
        return Message(content, dst_node_id, message_type, ttl=ttl, group_id=group_id)

    def get_node_ids(self) -> Iterable[int]:
        return list(self.peers)

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        ids = []
        for message in messages:
            message.metadata.__dict__["_message_id"] = identity = str(uuid4())
            peer = self.peers[message.metadata.dst_node_id]
            handle = apps.train if message.metadata.message_type == "train" else None
            handle = handle or apps.receive_final
            self._replies[identity] = handle(message, peer.context)
            ids.append(identity)
        return ids

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return [self._replies.pop(i) for i in list(message_ids) if i in self._replies]

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        return self.pull_messages(self.push_messages(messages))


def simulate_crowd(
    graph: Path,
    out: Path,
    *,
    peers: int,
    rounds: int,
    settings: Mapping[str, str | int | float] | None = None,
    split: bool = True,
) -> CrowdStatus:
    """Run ``rounds`` rounds of a crowd of ``peers`` on ``graph`` in this process (peer k:
    region k of ``peers`` with ``split``); the merged networks and the status go to ``out``
    as a Flower crowd's go to its ``rounds`` folder."""
    run_config = {
        **RUN_CONFIG,
        **(settings or {}),
        "graph-file": str(graph.resolve()),
        "out-dir": str(out.resolve()),
        "num-rounds": rounds,
        "min-peers": peers,
        "poll-interval": 0.0,
    }
    unknown = set(run_config) - set(RUN_CONFIG)
    if unknown:
        raise ValueError(f"unknown crowd settings: {', '.join(sorted(unknown))}")
    members = [
        SimulatedPeer(
            node,
            Context(
                RUN_ID,
                node,
                {
                    "graph": str(graph.resolve()),
                    "region": index if split else 0,
                    "regions": peers if split else 1,
                    "threads": torch.get_num_threads(),  # the process's own setting
                },
                RecordDict(),
                dict(run_config),
            ),
        )
        for index, node in enumerate(range(101, 101 + peers))
    ]
    TaskIdentity.run_id, TaskIdentity.task_id, TaskIdentity.node_id = RUN_ID, 1, SERVER_NODE
    grid = InProcessGrid(members, Run.create_empty(RUN_ID))
    threads = torch.get_num_threads()
    try:
        apps.main(grid, Context(RUN_ID, SERVER_NODE, {}, RecordDict(), run_config))
    finally:
        torch.set_num_threads(threads)  # the ServerApp takes one for its own process
    status = read_status(out)
    assert status is not None  # the ServerApp writes it before anything else
    return status
