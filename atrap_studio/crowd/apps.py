"""Flower's ServerApp and ClientApp for ATRAP graphs.

The ClientApp runs on each peer (a SuperNode): it rebuilds the peer's own graph — its region of
the world — loads the crowd's network, trains it for a few updates and sends it back. The
ServerApp runs beside the aggregator (the SuperLink): it starts from the graph's freshly built
network, lets a shipped strategy merge the updates that pass the guard, scores the merged
network on the whole world after every round and saves it as an ``.atrapnet``.
"""

from __future__ import annotations

import copy
import errno
import math
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from logging import INFO, WARNING
from pathlib import Path
from typing import Any

import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.common import log
from flwr.serverapp import Grid, ServerApp

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import AtrapError, RunError
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.crowd.array_digests import DIGESTS_KEY, array_digests, digest_problem
from atrap_studio.crowd.drift import (
    CONTROL_DIGESTS_KEY,
    CONTROL_KEY,
    STATE_KEY,
    CorrectedGradients,
    LocalTerms,
    parameter_shapes,
    zero_control,
)
from atrap_studio.crowd.guard import STRATEGIES, Update, guarded, update_problem
from atrap_studio.crowd.status import CrowdStatus, RoundRecord, read_status
from atrap_studio.nodes import builtin_registry
from atrap_studio.runtime.context import derive_seed
from atrap_studio.runtime.merge import scene_pipeline, teach, trained_rate
from atrap_studio.runtime.netfile import save_network
from atrap_studio.runtime.pipeline import Pipeline

#: What a peer agrees to do for an aggregator it joined (it runs on someone else's PC).
MAX_LOCAL_STEPS = 100_000
MAX_ROUNDS = 100_000

client_app = ClientApp()
server_app = ServerApp()


def with_region(doc: GraphDocument, region: int, regions: int) -> GraphDocument:
    """``doc`` with its robot arm (if any) training on region ``region`` of ``regions``."""
    changed = doc.model_copy(deep=True)
    for node in changed.nodes:
        if node.type == "scene.robot_arm":
            node.props.update(region=region, regions=regions)
    return changed


# -- the peer --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Peer:
    """A peer's own set-up, from its SuperNode's node config."""

    graph: Path
    region: int
    regions: int
    threads: int
    received: Path | None = None  # where it keeps the merged networks it is sent

    @classmethod
    def from_node_config(cls, config: Any) -> Peer:
        graph = str(config.get("graph", ""))
        if not graph:
            raise AtrapError("this peer was started without a graph (node config 'graph')")
        received = str(config.get("received", ""))
        return cls(
            Path(graph),
            int(config.get("region", 0)),
            int(config.get("regions", 1)),
            int(config.get("threads", 1)),
            Path(received) if received else None,
        )

    def pipeline(self, seed: int) -> Pipeline:
        doc = load_graph(self.graph)
        if self.regions > 1:
            doc = with_region(doc, self.region, self.regions)
        return Pipeline(doc, builtin_registry(), seed=seed, source=str(self.graph))


