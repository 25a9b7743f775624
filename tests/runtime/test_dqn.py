"""The DQN trainer: it learns, its greedy choice is the network's highest output, it refuses
what it cannot serve, repeats from a seed and resumes exactly from a real checkpoint file,
replay buffer and target copy included."""

from __future__ import annotations

import json
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
from atrap_studio.runtime.trainers.dqn import DQNTrainer


def _tiny_doc(**trainer: Any) -> GraphDocument:
    """The CartPole DQN example on 8 copies with a small network and short schedules."""
    doc = load_graph(example_path("cartpole_dqn"))
    for node in doc.nodes:
        if node.type == "scene.gymnasium":
            node.props["instances"] = 8
        elif node.type == "nn.factory":
            node.props["hidden"] = [32, 32]
        elif node.type == "trainer.dqn":
            node.props.update(
                {"steps": 400, "batch_size": 32, "explore_steps": 20, "eval_every": 100}
            )
            node.props.update(trainer)
    return doc


def _run(pipeline: Pipeline, steps: int, start: int = 0) -> list[dict[str, float]]:
    trainer = pipeline.trainer
    trainer.plan(trainer.budget.steps)
    return [{k: float(v) for k, v in trainer.step(s).items()} for s in range(start, start + steps)]


def test_learns_to_balance_clearly_better_than_random(registry: Registry) -> None:
    pipeline = Pipeline(_tiny_doc(), registry, seed=1)
    before = pipeline.evaluate(pipeline.trainer.policy, 64, seed=3).summary()
    metrics = _run(pipeline, 400)
    after = pipeline.evaluate(pipeline.trainer.policy, 64, seed=3).summary()
    # measured: median return 9 -> 136 (uniformly random choices: about 22)
    assert before["median_return"] < 30
    assert after["median_return"] > 70
    assert all(math.isfinite(v) for m in metrics for v in m.values())
    last = metrics[-1]
    assert {"loss/total", "loss/value", "value/q", "explore/random_share", "lr"} <= set(last)
    assert last["explore/random_share"] == pytest.approx(0.04)
    assert last["value/q"] > 5  # the values learnt that the pole stays up for a while


def test_the_greedy_choice_is_the_highest_output(registry: Registry) -> None:
    pipeline = Pipeline(_tiny_doc(), registry)
    trainer = pipeline.trainer
    assert isinstance(trainer, DQNTrainer)
    obs = torch.randn(64, pipeline.architecture.inputs)
    torch.testing.assert_close(trainer.policy(obs), pipeline.network(obs))
    greedy = trainer.choose(obs, share=0.0)
    assert torch.equal(greedy, pipeline.network(obs).argmax(-1))
    # with every choice random, both options come up and most differ from nothing
    random = trainer.choose(obs, share=1.0)
    assert set(random.tolist()) == {0, 1}


def test_resumes_exactly_from_a_checkpoint_file(registry: Registry, tmp_path: Path) -> None:
    """A gymnasium environment's own state cannot be saved (a resumed run starts fresh
    episodes), so the trainer's state is compared at once, then learning from the restored
    buffer, then two runs resumed from the same file."""
    # the ring wraps within the run, and the target copy is replaced during it
    doc = _tiny_doc(buffer_size=100, target_every=7, updates=2)
    first = Pipeline(doc, registry)
    _run(first, 20)
    path = tmp_path / "ckpt.atrapckpt"
    save_checkpoint(path, first, step=20, env_steps=160, elapsed_s=1.0)
    second, third, fourth = (Pipeline(doc, registry) for _ in range(3))
    for pipeline in (second, third, fourth):
        restore(pipeline, load_checkpoint(path))
    assert second.trainer.buffer.size == 100  # type: ignore[attr-defined]
    saved, saved_meta = first.trainer.state_tensors()
    loaded, loaded_meta = second.trainer.state_tensors()
    assert saved.keys() == loaded.keys()
    assert json.dumps(saved_meta) == json.dumps(loaded_meta)  # a file keeps tuples as lists
    for key, value in saved.items():
        assert torch.equal(value, loaded[key]), key
    losses = [_learn(p.trainer, 5) for p in (first, second)]  # type: ignore[arg-type]
    assert losses[0] == losses[1]
    continued = [_run(p, 10, start=20) for p in (third, fourth)]
    assert continued[0] == continued[1]
    assert _state(first).keys() == _state(third).keys() == _state(fourth).keys()
    for key, value in _state(third).items():
        assert torch.equal(value, _state(fourth)[key]), key


def _learn(trainer: DQNTrainer, updates: int) -> list[list[float]]:
    """Gradient steps on minibatches drawn from the replay buffer alone (no scene steps)."""
    return [
        trainer._update(trainer.buffer.sample(trainer.batch_size, trainer.generator)).tolist()
        for _ in range(updates)
    ]


def test_the_same_seed_repeats_and_another_differs(registry: Registry) -> None:
    runs = [_run(Pipeline(_tiny_doc(), registry, seed=seed), 30) for seed in (4, 4, 5)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def _state(pipeline: Pipeline) -> dict[str, torch.Tensor]:
    """The network's and every trainer module's weights and buffers, by name."""
    modules = {"network": pipeline.network, **pipeline.trainer.modules()}
    return {f"{m}/{k}": v for m, module in modules.items() for k, v in module.state_dict().items()}


def test_refuses_continuous_actions(registry: Registry) -> None:
    doc = load_graph(example_path("pendulum_sac"))
    teach = next(n for n in doc.nodes if n.type == "trainer.sac")
    teach.type, teach.props = "trainer.dqn", {}
    brain = next(n for n in doc.nodes if n.type == "nn.factory")
    brain.props["output"] = "linear"
    with pytest.raises(RunError, match="the scene's action is continuous values") as caught:
        Pipeline(doc, registry)
    assert caught.value.node == teach.id


def test_refuses_a_squashed_output(registry: Registry) -> None:
    doc = _tiny_doc()
    doc.node("brain").props["output"] = "tanh"  # type: ignore[union-attr]
    with pytest.raises(RunError, match="set the output of the network 'brain' to linear") as caught:
        Pipeline(doc, registry)
    assert caught.value.node == "teach"
