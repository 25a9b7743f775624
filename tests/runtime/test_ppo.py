"""The PPO trainer: it learns, repeats with a seed, explores soundly and resumes exactly."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.trainers.ppo import (
    PPOTrainer,
    gaussian_log_prob,
    mixture_log_prob,
)

METRIC_KEYS = {
    "loss/total",
    "loss/policy",
    "loss/value",
    "loss/entropy",
    "reward/total",
    "reward/near",
    "explore/random_share",
    "scene/error_mm",
    "scene/success_rate",
    "policy/std",
    "policy/entropy",
    "policy/clip_fraction",
    "policy/approx_kl",
    "policy/passes",
    "value/explained_variance",
    "lr",
    "lr/critic",
}


def _tiny_doc(**trainer: Any) -> GraphDocument:
    """The PPO example shrunk to a 3-joint arm, 256 instances and a 32×32 network."""
    doc = load_graph(example_path("robot_arm_reach_ppo"))
    for node in doc.nodes:
        if node.type == "scene.robot_arm":
            node.props.update(joints=3, instances=256)
        elif node.type == "nn.factory":
            node.props["hidden"] = [32, 32]
        elif node.type == "trainer.ppo":
            node.props.update(steps=30, explore_steps=5)
            node.props.update(trainer)
    return doc


def _pipeline(registry: Registry, seed: int | None = None, **trainer: Any) -> Pipeline:
    return Pipeline(_tiny_doc(**trainer), registry, seed=seed)


def _run(pipeline: Pipeline, steps: int, start: int = 0) -> list[dict[str, float]]:
    trainer = pipeline.trainer
    trainer.plan(trainer.budget.steps)
    return [{k: float(v) for k, v in trainer.step(s).items()} for s in range(start, start + steps)]


def _weights(pipeline: Pipeline) -> dict[str, torch.Tensor]:
    trainer: PPOTrainer = pipeline.trainer
    weights = {f"actor/{k}": v for k, v in pipeline.network.state_dict().items()}
    for name, module in trainer.modules().items():
        weights.update({f"{name}/{k}": v for k, v in module.state_dict().items()})
    return weights


def _assert_same_weights(a: Pipeline, b: Pipeline) -> None:
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key


def _assert_resumes_exactly(first: Pipeline, second: Pipeline) -> dict[str, torch.Tensor]:
    """Move ``first``'s state (after 3 updates) into ``second``; both go on identically.

    Returns the trainer's tensors that travelled.
    """
    tensors, meta = first.trainer.state_tensors()
    second.network.load_state_dict(first.network.state_dict())
    # Copies, as a checkpoint file gives: live optimiser state must not be shared.
    second.trainer.load_state_tensors({k: v.clone() for k, v in tensors.items()}, meta)
    second.scene.load_state_tensors(first.scene.state_tensors())
    continued = [_run(p, 2, start=3) for p in (first, second)]
    assert continued[0] == continued[1]
    _assert_same_weights(first, second)
    return tensors


def test_learns_to_reach_a_tiny_arm(registry: Registry) -> None:
    pipeline = _pipeline(registry, lr=0.01)
    before = pipeline.evaluate(pipeline.trainer.policy, 512, seed=3).summary()
    metrics = _run(pipeline, 30)
    after = pipeline.evaluate(pipeline.trainer.policy, 512, seed=3).summary()
    assert after["median_error_mm"] < 0.6 * before["median_error_mm"]
    assert set(metrics[-1]) == METRIC_KEYS
    assert all(math.isfinite(v) for m in metrics for v in m.values())
    assert metrics[-1]["lr"] < metrics[0]["lr"]  # cosine decay over the planned budget


def test_critic_mirrors_the_actor_and_counts_env_steps(registry: Registry) -> None:
    pipeline = _pipeline(registry, horizon=3)
    trainer = pipeline.trainer
    linears = [m for m in trainer.critic if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(6, 32), (32, 32), (32, 1)]
    assert isinstance(trainer.critic[1], torch.nn.SiLU)  # the example's activation
    assert trainer.env_steps_per_update == 3 * 256
    assert set(trainer.modules()) == {"critic", "log_std"}
    std = trainer.modules()["log_std"].log_std.exp()
    assert torch.allclose(std, torch.full((3,), 0.1))


def test_same_seed_repeats_and_another_seed_differs(registry: Registry) -> None:
    a, b, c = (_pipeline(registry, seed=s) for s in (5, 5, 6))
    runs = [_run(p, 3) for p in (a, b, c)]
    assert runs[0] == runs[1]
    _assert_same_weights(a, b)
    assert runs[0] != runs[2]
    assert not torch.equal(a.network[0].weight, c.network[0].weight)


def test_leaves_the_global_rng_alone(registry: Registry) -> None:
    pipeline = _pipeline(registry)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    _run(pipeline, 2)
    assert torch.equal(torch.get_rng_state(), state)


def test_all_random_exploration_reports_share_and_stays_finite(registry: Registry) -> None:
    pipeline = _pipeline(registry, explore_from=1.0, explore_to=1.0, explore_steps=10**6)
    metrics = _run(pipeline, 2)
    for m in metrics:
        assert m["explore/random_share"] == 1.0
        assert all(math.isfinite(v) for v in m.values())
        assert m["policy/clip_fraction"] == 0.0  # the network has no say in random trials


def test_mixture_log_prob() -> None:
    generator = torch.Generator().manual_seed(0)
    mean = torch.rand(64, 4, generator=generator) * 2 - 1
    log_std = torch.full((4,), math.log(0.3))
    action = mean + 0.3 * torch.randn(64, 4, generator=generator)
    log_pi = gaussian_log_prob(action, mean, log_std)
    expected = torch.distributions.Normal(mean, 0.3).log_prob(action).sum(-1)
    assert torch.allclose(log_pi, expected, atol=1e-5)
    # ε = 0: the policy itself.
    assert torch.equal(mixture_log_prob(log_pi, action, 0.0), log_pi)
    # 0 < ε < 1: log((1-ε) π + ε U), U = 0.5^A inside [-1, 1]^A and 0 outside.
    share = 0.25
    inside = (action.abs() <= 1).all(-1)
    density = (1 - share) * log_pi.exp() + share * 0.5**4 * inside.double()
    mixed = mixture_log_prob(log_pi, action, share)
    assert torch.allclose(mixed.double(), density.log(), atol=1e-5)
    assert bool(inside.any()) and bool((~inside).any())
    # ε = 1: a constant, finite, with a zero (not NaN) gradient.
    wanted = log_pi.clone().requires_grad_(True)
    full = mixture_log_prob(wanted, action.clamp(-1, 1), 1.0)
    assert torch.allclose(full, torch.full_like(full, 4 * math.log(0.5)))
    full.sum().backward()
    assert wanted.grad is not None and torch.equal(wanted.grad, torch.zeros_like(log_pi))
    # A trial far from the mean: finite even when π underflows.
    far = mixture_log_prob(torch.tensor([-1e4]), torch.zeros(1, 4), 0.1)
    assert math.isfinite(float(far))


def test_state_tensors_resume_exactly(registry: Registry) -> None:
    first, second = _pipeline(registry), _pipeline(registry)
    _run(first, 3)
    tensors = _assert_resumes_exactly(first, second)
    assert any(k.startswith("module/critic/") for k in tensors)
    assert "module/log_std/log_std" in tensors and "opt/0/exp_avg" in tensors


@pytest.mark.parametrize("minibatches", [1, 1024])
def test_minibatch_counts_at_the_extremes(registry: Registry, minibatches: int) -> None:
    # 1024 minibatches of a 256-step rollout: one sample each, never an empty minibatch.
    pipeline = _pipeline(registry, horizon=1, minibatches=minibatches, epochs=1)
    metrics = _run(pipeline, 1)
    assert all(math.isfinite(v) for v in metrics[0].values())


def test_target_kl_stops_the_passes_early(registry: Registry) -> None:
    every = _run(_pipeline(registry, epochs=6, lr=0.01), 3)
    stopped = _run(_pipeline(registry, epochs=6, lr=0.01, target_kl=1e-9), 3)
    assert [m["policy/passes"] for m in every] == [6.0, 6.0, 6.0]
    assert [m["policy/passes"] for m in stopped] == [1.0, 1.0, 1.0]
    assert all(m["policy/approx_kl"] >= 0 for m in every)


def test_value_clipping_changes_the_critic_step_and_stays_finite(registry: Registry) -> None:
    plain, clipped = _pipeline(registry, epochs=3), _pipeline(registry, epochs=3, value_clip=True)
    a, b = _run(plain, 4), _run(clipped, 4)
    assert all(math.isfinite(v) for m in b for v in m.values())
    assert a[-1]["loss/value"] != b[-1]["loss/value"]
    assert -1.0 <= b[-1]["value/explained_variance"] <= 1.0


def test_learned_input_statistics_follow_the_rollouts_and_resume_exactly(
    registry: Registry,
) -> None:
    from atrap_studio.runtime.networks import Normalize

    def normalized() -> Pipeline:
        doc = _tiny_doc()
        doc.node("brain").props["normalize_inputs"] = True  # type: ignore[union-attr]
        return Pipeline(doc, registry)

    first, second = normalized(), normalized()
    actor, critic = first.network[0], first.trainer.critic[0]  # type: ignore[index,attr-defined]
    assert isinstance(actor, Normalize) and isinstance(critic, Normalize)
    _run(first, 3)
    samples = 3 * first.trainer.horizon * 256  # type: ignore[attr-defined]
    assert float(actor.count[0]) == samples and float(critic.count[0]) == samples
    torch.testing.assert_close(actor.mean, critic.mean)
    # the statistics travel with the weights and the trainer's modules: resuming is exact
    _assert_resumes_exactly(first, second)


def test_reward_scaling_keeps_the_critics_targets_steady_and_resumes_exactly(
    registry: Registry,
) -> None:
    big = _tiny_doc(scale_rewards=True)
    big.node("near").props["weight"] = 1000.0  # type: ignore[union-attr]
    first, second = Pipeline(big, registry), Pipeline(big, registry)
    metrics = _run(first, 3)
    assert all(math.isfinite(v) for m in metrics for v in m.values())
    assert metrics[-1]["reward/total"] < -50  # the curves show the rewards as given
    assert metrics[-1]["loss/value"] < 10  # while the critic learns scaled returns
    assert "module/return_scale/running" in _assert_resumes_exactly(first, second)


@pytest.mark.parametrize("schedule", ["constant", "cosine", "linear"])
def test_policy_and_critic_follow_their_own_learning_rate_schedules(
    registry: Registry, schedule: str
) -> None:
    pipeline = _pipeline(registry, lr=0.002, critic_lr=0.01, lr_schedule=schedule, steps=10)
    metrics = _run(pipeline, 10)
    first, last = metrics[0], metrics[-1]
    assert first["lr"] == pytest.approx(0.002) and first["lr/critic"] == pytest.approx(0.01)
    expected = {"constant": 1.0, "cosine": None, "linear": 1 - 0.99 * 0.9}[schedule]
    if expected is not None:  # at step 9 of 10
        assert last["lr"] == pytest.approx(0.002 * expected)
    assert last["lr/critic"] == pytest.approx(5 * last["lr"])  # the same schedule, own base
    policy, critic = pipeline.trainer.optimizer.param_groups
    assert policy["lr"] == pytest.approx(last["lr"]) and critic["lr"] == last["lr/critic"]
    if schedule != "constant":
        assert last["lr"] < first["lr"]


def test_critic_rate_defaults_to_the_policys(registry: Registry) -> None:
    metrics = _run(_pipeline(registry, lr=0.004, lr_schedule="constant"), 1)
    assert metrics[0]["lr/critic"] == metrics[0]["lr"] == pytest.approx(0.004)