@client_app.train()
def train(message: Message, context: Context) -> Message:
    """Train the crowd's network on this peer's scene for ``local-steps`` updates."""
    peer = Peer.from_node_config(context.node_config)
    torch.set_num_threads(peer.threads)
    settings = context.run_config
    server_round = int(str(message.content.config_records["config"]["server-round"]))
    local_steps = int(settings["local-steps"])
    if not 1 <= local_steps <= MAX_LOCAL_STEPS or int(settings["num-rounds"]) > MAX_ROUNDS:
        raise AtrapError(
            f"the aggregator asks for {local_steps} updates a round over "
            f"{settings['num-rounds']} rounds; this peer does at most {MAX_LOCAL_STEPS:,} "
            f"a round and {MAX_ROUNDS:,} rounds"
        )
    seed = derive_seed(int(settings["seed"]), f"peer/{peer.region}", server_round)
    pipeline = peer.pipeline(seed)
    state = _received(message)
    expected = {name: tuple(t.shape) for name, t in pipeline.network.state_dict().items()}
    problem = update_problem({k: v.numpy() for k, v in state.items()}, expected)
    if problem:
        raise AtrapError(f"the crowd's network does not fit this peer's graph: {problem}")
    pipeline.network.load_state_dict(state)
    _keep_merged(peer, message, context, state, final=False)
    terms = LocalTerms.from_settings(settings)
    control = _control(message, context, pipeline.network) if terms.scaffold else None
    trainer = pipeline.trainer
    trainer.plan(int(settings["num-rounds"]) * local_steps)
    first = (server_round - 1) * local_steps
    losses, gradients = train_locally(pipeline, first, local_steps, terms, control)
    if not all(math.isfinite(loss) for loss in losses):
        raise RunError(f"training diverged on this peer at round {server_round}")
    with torch.no_grad():
        own = pipeline.evaluate(trainer.policy, 256, derive_seed(server_round, "peer-test"))
    region = pipeline.scene.region.label if hasattr(pipeline.scene, "region") else ""
    arrays = ArrayRecord(pipeline.network.state_dict())
    reply = RecordDict(
        {
            "arrays": arrays,
            "metrics": MetricRecord(
                {
                    "num-examples": local_steps * trainer.env_steps_per_update,
                    "train-loss": sum(losses) / len(losses),
                    "local-median": own.summary()[pipeline.outcome.summary_keys()[0]],
                }
            ),
            "peer": ConfigRecord(
                {
                    "variant": region,
                    "region": peer.region,
                    "regions": peer.regions,
                    DIGESTS_KEY: array_digests({k: a.numpy() for k, a in arrays.items()}),
                }
            ),
        }
    )
    if control is not None:
        _control_reply(reply, context, control, gradients)
    return Message(reply, reply_to=message)


def train_locally(
    pipeline: Pipeline,
    first: int,
    steps: int,
    terms: LocalTerms,
    control: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]] | None = None,
) -> tuple[list[float], dict[str, torch.Tensor]]:
    """A peer's round: ``steps`` updates of its trainer from update ``first``, with the local
    terms against drift (``control``: the aggregator's and this peer's SCAFFOLD control
    variates). The losses (stopping at the first that is not finite) and the mean raw
    gradients."""
    correction = {n: control[0][n] - control[1][n] for n in control[0]} if control else None
    trainer, losses = pipeline.trainer, []
    with CorrectedGradients(pipeline.network, mu=terms.prox_mu, correction=correction) as hooks:
        for step in range(first, first + steps):
            loss = float(trainer.step(step).get("loss/total", 0.0))  # none while SAC's fills
            losses.append(loss)
            if not math.isfinite(loss):
                break
    return losses, hooks.mean_gradients()


def _control(
    message: Message, context: Context, network: torch.nn.Module
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """SCAFFOLD's control variates: the aggregator's (checked against its digests) and this
    peer's own, kept in its context's state between rounds (zero at first)."""
    shapes = parameter_shapes(network)
    record = message.content.array_records.get(CONTROL_KEY)
    if record is None:
        raise AtrapError("the aggregator asks for SCAFFOLD but sent no control variate")
    arrays = {name: array.numpy() for name, array in record.items()}
    said = message.content.config_records["config"].get(CONTROL_DIGESTS_KEY)
    problem = update_problem(arrays, shapes) or digest_problem(arrays, said)
    if problem:
        raise AtrapError(f"the crowd's control variate is refused: {problem}")
    kept = context.state.array_records.get(STATE_KEY)
    own = dict(kept.to_torch_state_dict()) if kept is not None else zero_control(network)
    if {n: tuple(t.shape) for n, t in own.items()} != shapes:
        own = zero_control(network)  # another network than last time: start afresh
    return dict(record.to_torch_state_dict()), own


def _control_reply(
    reply: RecordDict,
    context: Context,
    control: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]],
    gradients: dict[str, torch.Tensor],
) -> None:
    """Keep this peer's new control variate (its mean gradient of the round) and send the
    aggregator its change."""
    _, own = control
    context.state[STATE_KEY] = ArrayRecord({n: g.contiguous() for n, g in gradients.items()})
    change = ArrayRecord({n: (gradients[n] - own[n]).contiguous() for n in gradients})
    reply[CONTROL_KEY] = change
    about = reply.config_records["peer"]
    about[CONTROL_DIGESTS_KEY] = array_digests({k: a.numpy() for k, a in change.items()})


