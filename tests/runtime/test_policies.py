"""The policies PPO samples from: the categorical choice among n options, and the Gaussian."""

from __future__ import annotations

import math

import pytest
import torch

from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.trainers.policies import CategoricalPolicy, GaussianPolicy
from tests.conftest import shrink


@pytest.mark.parametrize("share", [0.0, 0.3, 1.0])
def test_categorical_mixture_is_a_distribution_over_the_options(share: float) -> None:
    policy = CategoricalPolicy()
    out = torch.tensor([[2.0, -1.0, 0.5]])
    probs = [math.exp(float(policy.log_prob(out, torch.tensor([k]), share)[0])) for k in range(3)]
    assert sum(probs) == pytest.approx(1.0, abs=1e-6)
    if share == 1.0:
        assert probs == pytest.approx([1 / 3] * 3)


def test_categorical_samples_follow_the_softmax_and_reach_the_action_as_one_hot() -> None:
    policy = CategoricalPolicy()
    out = torch.tensor([[1.0, 0.0]]).repeat(20_000, 1)
    trial = policy.sample(out, 0.0, torch.Generator().manual_seed(0))
    share_first = float((trial.taken == 0).float().mean())
    assert share_first == pytest.approx(math.e / (math.e + 1), abs=0.01)
    assert torch.equal(trial.values.argmax(-1), trial.taken)
    assert set(trial.values.unique().tolist()) == {-1.0, 1.0}
    torch.testing.assert_close(trial.log_prob, policy.log_prob(out, trial.taken, 0.0))


def test_gaussian_entropy_grows_with_its_spread() -> None:
    from atrap_studio.runtime.trainers.policies import LogStd

    narrow, wide = GaussianPolicy(LogStd(2, 0.1)), GaussianPolicy(LogStd(2, 1.0))
    out = torch.zeros(1, 2)
    assert float(wide.entropy(out).detach()) > float(narrow.entropy(out).detach())


def test_ppo_learns_cartpole_by_choosing_among_options(registry: Registry) -> None:
    doc = shrink(
        load_graph(example_path("cartpole_ppo")),
        steps=40,
        horizon=64,
        minibatches=4,
        epochs=4,
        lr=0.003,
        explore_steps=0,
    )
    doc.node("cartpole").props["instances"] = 8  # type: ignore[union-attr]
    doc.node("brain").props["hidden"] = [32, 32]  # type: ignore[union-attr]
    pipeline = Pipeline(doc, registry)
    trainer = pipeline.trainer
    assert trainer.policy_kind.discrete  # type: ignore[attr-defined]
    before = pipeline.evaluate(trainer.policy, 16, seed=2).summary()["median_return"]
    trainer.plan(40)
    for step in range(40):
        metrics = trainer.step(step)
    after = pipeline.evaluate(trainer.policy, 16, seed=2).summary()["median_return"]
    assert after > max(3 * before, 100), (before, after)
    assert "policy/entropy" in metrics and "policy/std" not in metrics
