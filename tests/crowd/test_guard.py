"""The guard in front of Flower's strategies: malformed updates are left out, never merged."""

from __future__ import annotations

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict

from atrap_studio.crowd.array_digests import DIGESTS_KEY, array_digests
from atrap_studio.crowd.guard import STRATEGIES, guarded, update_problem
from atrap_studio.crowd.status import RoundRecord

SHAPES = {"0.weight": (2, 3), "0.bias": (2,)}


pytestmark = pytest.mark.usefixtures("in_a_flower_task")


def _arrays(value: float) -> dict[str, np.ndarray]:
    return {name: np.full(shape, value, np.float32) for name, shape in SHAPES.items()}


def _reply(
    node: int,
    arrays: dict[str, np.ndarray | Array],
    examples: object = 10,
    sent: dict[str, np.ndarray] | None = None,
) -> Message:
    """A reply as our ClientApp sends it, with the digests of ``sent`` (by default, of the
    arrays it holds; None where a peer sent none)."""
    if sent is None:
        sent = {k: v for k, v in arrays.items() if isinstance(v, np.ndarray)}
    about: dict[str, object] = {"variant": f"region {node}", "region": 0, "regions": 1}
    if sent:
        about[DIGESTS_KEY] = array_digests(sent)
    instruction = Message(
        RecordDict({"config": ConfigRecord()}), dst_node_id=node, message_type="train"
    )
    content = RecordDict(
        {
            "arrays": ArrayRecord(
                {k: v if isinstance(v, Array) else Array(v) for k, v in arrays.items()}
            ),
            "metrics": MetricRecord(
                {"num-examples": examples, "train-loss": 0.1, "local-median": 5.0}  # type: ignore[dict-item]
            ),
            "peer": ConfigRecord(about),  # type: ignore[arg-type]
        }
    )
    return Message(content, reply_to=instruction)


def _odd(node: int) -> Message:
    """A reply whose records are not what our ClientApp sends."""
    instruction = Message(
        RecordDict({"config": ConfigRecord()}), dst_node_id=node, message_type="train"
    )
    content = RecordDict(
        {
            "weights": ArrayRecord({k: Array(v) for k, v in _arrays(1.0).items()}),
            "metrics": MetricRecord({"num-examples": 10}),
        }
    )
    return Message(content, reply_to=instruction)


def test_update_problem_names_what_is_wrong() -> None:
    assert update_problem(_arrays(1.0), SHAPES) is None
    wrong = _arrays(1.0) | {"0.weight": np.zeros((5, 5), np.float32)}
    assert update_problem(wrong, SHAPES) == "0.weight has shape [5, 5], expected [2, 3]"
    nan = _arrays(1.0)
    nan["0.bias"][1] = np.nan
    assert update_problem(nan, SHAPES) == "0.bias holds NaN or infinite values"
    assert "missing ['0.bias']" in str(update_problem({"0.weight": nan["0.weight"]}, SHAPES))
    double = {k: v.astype(np.float64) for k, v in _arrays(1.0).items()}
    assert "float64, expected float32" in str(update_problem(double, SHAPES))


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_bad_peers_are_left_out_and_the_round_goes_on(name: str) -> None:
    rounds: list[RoundRecord] = []
    strategy = guarded(
        STRATEGIES[name],
        SHAPES,
        lambda record, arrays: rounds.append(record),
        max_weight=1000,
        fraction_evaluate=0.0,
    )
    strategy.sampled = [str(n) for n in range(2, 13)]  # set by configure_train
    nan = _arrays(2.0)
    nan["0.weight"][0, 0] = np.nan
    flipped = _arrays(1.0)
    flipped["0.weight"].view(np.uint32)[1, 2] ^= 1 << 3
    whole = Array(_arrays(1.0)["0.bias"])
    cut = Array(dtype=whole.dtype, shape=whole.shape, stype=whole.stype, data=whole.data[:-3])
    replies = [
        _reply(2, _arrays(1.0)),
        _reply(3, _arrays(2.0)),
        _reply(4, _arrays(3.0)),
        _reply(5, nan),
        _reply(6, _arrays(1.0) | {"0.weight": np.zeros((5, 5), np.float32)}),
        _reply(7, _arrays(1.0), examples=-1),
        _reply(8, _arrays(1.0), examples=10**9),
        _odd(9),
        _reply(10, _arrays(1.0) | {"0.bias": cut}),  # cut short on its way
        _reply(11, flipped, sent=_arrays(1.0)),  # one bit changed on its way, still finite
        _reply(12, _arrays(1.0), sent={}),  # no digests
    ]
    arrays, _ = strategy.aggregate_train(1, replies)
    assert arrays is not None
    merged = arrays.to_numpy_ndarrays()
    assert all(np.isfinite(a).all() for a in merged)
    if name == "krum":  # Krum picks one of the good updates
        assert float(merged[0].flat[0]) in (1.0, 2.0, 3.0)
    else:  # the mean, median and trimmed mean of 1, 2 and 3
        np.testing.assert_allclose(merged[0], 2.0)
    record = rounds[0]
    assert sorted(record.peers) == ["2", "3", "4"] and record.peers["2"] == "region 2"
    assert record.dropped["5"] == "0.weight holds NaN or infinite values"
    assert record.dropped["6"] == "0.weight has shape [5, 5], expected [2, 3]"
    assert "num-examples" in record.dropped["7"]
    assert "more than a round allows" in record.dropped["8"]
    assert "expected 'arrays', 'metrics'" in record.dropped["9"]
    assert record.dropped["10"].startswith("0.bias cannot be read: EOF")
    assert record.dropped["11"] == (
        "0.weight does not match the digest sent with it (damaged on the way)"
    )
    assert record.dropped["12"] == "it came without the digests of its arrays"