@client_app.evaluate()
def receive_final(message: Message, context: Context) -> Message:
    """Keep the crowd's final merged network and its score (the aggregator scores it; a
    peer sends nothing back but that it got it)."""
    peer = Peer.from_node_config(context.node_config)
    state = _received(message)
    kept = _keep_merged(peer, message, context, state, final=True)
    reply = RecordDict({"metrics": MetricRecord({"kept": int(kept)})})
    return Message(reply, reply_to=message)


def _received(message: Message) -> dict[str, Any]:
    """The merged network the aggregator sent, once its digests vouch that it arrived whole."""
    arrays = message.content.array_records["arrays"]
    said = message.content.config_records["config"].get(DIGESTS_KEY)
    problem = digest_problem({name: array.numpy() for name, array in arrays.items()}, said)
    if problem:
        raise AtrapError(f"the crowd's network is refused: {problem}")
    return dict(arrays.to_torch_state_dict())


def _keep_merged(
    peer: Peer, message: Message, context: Context, state: dict[str, Any], *, final: bool
) -> bool:
    """Save the merged network the aggregator sent (and its score) where this peer keeps
    them, for the person at this PC to follow and to use. A failure here is logged and never
    stops the peer's training. Whether it was kept."""
    config = message.content.config_records["config"]
    news = _Told.read(config)
    if peer.received is None or news is None:
        return False
    try:
        doc = load_graph(peer.graph)  # the peer's own graph, whole: what the file's user runs
        pipeline = Pipeline(doc, builtin_registry(), seed=0, source=str(peer.graph))
        pipeline.network.load_state_dict(state)
        rounds = int(context.run_config["num-rounds"])
        record = RoundRecord(
            round=news.round,
            peers=news.peers,
            median=news.median,
            success_rate=news.success,
            seconds=news.seconds,
        )
        score = {pipeline.outcome.summary_keys()[0]: news.median, "success_rate": news.success}
        kept = {key: value for key, value in score.items() if value is not None}
        record.network = str(_save_round(pipeline, peer.received, record, rounds, kept))
        status = read_status(peer.received)
        if status is None or status.run_id != str(context.run_id):
            declared = pipeline.outcome.score
            status = CrowdStatus(
                run_id=str(context.run_id),
                graph=str(peer.graph),
                strategy=news.text(config, "strategy"),
                rounds_planned=rounds,
                score=news.text(config, "score") or declared.name,
                unit=news.text(config, "unit") or declared.unit,
                better=declared.better,
                state="running",
            )
        status.rounds = [r for r in status.rounds if r.round != record.round] + [record]
        if final:
            status.state = "finished"
        status.save(peer.received)
    except (AtrapError, OSError, ValueError, RuntimeError) as exc:
        log(WARNING, "could not keep the merged network of round %s: %s", news.round, exc)
        return False
    log(INFO, "kept the merged network of round %s in %s", news.round, peer.received)
    return True


@dataclass(frozen=True)
class _Told:
    """What the aggregator said about a merged network (see guard.merged_news), checked: it
    comes from another PC and ends up on this one's screen."""

    round: int
    peers: dict[str, str]
    median: float | None
    success: float | None
    seconds: float

    @classmethod
    def read(cls, config: Any) -> _Told | None:
        number = config.get("merged-round")
        if not isinstance(number, int) or not 1 <= number <= MAX_ROUNDS:
            return None
        nodes, variants = config.get("merged-nodes", []), config.get("merged-variants", [])
        if not isinstance(nodes, list) or not isinstance(variants, list):
            nodes, variants = [], []
        pairs = zip(nodes[:64], variants[:64], strict=False)
        peers = {_clean(node, 40): _clean(variant, 200) for node, variant in pairs}
        return cls(
            number,
            peers,
            _number(config.get("merged-median")),
            _number(config.get("merged-success")),
            _number(config.get("merged-seconds")) or 0.0,
        )

    @staticmethod
    def text(config: Any, key: str) -> str:
        return _clean(config.get(key, ""), 100)


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _clean(value: object, length: int) -> str:
    return "".join(c if c.isprintable() else " " for c in str(value))[:length]


