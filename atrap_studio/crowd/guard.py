"""Robustness against bad peers: malformed updates are left out of a round, never aggregated.

Flower's strategies aggregate whatever arrives; a NaN spreads into the merged network and a
wrong shape crashes the aggregator. Every reply is checked here first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from logging import INFO, WARNING
from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MessageType, RecordDict
from flwr.common import log
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg, FedMedian, FedTrimmedAvg, Krum

from atrap_studio.crowd.array_digests import DIGESTS_KEY, array_digests, digest_problem
from atrap_studio.crowd.drift import CONTROL_DIGESTS_KEY, CONTROL_KEY
from atrap_studio.crowd.status import RoundRecord

STRATEGIES: dict[str, type[FedAvg]] = {
    "fedavg": FedAvg,
    "trimmed": FedTrimmedAvg,
    "median": FedMedian,
    "krum": Krum,
}
WEIGHT_KEY = "num-examples"
#: The metrics our ClientApp reports; replies with others are left out (Flower would refuse
#: the whole round when peers' metric keys differ).
METRIC_KEYS = (WEIGHT_KEY, "train-loss", "local-median")
#: Longest text a peer may put into the crowd's log and status.
MAX_PEER_TEXT = 300


def update_problem(
    arrays: Mapping[str, np.ndarray], expected: Mapping[str, tuple[int, ...]]
) -> str | None:
    """Why an update cannot be aggregated (names, shapes, dtype, finiteness), or None."""
    missing = sorted(set(expected) - set(arrays))
    extra = sorted(set(arrays) - set(expected))
    if missing or extra:
        return f"its parameters differ: missing {missing}, unexpected {extra}"
    for name, shape in expected.items():
        value = arrays[name]
        if tuple(value.shape) != tuple(shape):
            return f"{name} has shape {list(value.shape)}, expected {list(shape)}"
        if value.dtype != np.float32:
            return f"{name} is {value.dtype}, expected float32"
        if not np.isfinite(value).all():
            return f"{name} holds NaN or infinite values"
    return None


def reply_problem(
    message: Message,
    expected: Mapping[str, tuple[int, ...]],
    max_weight: float = math.inf,
    control: Mapping[str, tuple[int, ...]] | None = None,
) -> str | None:
    """Why a training reply cannot be aggregated, or None (a peer's weight — its scene steps
    — may not exceed ``max_weight``, so no peer can outweigh the others by claiming more).
    With ``control`` (SCAFFOLD's parameter shapes) the reply must also carry the change of
    the peer's control variate, checked the same way as the network."""
    content = message.content
    records = ["arrays", CONTROL_KEY] if control is not None else ["arrays"]
    if list(content.array_records) != records or list(content.metric_records) != ["metrics"]:
        return (
            f"it holds the records {sorted(content.keys())}, expected "
            + ", ".join(f"'{r}'" for r in records)
            + ", 'metrics' and 'peer'"
        )
    about = content.config_records.get("peer")
    checks = [("arrays", expected, DIGESTS_KEY)]
    if control is not None:
        checks.append((CONTROL_KEY, control, CONTROL_DIGESTS_KEY))
    for key, shapes, digests_key in checks:
        arrays = {}
        for name, array in content.array_records[key].items():
            try:
                arrays[name] = array.numpy()
            except (ValueError, TypeError, EOFError) as exc:  # cut short, or not NumPy's
                return f"{_printable(name)} cannot be read: {_printable(str(exc))}"
        problem = update_problem(arrays, shapes)
        if not problem:
            problem = digest_problem(arrays, about.get(digests_key) if about else None)
        if problem:
            return problem if key == "arrays" else f"its control variate: {problem}"
    metrics = content.metric_records["metrics"]
    if set(metrics) != set(METRIC_KEYS):
        return f"its metrics are {sorted(metrics)}, expected {sorted(METRIC_KEYS)}"
    weight = metrics.get(WEIGHT_KEY)
    if not isinstance(weight, int | float) or not math.isfinite(weight) or weight <= 0:
        return f"its '{WEIGHT_KEY}' is {weight!r}, expected a positive number"
    if weight > max_weight:
        return f"it claims {weight:g} scene steps, more than a round allows ({max_weight:g})"
    region, regions = (about.get("region", 0), about.get("regions", 1)) if about else (0, 1)
    if not (isinstance(region, int) and isinstance(regions, int) and 0 <= region < regions <= 64):
        return f"it claims region {region!r} of {regions!r}"
    return None


#: What a peer said about itself, and the network it sent.
Update = tuple[dict[str, Any], dict[str, Any]]


def _printable(text: str) -> str:
    """A peer's text as it may be shown: no control characters, bounded length."""
    clean = "".join(c if c.isprintable() else " " for c in text)
    return clean[:MAX_PEER_TEXT]


def _digests(arrays: ArrayRecord) -> list[str]:
    return array_digests({name: array.numpy() for name, array in arrays.items()})


def _update(message: Message) -> Update:
    about = message.content.config_records.get("peer")
    state = message.content.array_records["arrays"].to_torch_state_dict()
    return (dict(about) if about else {}), state


def _control_change(message: Message) -> dict[str, np.ndarray]:
    """A peer's change of its control variate, taken out of its reply (Flower's strategies
    aggregate replies of one ArrayRecord)."""
    record = message.content.array_records[CONTROL_KEY]
    del message.content[CONTROL_KEY]
    return {name: array.numpy() for name, array in record.items()}


def merged_news(record: RoundRecord) -> dict[str, Any]:
    """What peers are told about a round's merged network, with the network itself: its
    round, the aggregator's score of it on the whole world, and whose updates it holds."""
    news: dict[str, Any] = {
        "merged-round": record.round,
        "merged-seconds": record.seconds,
        "merged-nodes": list(record.peers),
        "merged-variants": list(record.peers.values()),
    }
    if record.median is not None:
        news["merged-median"] = record.median
    if record.success_rate is not None:
        news["merged-success"] = record.success_rate
    return news


def guarded(
    base: type[FedAvg],
    expected: Mapping[str, tuple[int, ...]],
    on_round: Callable[[RoundRecord, ArrayRecord | None], None],
    refine: Callable[[ArrayRecord, list[Update]], ArrayRecord] | None = None,
    max_weight: float = math.inf,
    last_round: int = 0,
    control: Mapping[str, tuple[int, ...]] | None = None,
    **options: Any,
) -> FedAvg:
    """A shipped strategy that checks every reply first and reports each round.

    ``refine`` may improve the merged network from the accepted updates (the crowd's
    distilling aggregator). After the first round the strategy samples whoever is connected
    (at least one peer), so a peer that leaves does not stall the rounds after it.

    Peers learn how good the crowd's network is: each round's training message, which
    carries the last merged network anyway, also carries its score (:func:`merged_news`), and
    after ``last_round`` every connected peer gets the final one (an evaluate message).

    With ``control`` (the network's parameter shapes) the crowd runs SCAFFOLD: every training
    message carries the aggregator's control variate ``c`` (zero at first), every reply the
    change of the peer's own, and ``c`` moves by the mean of the accepted changes.
    """

    class Guarded(base):  # type: ignore[valid-type, misc]
        def __init__(self, **given: Any) -> None:
            super().__init__(**given)
            self.news: dict[str, Any] = {}  # about the last merged network, for peers
            self.control = (
                {n: np.zeros(shape, np.float32) for n, shape in control.items()}
                if control is not None
                else None
            )

        def configure_train(
            self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
        ) -> Iterable[Message]:
            if server_round > 1:
                self.min_available_nodes = self.min_train_nodes = 1
            told = ConfigRecord({**dict(config), **self.news, DIGESTS_KEY: _digests(arrays)})
            if self.control is not None:
                told[CONTROL_DIGESTS_KEY] = array_digests(self.control)
            messages = list(super().configure_train(server_round, arrays, told, grid))
            if self.control is not None:
                for message in messages:
                    message.content[CONTROL_KEY] = ArrayRecord(
                        {n: Array(v) for n, v in self.control.items()}
                    )
            self.sampled = [str(m.metadata.dst_node_id) for m in messages]
            return messages

        def configure_evaluate(
            self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
        ) -> Iterable[Message]:
            if server_round != last_round or not self.news:
                return []  # peers score nothing themselves: the aggregator scores every round
            told = ConfigRecord(
                {**dict(config), **self.news, "server-round": server_round}
                | {DIGESTS_KEY: _digests(arrays)}
            )
            return [
                Message(
                    RecordDict({"arrays": arrays, "config": told}),
                    message_type=MessageType.EVALUATE,
                    dst_node_id=node,
                )
                for node in grid.get_node_ids()
            ]

        def aggregate_evaluate(self, server_round: int, replies: Iterable[Message]) -> None:
            got = sum(not message.has_error() for message in replies)
            log(INFO, "round %s: %d peer(s) got the final merged network", server_round, got)

        def aggregate_train(
            self, server_round: int, replies: Iterable[Message]
        ) -> tuple[ArrayRecord | None, Any]:
            record = RoundRecord(round=server_round)
            kept = []
            unattributed = []  # the SuperLink answers for a vanished peer as node 1
            for message in replies:
                node = str(message.metadata.src_node_id)
                if message.has_error():
                    reason = _printable(message.error.reason or "no reason given")
                    if node in self.sampled:
                        record.failed[node] = reason
                    else:
                        unattributed.append(reason)
                    continue
                problem = reply_problem(message, expected, max_weight, control)
                if problem:
                    problem = _printable(problem)
                    record.dropped[node] = problem
                    log(WARNING, "round %s: left out peer %s: %s", server_round, node, problem)
                    continue
                about = message.content.config_records.get("peer")
                record.peers[node] = _printable(str(about.get("variant", ""))) if about else ""
                kept.append(message)
            answered = set(record.peers) | set(record.dropped) | set(record.failed)
            silent = [n for n in self.sampled if n not in answered]
            if unattributed:
                record.failed |= {node: unattributed[0] for node in silent}
            else:
                record.missing = silent
            left_out = sorted({*record.dropped, *record.failed, *record.missing})
            log(
                INFO,
                "round %s: merged %s, left out %s",
                server_round,
                sorted(record.peers),
                left_out,
            )
            arrays: ArrayRecord | None = None
            metrics: Any = None
            # taken before aggregating: some strategies empty the replies as they go
            updates = [_update(message) for message in kept] if refine is not None else []
            changes = [_control_change(message) for message in kept] if control else []
            if kept:
                arrays, metrics = super().aggregate_train(server_round, kept)
            if arrays is not None and refine is not None:
                arrays = refine(arrays, updates)
            if self.control is not None and changes:
                self.control = {
                    n: c + np.mean([change[n] for change in changes], axis=0, dtype=np.float32)
                    for n, c in self.control.items()
                }
            on_round(record, arrays)
            if arrays is not None:
                self.news = merged_news(record)
            return arrays, metrics

    Guarded.__name__ = Guarded.__qualname__ = f"Guarded{base.__name__}"
    return Guarded(**options)
