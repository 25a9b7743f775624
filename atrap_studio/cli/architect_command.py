"""``atrap experiment architect``: growing networks against fixed ones, at equal updates.

Trains the arm example (or a given graph with an NN Factory) with three fixed network sizes, a
network that grows on a schedule and one the Kalman architect grows and shrinks, over several
seeds; prints the table and a plain verdict on the issue's bar and writes them to a folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from atrap_studio.cli.arguments import natural, number_above, positive, widths

_SHARE = number_above(0, 1, expected="a share such as 0.25")


def add_parser(kinds: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The experiment's options."""
    architect = kinds.add_parser(
        "architect",
        help="growing networks (schedule, Kalman architect) against fixed sizes, equal updates",
        description="Does the NN Architect earn its keep? Every contender trains the same graph "
        "for the same updates over several seeds and differs only in its network: small, "
        "medium and large fixed ones, one that grows on a schedule, and one the Kalman "
        "architect grows and shrinks. All are tested on the same fresh episodes.",
    )
    architect.add_argument(
        "graph", nargs="?", help="a graph with one NN Factory (default: the arm example)"
    )
    architect.add_argument("--seeds", type=positive, default=3, help="runs of each contender")
    architect.add_argument("--updates", type=positive, default=3000, help="each one's budget")
    architect.add_argument("--instances", type=positive, help="scene instances (default: graph's)")
    architect.add_argument("--test-every", type=positive, default=250, help="updates per test")
    architect.add_argument("--test-episodes", type=positive, default=1024)
    architect.add_argument("--final-episodes", type=positive, default=4096)
    architect.add_argument("--small", type=widths, default=(32, 32), help="WIDTH,WIDTH,...")
    architect.add_argument("--medium", type=widths, default=(128, 128), help="WIDTH,WIDTH,...")
    architect.add_argument("--large", type=widths, default=(128, 128, 128), help="WIDTH,...")
    architect.add_argument(
        "--every", type=positive, default=200, help="updates between two changes of a network"
    )
    architect.add_argument(
        "--target",
        type=float,
        default=0.0,
        help="the error a growing network aims for, in the scene's units (default 0: none)",
    )
    architect.add_argument(
        "--step", type=_SHARE, default=0.25, help="share of a layer one change adds or removes"
    )
    architect.add_argument(
        "--max-width",
        type=positive,
        help="widest layer a growing network may reach (default: the large network's widest)",
    )
    architect.add_argument("--threads", type=natural, default=1, help="torch threads")
    architect.add_argument("--out", default="runs/architect")


def run(args: argparse.Namespace) -> int:
    from atrap_studio.core.yaml_io import load_graph
    from atrap_studio.examples import example_path
    from atrap_studio.runtime import architect_experiment
    from atrap_studio.runtime.runner import configure_threads

    setup = architect_experiment.Setup(
        seeds=args.seeds,
        updates=args.updates,
        instances=args.instances,
        test_every=args.test_every,
        test_episodes=args.test_episodes,
        final_episodes=args.final_episodes,
        small=args.small,
        medium=args.medium,
        large=args.large,
        every=args.every,
        target=args.target,
        step=args.step,
        max_width=args.max_width,
    )
    setup.check()  # before the graph is read or a thread count set
    doc = load_graph(args.graph or example_path())
    configure_threads(args.threads)
    folder = Path(args.out)
    result = architect_experiment.run(doc, setup, folder, say=lambda text: print(text, flush=True))
    print(result.table())
    print(f"results: {folder / 'architect.json'}, {folder / 'architect.md'}")
    print(result.verdict())
    return 0
