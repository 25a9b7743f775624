"""Where a trial-and-reward trainer's time goes: the scene and the network, or bookkeeping.

Runs a few updates of each trainer on the arm examples at N instances (one torch thread) and
splits the time of each update (``trainer.step``) by timing the calls it is made of — each
call's own time, without the timed calls it makes:

- **scene**: the scene's ``begin_step`` and ``outcome``, and the pipeline's ``observe``
  (sensors), ``act`` (action nodes, the scene's step) and ``rewards``;
- **acting**: the forward passes of the network and the critic while the rollout plays, with
  the policy's sampling of a trial from the network's answer;
- **learning forward**: every forward pass inside ``learn`` (the minibatches' policy and
  critic, SAC's target critics, PPO's bootstrap value) with the policy's log-probabilities and
  entropy;
- **learning backward**: backward passes, gradient clipping, the optimisers' ``zero_grad`` and
  ``step``;
- **bookkeeping**: everything else — GAE, rollout buffers, minibatch gathers, the loss's
  arithmetic between the network's outputs (ratios, clipping), input and return statistics,
  metrics, replay buffer, Python.

The parts are timed in the thread's CPU time (``time.thread_time``): on one torch thread of an
idle machine it is the wall time, and on a shared one it leaves out the time other processes
held the core, which would otherwise land in whichever part was running. ``update`` is CPU time
per update, ``wall`` the wall clock's, ``steps/s`` scene steps per CPU second.

Issue 11's goal reads "≥ 60% of the wall time in the scene and the network's forward pass":
``scene+fwd`` is scene + acting + learning forward; ``scene+net`` adds the learning's backward
passes and optimiser steps (all the network's work), so ``100% - scene+net`` is bookkeeping.

With ``--before REVISION`` the trainers as they were at that git revision (the files of
``atrap_studio/runtime/trainers`` at it, loaded as a package of their own) run beside today's,
update for update in turn on pipelines built alike, so a change is measured under one load.

    .venv/bin/python benchmarks/trainer_cost.py [--instances 4096] [--updates 5]
        [--before REVISION]
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from code_at import package_at

from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes.specs import CATALOGUE
from atrap_studio.runtime.pipeline import Pipeline

TRAINERS = "atrap_studio.runtime.trainers"
PARTS = ("scene", "acting", "learning forward", "learning backward", "bookkeeping")


@dataclasses.dataclass(frozen=True)
class Case:
    """A trainer on an arm example: the graph, the trainer's type and settings changed."""

    label: str
    example: str
    trainer: str = "trainer.ppo"
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)


CASES = (
    Case("PPO robot_arm_steps_ppo", "robot_arm_steps_ppo"),
    Case("PPO robot_arm_reach_ppo", "robot_arm_reach_ppo"),
    Case(
        "SAC steps graph, 8x1,024",
        "robot_arm_steps_ppo",
        "trainer.sac",
        {"updates": 8, "batch_size": 1024, "explore_steps": 1, "explore_from": 0.0},
    ),
)


