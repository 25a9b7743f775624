"""What ``scene.gymnasium`` costs over the environment itself, side by side in one run.

The same environment plays random actions two ways: gymnasium's own vector environment (the
vector version where the environment has one, else copies one after another), and the graph of
the shipped example (observation node, environment action node, reward node, the scene's
bookkeeping of returns and ends) with random network outputs. Prints env-steps/s and the ratio;
the goal is at least 50% of gymnasium's own steps/s.

    .venv/bin/python benchmarks/gymnasium_scene.py [--instances 4096] [--seconds 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import gymnasium
import numpy as np
import torch

from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes import builtin_registry
from atrap_studio.runtime.pipeline import Pipeline

#: (example, scene node, environment id, vectorization of gymnasium's own env)
CASES = (
    ("cartpole_ppo", "cartpole", "CartPole-v1", "vector_entry_point"),
    ("pendulum_ppo", "pendulum", "Pendulum-v1", "sync"),
)


def measure(step: Callable[[], None], instances: int, seconds: float) -> float:
    """Env-steps per second of ``step`` (which advances every copy once)."""
    for _ in range(5):
        step()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(10):
            step()
        count += 10
    return count * instances / (time.perf_counter() - start)


def gymnasium_stepper(env_id: str, mode: str, instances: int) -> Callable[[], None]:
    env = gymnasium.make_vec(env_id, num_envs=instances, vectorization_mode=mode)
    env.reset(seed=0)
    env.action_space.seed(0)

    def step() -> None:
        env.step(env.action_space.sample())

    return step


def graph_stepper(example: str, scene_id: str, instances: int) -> Callable[[], None]:
    doc = load_graph(example_path(example))
    node = doc.node(scene_id)
    assert node is not None
    node.props["instances"] = instances
    pipeline = Pipeline(doc, builtin_registry())
    scene = pipeline.scene
    outputs = pipeline.architecture.outputs
    generator = torch.Generator().manual_seed(0)

    def step() -> None:
        scene.begin_step()
        obs = pipeline.observe(scene)
        action = torch.rand(obs.shape[0], outputs, generator=generator) * 2 - 1
        pipeline.act(scene, action)
        pipeline.rewards(scene)

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, nargs="+", default=[64, 4096])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"gymnasium {gymnasium.__version__}, numpy {np.__version__}, torch {torch.__version__}")
    header = f"{'environment':<12} {'N':>6} {'gymnasium':>12} {'through graph':>14} {'ratio':>6}"
    print(header + "  (env-steps/s)")
    for example, scene_id, env_id, mode in CASES:
        for n in args.instances:
            own = measure(gymnasium_stepper(env_id, mode, n), n, args.seconds)
            graph = measure(graph_stepper(example, scene_id, n), n, args.seconds)
            print(f"{env_id:<12} {n:>6} {own:>12,.0f} {graph:>14,.0f} {graph / own:>6.0%}")


if __name__ == "__main__":
    main()
