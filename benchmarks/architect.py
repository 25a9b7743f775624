"""What the NN Architect costs, and what it buys.

1. Its price per update: the arm example trained with a fixed network, and with the same
   network followed by the Kalman architect (every decision made, no change allowed), side by
   side: updates per CPU second and the ratio.
2. The price of one change (widen a hidden layer by 25% and carry the optimiser's state over)
   against one update, at several widths.
3. The experiment of issue 14 (``atrap experiment architect``) at the sizes given: fixed small,
   medium and large networks, a schedule and the Kalman architect, several seeds; its table and
   verdict.

    .venv/bin/python benchmarks/architect.py [--instances 1024] [--seeds 3] [--updates 3000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes import builtin_registry
from atrap_studio.runtime import architect_experiment
from atrap_studio.runtime.architect.steer import SizeBounds, resize
from atrap_studio.runtime.pipeline import Pipeline


def arm(instances: int, hidden: list[int], **grow: object) -> Pipeline:
    doc: GraphDocument = load_graph(example_path("robot_arm_reach"))
    doc.node("arm").props["instances"] = instances  # type: ignore[union-attr]
    doc.node("brain").props.update(hidden=hidden, **grow)  # type: ignore[union-attr]
    return Pipeline(doc, builtin_registry(), seed=0)


def cpu_per_update(pipeline: Pipeline, updates: int) -> float:
    """CPU seconds per update, the architect's decision included when the graph has one."""
    trainer, architect = pipeline.trainer, pipeline.architect
    trainer.plan(updates + 3)
    for step in range(3):  # warm up
        trainer.step(step)
    started = time.process_time()
    for step in range(3, 3 + updates):
        metrics = trainer.step(step)
        if architect is not None:
            architect.after_update(metrics)
    return (time.process_time() - started) / updates


def change_cost(instances: int, width: int, updates: int) -> tuple[float, float]:
    """CPU seconds of one widening (with the optimiser's state carried) and of one update."""
    pipeline = arm(instances, [width, width])
    update = cpu_per_update(pipeline, updates)
    inputs = pipeline.observe(pipeline.scene).detach()
    started = time.process_time()
    surgery = resize(
        pipeline.architecture,
        pipeline.network,
        "grow",
        bounds=SizeBounds(max_width=4 * width),
        inputs=inputs,
        generator=torch.Generator().manual_seed(0),
    )
    assert surgery is not None
    pipeline.owner.replace(
        surgery.architecture, surgery.module, surgery.state_map, surgery.description
    )
    return time.process_time() - started, update


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1024)
    parser.add_argument("--updates", type=int, default=3000, help="each contender's budget")
    parser.add_argument("--cost-updates", type=int, default=200, help="updates timed for 1 and 2")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--test-every", type=int, default=250)
    parser.add_argument("--episodes", type=int, default=1024, help="test and final episodes")
    parser.add_argument("--widths", default="32,128,256", help="widths whose change is timed")
    parser.add_argument("--every", type=int, default=200)
    parser.add_argument("--out", help="where the experiment's files go (default: a temp folder)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    print(f"arm example, {args.instances:,} instances, 1 thread, CPU time")
    fixed = cpu_per_update(arm(args.instances, [128, 128]), args.cost_updates)
    tracked = cpu_per_update(
        arm(args.instances, [128, 128], grow="kalman", grow_every=10**7), args.cost_updates
    )
    print(f"{'per update':<34} {'fixed [128, 128]':>18} {'+ Kalman architect':>20} {'ratio':>7}")
    print(f"{'':<34} {fixed * 1000:15.2f} ms {tracked * 1000:17.2f} ms {tracked / fixed:6.2f}x")

    print(f"{'one change (widen by 25%)':<34} {'change':>12} {'one update':>12} {'ratio':>7}")
    for width in (int(w) for w in args.widths.split(",")):
        change, update = change_cost(args.instances, width, args.cost_updates)
        label = f"  [{width}, {width}]"
        print(
            f"{label:<34} {change * 1000:9.2f} ms {update * 1000:9.2f} ms {change / update:6.2f}x"
        )

    setup = architect_experiment.Setup(
        seeds=args.seeds,
        updates=args.updates,
        instances=args.instances,
        test_every=args.test_every,
        test_episodes=args.episodes,
        final_episodes=args.episodes,
        every=args.every,
    )
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.out or scratch)
        result = architect_experiment.run(load_graph(example_path()), setup, folder, say=print)
    print(result.table())
    print(result.verdict())


if __name__ == "__main__":
    main()
