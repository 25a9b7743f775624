"""The ``atrap`` command: validate, run and evaluate graphs headless; list nodes; print the schema.

Every refusal of bad input is an :class:`AtrapError` printed as one clear message with exit
code 1 — never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any, TextIO

from atrap_studio import __version__
from atrap_studio.cli import crowd_commands, ik_command, stops
from atrap_studio.cli.arguments import natural, number_above, positive
from atrap_studio.core.errors import AtrapError, AtrapWarning
from atrap_studio.nodes.specs.nn import ACTIVATIONS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="atrap",
        description="ATRAP Studio from the command line: graphs of scenes, sensors, networks, "
        "rewards and trainers, validated and trained headless.",
    )
    parser.add_argument("--version", action="version", version=f"atrap {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check a graph file; exit 1 on errors")
    validate.add_argument("file", help="graph file (.yaml)")

    run = commands.add_parser("run", help="train a graph")
    _graph_argument(run)
    run.add_argument("--steps", type=positive, help="updates to run (default: the trainer's)")
    run.add_argument("--seed", type=natural, help="seed for everything (default: the graph's)")
    run.add_argument(
        "--out",
        help="output folder; one that holds a previous run is refused (default: runs/GRAPH_NAME, "
        "or runs/GRAPH_NAME-2, -3... when that is taken; with --resume, the checkpoint's folder)",
    )
    run.add_argument(
        "--new-folder",
        action="store_true",
        help="when --out holds a previous run, write into a numbered folder beside it (OUT-2...)",
    )
    run.add_argument("--resume", metavar="CKPT", help="continue from a checkpoint file")
    run.add_argument(
        "--threads",
        type=positive,
        default=usable_cores(),
        help="torch threads (default: the usable cores, %(default)s here; use 1 when several "
        "runs share the machine)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--snapshots",
        metavar="DIR",
        help="write PNG pictures of the scene and the network during the run, and of the "
        "curves at the end, into DIR (needs the editor's libraries; no display needed)",
    )
    run.add_argument(
        "--snapshot-every",
        type=positive,
        metavar="N",
        help="updates between pictures (default: about 10 over the run)",
    )

    evaluate = commands.add_parser("eval", help="test a trained network on fresh episodes")
    _graph_argument(evaluate)
    evaluate.add_argument("--network", required=True, help=".atrapnet file")
    evaluate.add_argument("--episodes", type=positive, default=10_000)
    evaluate.add_argument("--seed", type=natural, default=2024, help="seed of the test episodes")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--threads", type=positive, default=usable_cores())

    nodes = commands.add_parser("nodes", help="list the node catalogue")
    nodes.add_argument("type", nargs="?", help="show one node type only")
    nodes.add_argument("--markdown", action="store_true", help="the node reference as Markdown")

    commands.add_parser("schema", help="print the graph file's JSON Schema")

    info = commands.add_parser("info", help="say what network files are and where they come from")
    info.add_argument("networks", nargs="+", metavar="NETWORK", help=".atrapnet file(s)")

    export = commands.add_parser("export", help="write a network in other formats")
    export.add_argument("network", help=".atrapnet file")
    export.add_argument("--json", metavar="OUT", help="the whole network as readable JSON")
    export.add_argument(
        "--html", metavar="OUT", help="a self-contained web page that runs the policy"
    )
    export.add_argument("--onnx", metavar="OUT", help="an ONNX model, for other runtimes")

    import_ = commands.add_parser(
        "import", help="check a network received as JSON and store it as an .atrapnet"
    )
    import_.add_argument("json_file", metavar="JSON", help="network in JSON (from atrap export)")
    import_.add_argument("-o", "--out", required=True, help=".atrapnet file to write")
    import_.add_argument(
        "--graph", help="also check that its inputs and outputs fit this graph's sensors/actions"
    )
    merge = commands.add_parser(
        "merge", help="merge networks trained apart into one, and score it on each source scene"
    )
    merge.add_argument("networks", nargs="+", metavar="NETWORK", help=".atrapnet files")
    merge.add_argument("-o", "--out", required=True, help=".atrapnet file to write")
    merge.add_argument(
        "--method",
        choices=("average", "distill"),
        default="distill",
        help="average parameters (networks from one initialisation) or distill a student "
        "that answers like each network on its own scene (default)",
    )
    merge.add_argument("--weights", type=float, nargs="+", help="one weight per network")
    merge.add_argument(
        "--unrelated", action="store_true", help="average even networks of different lineages"
    )
    merge.add_argument("--steps", type=positive, default=2000, help="distillation steps")
    merge.add_argument(
        "--lr",
        type=_RATE,
        help="distillation learning rate (default: the rate the first network's graph trains at)",
    )
    merge.add_argument(
        "--hidden", type=positive, nargs="+", help="the student's hidden sizes (distill)"
    )
    merge.add_argument(
        "--activation", choices=ACTIVATIONS, default="silu", help="the student's activation"
    )
    merge.add_argument("--seed", type=natural, default=0)
    merge.add_argument("--episodes", type=positive, default=2048, help="test episodes per scene")
    merge.add_argument("--graph", help="the scene graph for networks that carry none")
    merge.add_argument("--json", action="store_true", help="print the report as one JSON object")
    merge.add_argument("--quiet", action="store_true", help="no progress bar")
    crowd_commands.add_parsers(commands)
    ik_command.add_parser(commands, usable_cores())
    return parser


def usable_cores() -> int:
    """Cores this process may run on (respects CPU affinity, unlike ``os.cpu_count``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


_RATE = number_above(0, 10, expected="a number", high_included=False)


def _graph_argument(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("file", nargs="?", help="graph file (.yaml)")
    group.add_argument("--example", metavar="NAME", help="a shipped example graph, by name")


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Our warnings read like our errors (``warning: <file>: ...``), not like Python's."""
    if issubclass(category, AtrapWarning):
        print(f"warning: {message}", file=file or sys.stderr)
    else:
        _python_show_warning(message, category, filename, lineno, file, line)


_python_show_warning: Any = warnings.showwarning


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    warnings.showwarning = _show_warning
    from atrap_studio.cli import commands, network_commands

    handler = {
        "validate": commands.validate,
        "run": commands.run,
        "eval": commands.evaluate,
        "nodes": commands.nodes,
        "schema": commands.schema,
        "info": network_commands.info,
        "export": network_commands.export,
        "import": network_commands.import_network,
        "merge": network_commands.merge,
        "crowd": crowd_commands.dispatch,
        "experiment": crowd_commands.dispatch,
        "ik": ik_command.run,
    }[args.command]
    try:
        with stops.stopped_by_signals():
            return handler(args)
    except stops.Stopped as stop:  # SIGINT, SIGTERM or SIGHUP: clean-ups have run
        print(f"stopped by {stop.name}", file=sys.stderr)
        return stop.code
    except AtrapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a file or folder named on the command line
        where = f"{exc.filename}: " if exc.filename else ""
        full = " (the disk is full)" if exc.errno == errno.ENOSPC else ""
        print(f"error: {where}{exc.strerror or exc}{full}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except RuntimeError as exc:  # a stop signal that Python wrapped (see stops.stop_within)
        wrapped = stops.stop_within(exc)
        if wrapped is None:
            raise
        print(f"stopped by {wrapped.name}", file=sys.stderr)
        return wrapped.code


if __name__ == "__main__":
    sys.exit(main())