class Phases:
    """Seconds spent in each part; a timed call's own time excludes the timed calls it makes."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(PARTS, 0.0)
        self.learning = False
        self._stack: list[str] = []
        self._mark = 0.0

    def _switch(self, part: str | None) -> None:
        now = time.thread_time()
        if self._stack:
            self.seconds[self._stack[-1]] += now - self._mark
        if part is None:
            self._stack.pop()
        else:
            self._stack.append(part)
        self._mark = now

    def timed(self, fn: Callable[..., Any], part: str | Callable[[], str]) -> Callable[..., Any]:
        """``fn`` with its own time counted as ``part`` (or the part ``part()`` names now)."""

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            self._switch(part if isinstance(part, str) else part())
            try:
                return fn(*args, **kwargs)
            finally:
                self._switch(None)

        return call

    def forward_part(self) -> str:
        return "learning forward" if self.learning else "acting"

    @contextmanager
    def in_learning(self) -> Iterator[None]:
        self.learning = True
        try:
            yield
        finally:
            self.learning = False


def instrument(pipeline: Pipeline, phases: Phases) -> Callable[[int], Any]:
    """Wrap the calls of ``pipeline``'s trainer, agent and scene in ``phases``' timers (on
    these objects only); returns the timed update."""
    trainer: Any = pipeline.trainer
    agent, scene = trainer.pipeline, trainer.pipeline.scene
    for name in ("observe", "act", "rewards"):
        setattr(agent, name, phases.timed(getattr(agent, name), "scene"))
    for name in ("begin_step", "outcome"):
        setattr(scene, name, phases.timed(getattr(scene, name), "scene"))
    modules = [trainer.network, trainer.critic]
    modules += [
        getattr(trainer, name) for name in ("centre", "critic_target") if hasattr(trainer, name)
    ]
    for module in modules:
        module.forward = phases.timed(module.forward, phases.forward_part)
    policy = getattr(trainer, "policy_kind", None)
    if policy is not None:
        policy.sample = phases.timed(policy.sample, "acting")
        policy.log_prob = phases.timed(policy.log_prob, "learning forward")
        policy.entropy = phases.timed(policy.entropy, "learning forward")
    if hasattr(trainer, "_sample"):  # SAC: the squashed Gaussian around the network's centre
        trainer._sample = phases.timed(trainer._sample, phases.forward_part)
    for optimizer in trainer.optimizers().values():
        optimizer.step = phases.timed(optimizer.step, "learning backward")
        optimizer.zero_grad = phases.timed(optimizer.zero_grad, "learning backward")
    learn = trainer.learn

    def learning(step: int) -> Any:
        with phases.in_learning():
            return learn(step)

    trainer.learn = learning
    return phases.timed(trainer.step, "bookkeeping")


@contextmanager
def timed_backward(phases: list[Phases]) -> Iterator[None]:
    """Backward passes and gradient clipping counted as learning, in whichever of ``phases`` is
    inside an update now (torch's own functions, patched for the benchmark's duration)."""
    backward, clip = torch.Tensor.backward, torch.nn.utils.clip_grad_norm_

    def timed(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            inside = [p for p in phases if p._stack]
            if not inside:
                return fn(*args, **kwargs)
            return inside[0].timed(fn, "learning backward")(*args, **kwargs)

        return call

    torch.Tensor.backward = timed(backward)  # type: ignore[method-assign]
    torch.nn.utils.clip_grad_norm_ = timed(clip)
    try:
        yield
    finally:
        torch.Tensor.backward = backward  # type: ignore[method-assign]
        torch.nn.utils.clip_grad_norm_ = clip


def registry_of(package: str | None) -> Registry:
    """The built-in registry, its trainers implemented by ``package`` (None: as they are)."""
    if package is None:
        return Registry(CATALOGUE)
    return Registry(
        dataclasses.replace(spec, impl=spec.impl.replace(TRAINERS, package, 1))
        if spec.impl.startswith(TRAINERS + ".")
        else spec
        for spec in CATALOGUE
    )


def arm_pipeline(case: Case, instances: int, registry: Registry) -> Pipeline:
    """``case``'s example at ``instances`` arms, its trainer as the case says."""
    doc = load_graph(example_path(case.example))
    doc.node("arm").props["instances"] = instances  # type: ignore[union-attr]
    teach = doc.node("teach")
    assert teach is not None
    if teach.type != case.trainer:
        teach.type, teach.props = case.trainer, {}
    teach.props.update(case.settings)
    if "batch_size" in case.settings:  # warming up fills the replay buffer past one batch
        teach.props["batch_size"] = min(int(case.settings["batch_size"]), 2 * instances)
    return Pipeline(doc, registry, seed=0)


