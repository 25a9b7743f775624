"""Against client drift: FedProx's pull and SCAFFOLD's control variates change what a peer
computes, travel with the crowd's messages and are checked like the network; the in-process
simulation runs a round as the apps do. Tiny sizes, no Flower processes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, RecordDict

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.yaml_io import load_graph, save_graph
from atrap_studio.crowd.app_check import RUN_CONFIG
from atrap_studio.crowd.apps import client_app, train, train_locally, with_region
from atrap_studio.crowd.array_digests import DIGESTS_KEY, array_digests
from atrap_studio.crowd.drift import (
    CONTROL_DIGESTS_KEY,
    CONTROL_KEY,
    STATE_KEY,
    LocalTerms,
    parameter_shapes,
)
from atrap_studio.crowd.guard import STRATEGIES, guarded, reply_problem
from atrap_studio.crowd.simulation import simulate_crowd
from atrap_studio.nodes import builtin_registry
from atrap_studio.runtime.netfile import load_network
from atrap_studio.runtime.pipeline import Pipeline

pytestmark = pytest.mark.usefixtures("in_a_flower_task")


def _region(doc: GraphDocument) -> Pipeline:
    return Pipeline(with_region(doc, 0, 2), builtin_registry(), seed=3)


def _moved(doc: GraphDocument, terms: LocalTerms, control: object = None) -> float:
    """How far 20 local updates move the network from where they started."""
    pipeline = _region(doc)
    start = {n: p.detach().clone() for n, p in pipeline.network.named_parameters()}
    pipeline.trainer.plan(20)
    losses, _ = train_locally(pipeline, 0, 20, terms, control)  # type: ignore[arg-type]
    assert len(losses) == 20
    return sum(
        float(((p.detach() - start[n]) ** 2).sum()) for n, p in pipeline.network.named_parameters()
    )


def test_fedprox_keeps_a_peer_near_the_network_it_was_sent(small_doc: GraphDocument) -> None:
    plain = _moved(small_doc, LocalTerms())
    assert _moved(small_doc, LocalTerms()) == plain  # deterministic: the gap is the term's
    assert _moved(small_doc, LocalTerms(prox_mu=0.1)) < plain
    assert _moved(small_doc, LocalTerms(prox_mu=10.0)) < _moved(small_doc, LocalTerms(0.1))


def test_scaffold_steers_every_step(small_doc: GraphDocument) -> None:
    network = _region(small_doc).network
    zero = {n: torch.zeros_like(p) for n, p in network.named_parameters()}
    push = {n: torch.full_like(p, 0.05) for n, p in network.named_parameters()}
    plain = _moved(small_doc, LocalTerms(scaffold=True), (zero, zero))
    assert _moved(small_doc, LocalTerms(), None) == plain  # c = c_i: nothing changes
    assert _moved(small_doc, LocalTerms(scaffold=True), (push, zero)) != plain


def test_bad_local_terms_are_refused() -> None:
    with pytest.raises(ValueError, match=r"prox-mu is -1\.0"):
        LocalTerms.from_settings({"prox-mu": -1.0})
    assert LocalTerms.from_settings(RUN_CONFIG) == LocalTerms(
        float(RUN_CONFIG["prox-mu"]), bool(RUN_CONFIG["scaffold"])
    )


def _arrays(state: dict[str, torch.Tensor]) -> ArrayRecord:
    return ArrayRecord({k: Array(v.detach().numpy().copy()) for k, v in state.items()})


def _work(state: dict[str, torch.Tensor], round_: int, control: dict[str, np.ndarray]) -> Message:
    """A training message as the guarded strategy sends it, with SCAFFOLD's control variate."""
    arrays = _arrays(state)
    config = ConfigRecord(
        {
            "server-round": round_,
            DIGESTS_KEY: array_digests({k: a.numpy() for k, a in arrays.items()}),
            CONTROL_DIGESTS_KEY: array_digests(control),
        }
    )
    content = RecordDict(
        {
            "arrays": arrays,
            "config": config,
            CONTROL_KEY: ArrayRecord({k: Array(v) for k, v in control.items()}),
        }
    )
    message = Message(content, dst_node_id=5, message_type="train")
    message.metadata.__dict__["_message_id"] = f"work-{round_}"
    return message


