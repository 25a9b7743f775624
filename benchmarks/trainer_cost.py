"""Where a trial-and-reward trainer's time goes: the scene and the networks, or bookkeeping.

Profiles a few updates of each trainer on the arm example at N instances (cProfile, one torch
thread) and splits the wall time of ``trainer.step`` into the scene (its step, the sensors,
actions and rewards the pipeline runs), the networks' forward passes (the policy's and the
critics'), their learning (backward passes, gradient clipping, the optimisers' steps) and the
rest — the trainer's own bookkeeping (sampling, GAE, batching, statistics). Prints each
trainer's split side by side.

    .venv/bin/python benchmarks/trainer_cost.py [--instances 4096] [--updates 5]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
from typing import Any

import torch

from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes import builtin_registry
from atrap_studio.runtime.pipeline import Pipeline

#: (file suffix, function name) of the calls whose cumulative time counts as each part.
SCENE = (
    ("runtime/pipeline.py", "observe"),
    ("runtime/pipeline.py", "act"),
    ("runtime/pipeline.py", "rewards"),
    ("runtime/arm_scene.py", "begin_step"),
)
FORWARD = (("torch/nn/modules/module.py", "_call_impl"),)
LEARNING = (
    ("torch/_tensor.py", "backward"),
    ("torch/optim/optimizer.py", "wrapper"),
    ("torch/nn/utils/clip_grad.py", "clip_grad_norm_"),
)


def arm_pipeline(trainer: str, instances: int, settings: dict[str, Any]) -> Pipeline:
    """The one-move arm example with ``trainer`` at ``instances`` arms (tanh output for SAC)."""
    doc = load_graph(example_path("robot_arm_reach_ppo"))
    doc.node("arm").props["instances"] = instances  # type: ignore[union-attr]
    teach = doc.node("teach")
    assert teach is not None
    teach.type = trainer
    teach.props = dict(settings)
    return Pipeline(doc, builtin_registry(), seed=0)


def cumulative(stats: pstats.Stats, wanted: tuple[tuple[str, str], ...]) -> float:
    """Summed cumulative seconds of the wanted functions, counting no call inside another."""
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = 0.0
    for (path, _, name), (_, _, _, cum, callers) in table.items():
        if not any(path.endswith(suffix) and name == fn for suffix, fn in wanted):
            continue
        # time reached from another wanted function is already in that one's cumulative time
        nested = sum(
            timing[3]
            for (cpath, _, cname), timing in callers.items()
            if any(cpath.endswith(suffix) and cname == fn for suffix, fn in wanted)
        )
        total += cum - nested
    return total


def split(pipeline: Pipeline, updates: int) -> tuple[float, float, float, float]:
    """Seconds per update in the scene, the forward passes, the learning, and in total."""
    trainer = pipeline.trainer
    trainer.plan(updates + 2)
    for step in range(2):  # warm up (and fill SAC's buffer past one batch)
        trainer.step(step)
    profile = cProfile.Profile()
    profile.enable()
    for step in range(2, 2 + updates):
        trainer.step(step)
    profile.disable()
    stats = pstats.Stats(profile)
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = max(cum for (_, _, name), (*_, cum, _) in table.items() if name == "step")
    scene, forward, learning = (cumulative(stats, part) for part in (SCENE, FORWARD, LEARNING))
    return scene / updates, forward / updates, learning / updates, total / updates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=4096)
    parser.add_argument("--updates", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    trainers = {
        "PPO (the example's settings)": ("trainer.ppo", {"horizon": 2, "minibatches": 16}),
        "PPO (8 steps, 4 epochs)": (
            "trainer.ppo",
            {"horizon": 8, "epochs": 4, "minibatches": 32},
        ),
        "SAC (1 step, 8 updates of 1,024)": (
            "trainer.sac",
            {"updates": 8, "batch_size": 1024, "explore_steps": 1},
        ),
    }
    print(f"arm, {args.instances:,} instances, 1 thread, mean of {args.updates} updates")
    print(
        f"{'trainer':<34} {'update':>9} {'scene':>7} {'forward':>8} {'learning':>9} "
        f"{'bookkeeping':>12} {'scene+forward':>14}"
    )
    for label, (kind, settings) in trainers.items():
        pipeline = arm_pipeline(kind, args.instances, settings)
        if kind == "trainer.sac":
            brain = pipeline.doc.node("brain")
            assert brain is not None and brain.props.get("output") == "tanh"
        scene, forward, learning, total = split(pipeline, args.updates)
        rest = max(0.0, total - scene - forward - learning)
        print(
            f"{label:<34} {total * 1000:7.1f} ms {scene / total:7.0%} {forward / total:8.0%} "
            f"{learning / total:9.0%} {rest / total:12.0%} {(scene + forward) / total:14.0%}"
        )


if __name__ == "__main__":
    main()