@dataclasses.dataclass
class Measured:
    """Updates timed for one version of one case."""

    phases: Phases
    update: Callable[[int], Any]
    pipeline: Pipeline
    env_steps: int
    #: Seconds of this thread's CPU time, and of the wall clock, over the timed updates.
    total: float = 0.0
    wall: float = 0.0
    updates: int = 0

    def share(self, *parts: str) -> float:
        return sum(self.phases.seconds[p] for p in parts) / max(self.total, 1e-12)

    @property
    def per_update(self) -> float:
        return self.total / max(1, self.updates)

    @property
    def wall_per_update(self) -> float:
        return self.wall / max(1, self.updates)


def measure(
    case: Case, instances: int, updates: int, versions: dict[str, Registry]
) -> dict[str, Measured]:
    """Every version of ``case``, warmed up, then ``updates`` updates each in turn."""
    runs: dict[str, Measured] = {}
    for name, registry in versions.items():
        pipeline = arm_pipeline(case, instances, registry)
        pipeline.trainer.plan(updates + 2)
        for step in range(2):  # warm up (and fill SAC's buffer past one batch)
            pipeline.trainer.step(step)
        phases = Phases()
        runs[name] = Measured(
            phases, instrument(pipeline, phases), pipeline, pipeline.trainer.env_steps_per_update
        )
    with timed_backward([run.phases for run in runs.values()]):
        for step in range(2, 2 + updates):
            order = list(runs.values())
            for run in order if step % 2 else order[::-1]:  # neither always goes first
                start, wall = time.thread_time(), time.perf_counter()
                run.update(step)
                run.total += time.thread_time() - start
                run.wall += time.perf_counter() - wall
                run.updates += 1
    return runs


def weights(pipeline: Pipeline) -> dict[str, torch.Tensor]:
    """The network's and the trainer's tensors: what an update changes."""
    tensors = {f"network/{k}": v for k, v in pipeline.network.state_dict().items()}
    state, _ = pipeline.trainer.state_tensors()
    return {**tensors, **state}


def identical(first: Pipeline, second: Pipeline) -> bool:
    """Whether two pipelines' networks and trainers hold the same values, bit for bit."""
    mine, theirs = weights(first), weights(second)
    return mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)


def load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=4096)
    parser.add_argument("--updates", type=int, default=5)
    parser.add_argument(
        "--before", help="a git revision whose trainers run beside today's, update for update"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        versions = {"now": registry_of(None)}
        if args.before:
            versions[args.before] = registry_of(
                package_at(
                    args.before,
                    Path(folder),
                    "atrap_studio/runtime/trainers/",
                    TRAINERS,
                    "trainers_at_",
                )
            )
        print(
            f"arm, {args.instances:,} instances, 1 thread, mean of {args.updates} updates; {load()}"
        )
        print(
            f"{'trainer':<26} {'version':<10} {'update':>10} {'wall':>10} {'steps/s':>9} "
            f"{'scene':>6} "
            f"{'acting':>7} {'l.fwd':>6} {'l.bwd':>6} {'bookkeeping':>12} {'scene+fwd':>10} "
            f"{'scene+net':>10}"
        )
        for case in CASES:
            runs = measure(case, args.instances, args.updates, versions)
            for name, run in runs.items():
                shares = [run.share(part) for part in PARTS]
                print(
                    f"{case.label:<26} {name:<10} {run.per_update * 1000:7.1f} ms "
                    f"{run.wall_per_update * 1000:7.1f} ms "
                    f"{run.env_steps / run.per_update:9,.0f} {shares[0]:6.0%} {shares[1]:7.0%} "
                    f"{shares[2]:6.0%} {shares[3]:6.0%} {shares[4]:12.0%} "
                    f"{run.share('scene', 'acting', 'learning forward'):10.0%} "
                    f"{sum(shares[:4]):10.0%}"
                )
            if args.before:
                now, then = runs["now"], runs[args.before]
                same = "yes" if identical(now.pipeline, then.pipeline) else "NO"
                print(
                    f"{'':<26} {'now/then':<10} {now.per_update / then.per_update:9.2f}x "
                    f"{now.wall_per_update / then.wall_per_update:9.2f}x"
                    f"   same networks and trainer state after the updates: {same}"
                )
        print(load())


if __name__ == "__main__":
    main()