def test_scaffold_control_variates_travel_and_are_kept_between_rounds(
    small_doc: GraphDocument, tmp_path: Path
) -> None:
    graph = tmp_path / "peer.yaml"
    save_graph(small_doc, graph)
    settings = RUN_CONFIG | {"num-rounds": 2, "local-steps": 4, "scaffold": 1}
    node = {"graph": str(graph), "region": 0, "regions": 2, "threads": 1}
    context = Context(1, 5, node, RecordDict(), settings)
    server = Pipeline(load_graph(graph), builtin_registry(), seed=0)
    shapes = parameter_shapes(server.network)
    expected = {k: tuple(t.shape) for k, t in server.network.state_dict().items()}
    rounds: list[object] = []
    strategy = guarded(
        STRATEGIES["fedavg"], expected, lambda r, a: rounds.append(r), control=shapes
    )
    strategy.sampled = ["5"]
    assert strategy.control is not None
    assert all(not c.any() for c in strategy.control.values())  # c starts at zero

    first = train(_work(server.network.state_dict(), 1, strategy.control), context)
    kept = context.state.array_records[STATE_KEY].to_torch_state_dict()
    change = {k: a.numpy() for k, a in first.content.array_records[CONTROL_KEY].items()}
    assert set(kept) == set(shapes) and any(bool(v.abs().sum()) for v in kept.values())
    for name in shapes:  # c_i was zero: its change is the new c_i, the round's mean gradient
        np.testing.assert_allclose(change[name], kept[name].numpy())
    assert reply_problem(first, expected, control=shapes) is None
    arrays, _ = strategy.aggregate_train(1, [first])
    assert arrays is not None and CONTROL_KEY not in first.content  # FedAvg saw one record
    for name in shapes:  # one peer: c moves by its change
        np.testing.assert_allclose(strategy.control[name], change[name], rtol=1e-6)

    second = train(_work(arrays.to_torch_state_dict(), 2, strategy.control), context)
    again = context.state.array_records[STATE_KEY].to_torch_state_dict()
    assert any(not torch.equal(again[n], kept[n]) for n in shapes)  # c_i is the new round's
    step = {k: a.numpy() for k, a in second.content.array_records[CONTROL_KEY].items()}
    for name in shapes:
        np.testing.assert_allclose(step[name], (again[name] - kept[name]).numpy(), atol=1e-6)


def test_the_guard_wants_a_sound_control_variate_when_scaffold_is_on(
    small_doc: GraphDocument, tmp_path: Path
) -> None:
    graph = tmp_path / "peer.yaml"
    save_graph(small_doc, graph)
    settings = RUN_CONFIG | {"num-rounds": 1, "local-steps": 2, "scaffold": 1}
    context = Context(1, 5, {"graph": str(graph), "threads": 1}, RecordDict(), settings)
    server = Pipeline(load_graph(graph), builtin_registry(), seed=0)
    shapes = parameter_shapes(server.network)
    expected = {k: tuple(t.shape) for k, t in server.network.state_dict().items()}
    zero = {n: np.zeros(s, np.float32) for n, s in shapes.items()}
    reply = train(_work(server.network.state_dict(), 1, zero), context)
    assert reply_problem(reply, expected) is not None  # a crowd without SCAFFOLD: one record
    name = next(iter(shapes))
    broken = reply.content.array_records[CONTROL_KEY][name].numpy().copy()
    broken.flat[0] = np.nan
    reply.content.array_records[CONTROL_KEY][name] = Array(broken)
    assert reply_problem(reply, expected, control=shapes) == (
        f"its control variate: {name} holds NaN or infinite values"
    )
    del reply.content[CONTROL_KEY]
    assert "expected 'arrays', 'control'" in str(reply_problem(reply, expected, control=shapes))


def test_a_simulated_round_is_the_client_apps_round(
    small_doc: GraphDocument, tmp_path: Path
) -> None:
    """The simulation hands each peer's work to the same function Flower's ClientApp runs,
    and merges as the ServerApp does: one round of two peers, redone through Flower's
    ClientApp object and averaged by hand, gives the same network."""
    graph = tmp_path / "peer.yaml"
    save_graph(small_doc, graph)
    settings = {"local-steps": 3, "eval-episodes": 16, "prox-mu": 0.05, "distill-steps": 0}
    status = simulate_crowd(graph, tmp_path / "sim", peers=2, rounds=1, settings=settings)
    assert status.state == "finished" and len(status.rounds) == 1
    assert len(status.rounds[0].peers) == 2
    merged = load_network(tmp_path / "sim" / "round-001.atrapnet").module.state_dict()

    run_config = RUN_CONFIG | settings | {"num-rounds": 1, "graph-file": str(graph)}
    start = Pipeline(with_region(load_graph(graph), 0, 1), builtin_registry(), seed=0)
    updates = []
    for region in range(2):
        node = {"graph": str(graph.resolve()), "region": region, "regions": 2, "threads": 1}
        context = Context(1, 101 + region, node, RecordDict(), run_config)
        arrays = _arrays(start.network.state_dict())
        config = {"server-round": 1, DIGESTS_KEY: array_digests(
            {k: a.numpy() for k, a in arrays.items()})}  # fmt: skip
        work = Message(
            RecordDict({"arrays": arrays, "config": ConfigRecord(config)}),  # type: ignore[arg-type]
            dst_node_id=101 + region,
            message_type="train",
        )
        work.metadata.__dict__["_message_id"] = f"work-{region}"
        reply = client_app(work, context)  # what Flower's ClientApp process calls
        updates.append(reply.content.array_records["arrays"].to_torch_state_dict())
    for name, value in merged.items():
        mean = (updates[0][name] + updates[1][name]) / 2
        torch.testing.assert_close(value, mean, rtol=1e-5, atol=1e-6)