# -- the aggregator ----------------------------------------------------------------------------


class FastPollGrid:
    """The Grid with a shorter wait between polls for replies (Flower's own waits 3 s), using
    its public push/pull calls only."""

    def __init__(self, grid: Grid, interval: float) -> None:
        self._grid = grid
        self._interval = interval

    def __getattr__(self, name: str) -> Any:
        return getattr(self._grid, name)

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        pending = set(self._grid.push_messages(messages))
        end = time.monotonic() + (timeout if timeout is not None else math.inf)
        replies: list[Message] = []
        while pending and time.monotonic() < end:
            arrived = list(self._grid.pull_messages(pending))
            replies.extend(arrived)
            pending -= {m.metadata.reply_to_message_id for m in arrived}
            if pending:
                time.sleep(self._interval)
        if pending:
            log(WARNING, "%d peer(s) did not answer within %s s", len(pending), timeout)
        return replies


@server_app.main()
def main(grid: Grid, context: Context) -> None:
    """Run the crowd's rounds; the status and every round's network go to ``out-dir``."""
    # one torch thread, as each peer by default: the distilling aggregator's small networks
    # ran several times slower on two threads of a busy 2-core machine (docs/crowd.md)
    torch.set_num_threads(1)
    settings = context.run_config
    graph = Path(str(settings["graph-file"]))
    out = Path(str(settings["out-dir"]))
    out.mkdir(parents=True, exist_ok=True)
    rounds = int(settings["num-rounds"])
    name = str(settings["strategy"])
    status = CrowdStatus(
        run_id=str(context.run_id),
        graph=str(graph),
        strategy=name,
        rounds_planned=rounds,
        state="running",
    )
    try:
        with _writing(status):
            status.save(out)
        pipeline = Pipeline(
            with_region(load_graph(graph), 0, 1),
            builtin_registry(),
            seed=int(settings["seed"]),
            source=str(graph),
        )
        declared = pipeline.outcome.score
        status.score, status.unit, status.better = declared.name, declared.unit, declared.better
        expected = {k: tuple(t.shape) for k, t in pipeline.network.state_dict().items()}
        started = time.perf_counter()
        episodes = int(settings["eval-episodes"])

        def on_round(record: RoundRecord, arrays: ArrayRecord | None) -> None:
            with _writing(status, record.round):
                if arrays is not None:
                    pipeline.network.load_state_dict(arrays.to_torch_state_dict())
                    with torch.no_grad():
                        score = pipeline.evaluate(pipeline.network, episodes, 7).summary()
                    record.median = score[pipeline.outcome.summary_keys()[0]]
                    record.success_rate = score["success_rate"]
                    record.network = str(_save_round(pipeline, out, record, rounds, score))
                record.seconds = time.perf_counter() - started
                status.rounds.append(record)
                status.save(out)
            if record.median is not None:
                text = pipeline.outcome.score.text(record.median)
                log(INFO, "round %s: merged network %s", record.round, text)

        minimum = int(settings["min-peers"])
        options: dict[str, Any] = {
            "fraction_train": 1.0,
            "fraction_evaluate": 0.0,
            "min_train_nodes": minimum,
            "min_available_nodes": minimum,
        }
        if name == "trimmed":
            options["beta"] = float(settings["trim-beta"])
        if name not in STRATEGIES:
            raise AtrapError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
        refine = _distiller(pipeline, graph, settings) if int(settings["distill-steps"]) else None
        # no peer may claim more scene steps than the crowd's graph makes in a round
        most = pipeline.trainer.env_steps_per_update * int(settings["local-steps"])
        scaffold = LocalTerms.from_settings(settings).scaffold
        strategy = guarded(
            STRATEGIES[name],
            expected,
            on_round,
            refine,
            most,
            last_round=rounds,
            control=parameter_shapes(pipeline.network) if scaffold else None,
            **options,
        )
        about = ConfigRecord({"strategy": name, "score": declared.name, "unit": declared.unit})
        strategy.start(
            grid=FastPollGrid(grid, float(settings["poll-interval"])),  # type: ignore[arg-type]
            initial_arrays=ArrayRecord(pipeline.network.state_dict()),
            num_rounds=rounds,
            timeout=float(settings["round-timeout"]),
            train_config=about,
            evaluate_config=about,
        )
    except Exception as exc:
        message = str(exc) if isinstance(exc, AtrapError) else f"{type(exc).__name__}: {exc}"
        status.state, status.message = "failed", message
        with suppress(OSError):  # on a full disk, Flower's run status carries the message
            status.save(out)
        raise
    status.state = "finished"
    status.save(out)


