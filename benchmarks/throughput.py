"""Scene throughput through the compiled graph vs a hand-written batched torch loop.

Both play the same task side by side in one run: the default 6-joint arm, random actions in
[-1, 1], joint targets, reward = minus the distance in units of 100 mm. The graph path goes
through the pipeline (sensors, NN-Factory input concatenation, action node, scene, reward
node); the hand-written loop calls the kinematics directly. Prints env-steps/s and the ratio.

    .venv/bin/python benchmarks/throughput.py [--instances 4096] [--seconds 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.ik.chain import ArmChain, ArmGeometry
from atrap_studio.nodes import builtin_registry
from atrap_studio.runtime.pipeline import Pipeline


def measure(step: Callable[[], None], instances: int, seconds: float) -> float:
    """Env-steps per second of ``step`` (which advances every instance once)."""
    for _ in range(10):
        step()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(20):
            step()
        count += 20
    return count * instances / (time.perf_counter() - start)


def graph_stepper(instances: int) -> Callable[[], None]:
    doc = load_graph(example_path("robot_arm_reach"))
    arm = doc.node("arm")
    assert arm is not None
    arm.props["instances"] = instances
    pipeline = Pipeline(doc, builtin_registry())
    scene = pipeline.scene
    generator = torch.Generator().manual_seed(0)

    def step() -> None:
        scene.begin_step()
        obs = pipeline.observe(scene)
        action = torch.rand(obs.shape[0], 6, generator=generator) * 2 - 1
        pipeline.act(scene, action)
        pipeline.rewards(scene)

    return step


def hand_written_stepper(instances: int) -> Callable[[], None]:
    chain = ArmChain(ArmGeometry.industrial(6))
    generator = torch.Generator().manual_seed(0)
    q = chain.sample_q(instances, generator)
    target = chain.effector(chain.sample_q(instances, generator))
    middle, half = (chain.upper + chain.lower) / 2, (chain.upper - chain.lower) / 2

    def step() -> None:
        nonlocal q, target
        q = chain.sample_q(instances, generator)  # every one-step episode restarts
        target = chain.effector(chain.sample_q(instances, generator))
        obs = torch.cat([q, target], dim=-1)
        action = torch.rand(obs.shape[0], 6, generator=generator) * 2 - 1
        q = chain.clamp(middle + half * action)
        _reward = -torch.linalg.vector_norm(target - chain.effector(q), dim=-1) / 0.1

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 64, 1024, 4096, 16384])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print(f"{'N':>7} {'graph env-steps/s':>18} {'hand-written':>14} {'graph/hand':>11}")
    for n in args.instances:
        graph = measure(graph_stepper(n), n, args.seconds)
        hand = measure(hand_written_stepper(n), n, args.seconds)
        print(f"{n:>7} {graph:>18,.0f} {hand:>14,.0f} {graph / hand:>10.0%}")


if __name__ == "__main__":
    main()
