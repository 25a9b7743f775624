"""``atrap experiment help-the-network``: does moving the targets help the network learn?

Trains the arm example (or a given arm graph with the direct trainer) with random targets, the
near-effector curriculum, a scripted helper and, given a run's ``drags.csv``, a person's drags
replayed, over several seeds at equal updates; prints the table and a plain verdict, and writes
them with a chart to the output folder.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from atrap_studio.cli.arguments import number_above, positive, widths

_SHARE = number_above(0, 1, expected="a share such as 0.9")
_MILLIMETRES = number_above(0, 10_000, expected="millimetres such as 10")


def add_parser(kinds: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The experiment's options."""
    helping = kinds.add_parser(
        "help-the-network",
        help="random targets, the near-effector curriculum, a scripted helper and a person's "
        "recorded drags, equal budgets",
        description="Does helping the network help? Every contender trains the same arm for "
        "the same updates over several seeds; they differ only in where targets come from. "
        "All are tested on the same fresh targets from anywhere in reach.",
    )
    helping.add_argument(
        "graph", nargs="?", help="a robot-arm graph with the direct trainer (default: the example)"
    )
    helping.add_argument("--seeds", type=positive, default=3, help="runs of each contender")
    helping.add_argument("--updates", type=positive, default=3000, help="each contender's budget")
    helping.add_argument("--instances", type=positive, default=1024, help="arms trained at once")
    helping.add_argument("--test-every", type=positive, default=100, help="updates between tests")
    helping.add_argument(
        "--test-episodes", type=positive, default=1024, help="fresh targets of each test"
    )
    helping.add_argument(
        "--final-episodes", type=positive, default=4096, help="fresh targets of the final test"
    )
    helping.add_argument(
        "--goal",
        type=_SHARE,
        default=0.9,
        help="share of test targets reached (default 0.9)",
    )
    helping.add_argument(
        "--success-mm",
        type=_MILLIMETRES,
        help="what counts as reached (default: the graph's)",
    )
    helping.add_argument(
        "--hidden",
        type=widths,
        help="the network's hidden layers as WIDTH,WIDTH,... (default: the graph's)",
    )
    helping.add_argument(
        "--drags",
        metavar="RUN_FOLDER/drags.csv",
        help="replay the targets a person held in that run (the editor writes drags.csv when "
        "a target is Ctrl+dragged during a run) as one more contender",
    )
    helping.add_argument("--threads", type=positive, default=1, help="torch threads")
    helping.add_argument("--out", default="runs/help-the-network")
    helping.add_argument(
        "--chart", help="where the PNG chart goes (default: OUT/help-the-network.png)"
    )


def run(args: argparse.Namespace) -> int:
    from atrap_studio.core.yaml_io import load_graph
    from atrap_studio.examples import example_path
    from atrap_studio.runtime import help_experiment
    from atrap_studio.runtime.runner import configure_threads

    setup = help_experiment.Setup(
        seeds=args.seeds,
        updates=args.updates,
        instances=args.instances,
        test_every=args.test_every,
        test_episodes=args.test_episodes,
        final_episodes=args.final_episodes,
        goal=args.goal,
        hidden=args.hidden,
        success_mm=args.success_mm,
        drags=args.drags,
    )
    setup.check()  # before the graph is read or a thread count set
    doc = load_graph(args.graph or example_path())
    configure_threads(args.threads)
    folder = Path(args.out)
    result = help_experiment.run(doc, setup, folder, say=lambda text: print(text, flush=True))
    print(result.table())
    if result.left_out:
        print(f"left out: {result.left_out}")
    chart = Path(args.chart) if args.chart else folder / "help-the-network.png"
    if importlib.util.find_spec("PySide6") is None:
        print("chart left out: it is drawn with Qt, which is not installed (the gui extra)")
    else:
        from atrap_studio.ui.experiment_chart import save_chart

        save_chart(result, chart)
        print(f"chart: {chart}")
    print(f"results: {folder / 'help-the-network.json'}, {folder / 'help-the-network.md'}")
    print(result.verdict())
    return 0