@contextmanager
def _writing(status: CrowdStatus, round_: int | None = None) -> Iterator[None]:
    """Turn a failed write of the crowd's files (a full disk, a folder gone read-only) into a
    RunError naming the file, the round and the last good merged network, which stays."""
    try:
        yield
    except OSError as exc:
        full = " (the disk is full)" if exc.errno == errno.ENOSPC else ""
        kept = next((r.network for r in reversed(status.rounds) if r.network), "")
        last = f"the last good merged network is {kept}" if kept else "no round was saved yet"
        when = f"round {round_}: " if round_ is not None else ""
        raise RunError(
            f"{when}could not write {exc.filename or 'a crowd file'}: "
            f"{exc.strerror or exc}{full}; {last}"
        ) from None


def distill_rate(pipeline: Pipeline, settings: Any) -> float:
    """The distilling aggregator's rate: the run's ``distill-lr``, or (0) the graph's own."""
    return float(settings["distill-lr"]) or trained_rate(pipeline)


def _distiller(
    pipeline: Pipeline, graph: Path, settings: Any
) -> Callable[[ArrayRecord, list[Update]], ArrayRecord]:
    """The distilling aggregator: the merged network, taught to answer like each peer's
    update on states of that peer's own region (rebuilt from the crowd's graph)."""
    doc = load_graph(graph)
    scenes: dict[tuple[int, int], Pipeline] = {}
    generator = torch.Generator().manual_seed(int(settings["seed"]))

    def refine(arrays: ArrayRecord, updates: list[Update]) -> ArrayRecord:
        teachers = []
        for about, state in updates:
            where = (int(about.get("region", 0)), int(about.get("regions", 1)))
            if where not in scenes:
                scenes[where] = scene_pipeline(
                    with_region(doc, *where), builtin_registry(), str(graph)
                )
            teacher = copy.deepcopy(pipeline.network)
            teacher.load_state_dict(state)
            teachers.append((scenes[where], teacher))
        student = copy.deepcopy(pipeline.network)
        student.load_state_dict(arrays.to_torch_state_dict())
        teach(
            student,
            teachers,
            steps=int(settings["distill-steps"]),
            batch=int(settings["distill-batch"]),
            lr=distill_rate(pipeline, settings),
            generator=generator,
            weights=[1.0 / len(teachers)] * len(teachers),
        )
        return ArrayRecord(student.state_dict())

    return refine


def _save_round(
    pipeline: Pipeline, out: Path, record: RoundRecord, rounds: int, score: dict[str, float]
) -> Path:
    """The merged network of a round, as a network file saying it came from the crowd."""
    manifest = pipeline.manifest(
        {"crowd_round": record.round, "peers": len(record.peers), "evaluation": score}
    )
    variants = sorted({v for v in record.peers.values() if v})
    provenance = manifest.provenance.model_copy(
        update={
            "origin": "crowd",
            "variant": f"crowd round {record.round} of {rounds}: {' + '.join(variants)}"[:500],
        }
    )
    manifest = manifest.model_copy(update={"provenance": provenance})
    path = out / f"round-{record.round:03d}.atrapnet"
    save_network(path, pipeline.network, manifest)
    save_network(out / "network.atrapnet", pipeline.network, manifest)
    return path