def test_a_round_where_nobody_answers_keeps_the_network() -> None:
    rounds: list[RoundRecord] = []
    strategy = guarded(STRATEGIES["fedavg"], SHAPES, lambda r, a: rounds.append(r))
    strategy.sampled = ["2", "3"]
    arrays, _ = strategy.aggregate_train(4, [])
    assert arrays is None and rounds[0].missing == ["2", "3"]


def test_the_distilling_aggregator_moves_the_merge_towards_each_region(
    small_doc: object, tmp_path: object
) -> None:
    from pathlib import Path

    import torch

    from atrap_studio.core.yaml_io import save_graph
    from atrap_studio.crowd.app_check import RUN_CONFIG
    from atrap_studio.crowd.apps import _distiller, with_region
    from atrap_studio.nodes import builtin_registry
    from atrap_studio.runtime.pipeline import Pipeline
    from atrap_studio.runtime.runner import Runner

    graph = Path(str(tmp_path)) / "g.yaml"
    save_graph(small_doc, graph)  # type: ignore[arg-type]
    registry = builtin_registry()
    world = Pipeline(small_doc, registry)  # type: ignore[arg-type]
    updates = []
    for region in range(2):
        peer = Pipeline(with_region(small_doc, region, 2), registry)  # type: ignore[arg-type]
        peer.network.load_state_dict(world.network.state_dict())
        Runner(peer).run(20)
        about = {"region": region, "regions": 2, "variant": f"region {region + 1} of 2"}
        updates.append((about, peer.network.state_dict()))
    mean = {k: (updates[0][1][k] + updates[1][1][k]) / 2 for k in updates[0][1]}
    settings = RUN_CONFIG | {"distill-steps": 30, "distill-batch": 128, "distill-lr": 1e-3}
    refine = _distiller(world, graph, settings)
    refined = refine(ArrayRecord(mean), updates).to_torch_state_dict()
    assert set(refined) == set(mean)
    assert any(not torch.equal(refined[k], mean[k]) for k in mean)

    def gap(state: dict[str, torch.Tensor]) -> float:
        """Median tip distance between this network's answers and each peer's, on its region."""
        world.network.load_state_dict(state)
        total = 0.0
        for region, (_, teacher_state) in enumerate(updates):
            teacher = Pipeline(with_region(small_doc, region, 2), registry)  # type: ignore[arg-type]
            teacher.network.load_state_dict(teacher_state)
            with torch.no_grad():
                own = teacher.evaluate(teacher.network, 256, 5).outcome["error_mm"]
                ours = teacher.evaluate(world.network, 256, 5).outcome["error_mm"]
            total += float((ours - own).abs().median())
        return total

    assert gap(refined) < gap(mean)


def test_the_distilling_aggregator_learns_at_the_graphs_rate_unless_told(
    small_doc: object,
) -> None:
    """At the crowd's default (0) the aggregator distils at the rate the graph trains at; a run
    setting above 0 overrides it."""
    from atrap_studio.crowd.app_check import RUN_CONFIG
    from atrap_studio.crowd.apps import distill_rate
    from atrap_studio.nodes import builtin_registry
    from atrap_studio.runtime.pipeline import Pipeline

    teach = next(n for n in small_doc.nodes if n.type == "trainer.direct")  # type: ignore[attr-defined]
    teach.props["lr"] = 0.015
    world = Pipeline(small_doc, builtin_registry())  # type: ignore[arg-type]
    assert RUN_CONFIG["distill-lr"] == 0
    assert distill_rate(world, RUN_CONFIG) == 0.015
    assert distill_rate(world, RUN_CONFIG | {"distill-lr": 1e-3}) == 1e-3


def test_a_peer_refuses_a_merged_network_damaged_on_its_way() -> None:
    from atrap_studio.core.errors import AtrapError
    from atrap_studio.crowd.apps import _received

    def told(arrays: dict[str, np.ndarray], sent: dict[str, np.ndarray]) -> Message:
        config = ConfigRecord({"server-round": 2, DIGESTS_KEY: array_digests(sent)})
        record = ArrayRecord({k: Array(v) for k, v in arrays.items()})
        return Message(RecordDict({"arrays": record, "config": config}), dst_node_id=2,
                       message_type="train")  # fmt: skip

    whole = told(_arrays(1.0), _arrays(1.0))
    assert sorted(_received(whole)) == sorted(SHAPES)
    flipped = _arrays(1.0)
    flipped["0.bias"].view(np.uint32)[0] ^= 1
    with pytest.raises(AtrapError, match=r"refused: 0.bias does not match the digest"):
        _received(told(flipped, _arrays(1.0)))
