"""The SAC trainer: it learns, acts as its network says, refuses what it cannot serve and
resumes exactly from a real checkpoint file, replay buffer included."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import RunError
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.runtime.checkpoint import load_checkpoint, restore, save_checkpoint
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.trainers.sac import SACTrainer, squashed_sample


def _tiny_doc(**trainer: Any) -> GraphDocument:
    """The one-move arm example on 3 joints and 64 arms, trained by SAC."""
    doc = load_graph(example_path("robot_arm_reach_ppo"))
    for node in doc.nodes:
        if node.type == "scene.robot_arm":
            node.props.update(joints=3, instances=64)
        elif node.type == "nn.factory":
            node.props.update(hidden=[32, 32], normalize_inputs=True)
        elif node.type == "trainer.ppo":
            node.type = "trainer.sac"
            node.props = {"steps": 200, "batch_size": 128, "explore_steps": 5, **trainer}
    return doc


def _run(pipeline: Pipeline, steps: int, start: int = 0) -> list[dict[str, float]]:
    trainer = pipeline.trainer
    trainer.plan(trainer.budget.steps)
    return [{k: float(v) for k, v in trainer.step(s).items()} for s in range(start, start + steps)]


def test_learns_to_reach_a_tiny_arm(registry: Registry) -> None:
    doc = _tiny_doc(updates=4, lr=3e-3, critic_lr=3e-3, batch_size=256)
    pipeline = Pipeline(doc, registry, seed=1)
    before = pipeline.evaluate(pipeline.trainer.policy, 512, seed=3).summary()
    metrics = _run(pipeline, 150)
    after = pipeline.evaluate(pipeline.trainer.policy, 512, seed=3).summary()
    # measured: 763 mm -> 448 mm
    assert after["median_error_mm"] < 0.7 * before["median_error_mm"]
    last = metrics[-1]
    assert all(math.isfinite(v) for m in metrics for v in m.values())
    assert {"loss/value", "loss/policy", "policy/alpha", "policy/entropy", "value/q"} <= set(last)
    assert last["policy/alpha"] != 0.2  # the entropy weight tuned itself
    assert "loss/total" not in metrics[0]  # no update before the buffer holds a batch


def test_the_greedy_action_is_the_networks_output(registry: Registry) -> None:
    pipeline = Pipeline(_tiny_doc(), registry)
    trainer = pipeline.trainer
    assert isinstance(trainer, SACTrainer)
    obs = torch.randn(16, pipeline.architecture.inputs)
    centre = trainer.centre(obs)
    torch.testing.assert_close(torch.tanh(centre), pipeline.network(obs))
    # the squashed log-probability is the Gaussian's, corrected by the tanh's slope
    noise = torch.randn(centre.shape)
    log_std = torch.full((3,), math.log(0.4))
    action, log_prob = squashed_sample(centre, log_std, noise)
    raw = centre + 0.4 * noise
    expected = torch.distributions.Normal(centre, 0.4).log_prob(raw).sum(-1)
    expected -= torch.log(1 - torch.tanh(raw).square()).sum(-1)
    torch.testing.assert_close(action, torch.tanh(raw))
    torch.testing.assert_close(log_prob, expected, atol=1e-4, rtol=1e-4)


def test_resumes_exactly_from_a_checkpoint_file(registry: Registry, tmp_path: Path) -> None:
    first = Pipeline(_tiny_doc(buffer_size=500), registry)  # the ring wraps within the run
    _run(first, 10)
    path = tmp_path / "ckpt.atrapckpt"
    save_checkpoint(path, first, step=10, env_steps=640, elapsed_s=1.0)
    second = Pipeline(_tiny_doc(buffer_size=500), registry)
    restore(second, load_checkpoint(path))
    assert second.trainer.buffer.size == 500  # type: ignore[attr-defined]
    continued = [_run(p, 3, start=10) for p in (first, second)]
    assert continued[0] == continued[1]
    assert _state(first).keys() == _state(second).keys()
    for key, value in _state(first).items():
        assert torch.equal(value, _state(second)[key]), key


def _state(pipeline: Pipeline) -> dict[str, torch.Tensor]:
    """The network's and every trainer module's weights and buffers, by name."""
    modules = {"network": pipeline.network, **pipeline.trainer.modules()}
    return {f"{m}/{k}": v for m, module in modules.items() for k, v in module.state_dict().items()}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"output": "linear"}, "set the output of the network 'brain' to tanh"),
    ],
)
def test_refuses_a_network_it_cannot_squash(
    registry: Registry, change: dict[str, str], words: str
) -> None:
    doc = _tiny_doc()
    doc.node("brain").props.update(change)  # type: ignore[union-attr]
    with pytest.raises(RunError, match=words) as caught:
        Pipeline(doc, registry)
    assert caught.value.node == "teach"


def test_refuses_discrete_actions(registry: Registry) -> None:
    doc = load_graph(example_path("cartpole_ppo"))
    teach = next(n for n in doc.nodes if n.type == "trainer.ppo")
    teach.type, teach.props = "trainer.sac", {}
    brain = next(n for n in doc.nodes if n.type == "nn.factory")
    brain.props["output"] = "tanh"
    with pytest.raises(RunError, match="one of n options: use the PPO trainer") as caught:
        Pipeline(doc, registry)
    assert caught.value.node == teach.id
