"""The CLI's commands, each ``(args) -> exit code``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from atrap_studio.cli.stops import STOP_SIGNALS, exit_code
from atrap_studio.core.errors import AtrapError
from atrap_studio.core.reference import node_reference, number_text
from atrap_studio.core.registry import Registry
from atrap_studio.core.schema import graph_schema
from atrap_studio.core.specs import NodeSpec
from atrap_studio.core.validation import validate as validate_doc
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes import builtin_registry


def _graph_path(args: argparse.Namespace) -> Path:
    if getattr(args, "example", None):
        try:
            return example_path(args.example)
        except FileNotFoundError as exc:
            raise AtrapError(str(exc)) from None
    return Path(args.file)


def validate(args: argparse.Namespace) -> int:
    registry = builtin_registry()
    doc = load_graph(args.file)
    issues = validate_doc(doc, registry)
    for issue in issues:
        print(issue.format(args.file))
    errors = sum(i.severity == "error" for i in issues)
    if errors:
        print(
            f"{args.file}: {errors} error(s); the graph cannot run until they are fixed",
            file=sys.stderr,
        )
        return 1
    print(f"{args.file}: OK ({len(doc.nodes)} nodes, {len(doc.links)} links)")
    return 0


def run(args: argparse.Namespace) -> int:
    from atrap_studio.cli.progress import ProgressObserver
    from atrap_studio.runtime.run_setup import prepare_run

    path = _graph_path(args)
    doc = load_graph(path)
    prepared = prepare_run(
        doc,
        builtin_registry(),
        source=str(path),
        out_dir=args.out or None,
        resume_from=args.resume or None,
        seed=args.seed,
        steps=args.steps,
        threads=args.threads,
        when_used="sibling" if args.new_folder or not args.out else "refuse",
    )
    runner, total = prepared.runner, prepared.total_steps
    console = Console(stderr=True, quiet=args.quiet)
    received: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        received.append(signum)
        runner.request_stop()

    previous = {number: signal.signal(number, stop) for number in STOP_SIGNALS}
    try:
        with ProgressObserver(console, total, "training") as observer:
            prepared.events.subscribe(observer)
            if args.snapshots:
                prepared.events.subscribe(_snapshot_writer(args, runner, total))
            result = prepared.run()
    finally:
        prepared.release()
        for number, handler in previous.items():
            signal.signal(number, handler)
    _print_summary(doc.name, prepared.pipeline, result, prepared.out_dir)
    if result.reason == "error":
        return 1
    if received and result.reason == "stopped":
        return _cut_short(received[0], path, result)
    return 0


def _cut_short(signum: int, graph: Path, result: Any) -> int:
    """Say how to go on from a run stopped by a signal; its exit code tells scripts it was."""
    name = signal.Signals(signum).name
    how = (
        f"; resume with: atrap run {graph} --resume {result.checkpoint}"
        if result.checkpoint
        else ""
    )
    print(f"  stopped by {name}{how}", file=sys.stderr)
    return exit_code(signum)


def _snapshot_writer(args: argparse.Namespace, runner: Any, total: int) -> Any:
    """The observer that draws ``--snapshots`` pictures (Qt, imported only when asked for)."""
    try:
        from atrap_studio.ui.headless import SnapshotWriter
    except ImportError as exc:
        raise AtrapError(
            f"--snapshots needs the editor's libraries (pip install 'atrap-studio[gui]'): {exc}"
        ) from None
    return SnapshotWriter(args.snapshots, runner, args.snapshot_every or max(1, total // 10))


def _print_summary(name: str, pipeline: Any, result: Any, out: Path) -> None:
    how = {
        "completed": "finished its budget",
        "goal": "reached its goal",
        "stopped": "was stopped",
        "error": "stopped on an error",
    }[result.reason]
    print(
        f"{name}: {how} after {result.step:,} updates ({result.env_steps:,} scene steps) "
        f"in {result.elapsed_s:.1f} s"
    )
    if result.error:
        print(f"  error: {result.error}", file=sys.stderr)
    several = len(result.network_paths) > 1  # a graph of several learning agents
    if result.evaluation:
        ev = result.evaluation
        test = f"  test on {ev['episodes']:,} {pipeline.outcome.episode_word}:"
        if not several:
            print(f"{test} {pipeline.outcome.describe(ev)}")
        else:  # one line per agent, its trainer first, as the network lines below
            print(test)
            print(f"    {pipeline.trainer_id}: {pipeline.outcome.describe(ev)}")
            for agent in pipeline.agents[1:]:  # each other agent's side, where the scene told
                prefix = f"{agent.trainer_id}:"
                theirs = {k[len(prefix) :]: v for k, v in ev.items() if k.startswith(prefix)}
                if "success_rate" in theirs:
                    print(f"    {agent.trainer_id}: {pipeline.outcome.describe(theirs)}")
    if several:
        for trainer, path in result.network_paths.items():
            print(f"  network:    {path} ({trainer})")
    elif result.network_path:
        print(f"  network:    {result.network_path}")
    if result.checkpoint:
        print(f"  checkpoint: {result.checkpoint}")
    if (out / "metrics.csv").exists():
        print(f"  metrics:    {out / 'metrics.csv'}")


def evaluate(args: argparse.Namespace) -> int:
    import torch

    from atrap_studio.runtime.netfile import check_fits, load_network
    from atrap_studio.runtime.pipeline import Pipeline
    from atrap_studio.runtime.runner import configure_threads

    path = _graph_path(args)
    configure_threads(args.threads)
    pipeline = Pipeline(load_graph(path), builtin_registry(), source=str(path))
    loaded = load_network(args.network)
    check_fits(args.network, loaded.manifest, *pipeline.meanings())
    module = loaded.module.eval()
    with torch.no_grad():
        summary = pipeline.evaluate(module, args.episodes, args.seed).summary()
    if args.json:
        print(json.dumps(summary))
    else:
        declared = pipeline.outcome
        print(f"{args.network} on {summary['episodes']:,} {declared.episode_word} of {path}:")
        median, mean, p95 = declared.summary_keys()
        score = declared.score
        print(
            f"  {score.name}: median {score.text(summary[median], 3)}, "
            f"mean {score.text(summary[mean], 3)}, "
            f"95th percentile {score.text(summary[p95], 3)} ({score.better} is better)"
        )
        print(f"  success rate {summary['success_rate']:.2%} ({declared.success})")
    return 0


def nodes(args: argparse.Namespace) -> int:
    registry = builtin_registry()
    specs = _select(registry, args.type)
    if args.markdown:
        print(node_reference(specs), end="")
        return 0
    for spec in specs:
        print(describe_spec(spec))
    return 0


def _select(registry: Registry, type_id: str | None) -> list[NodeSpec]:
    if type_id is None:
        return list(registry)
    spec = registry.get(type_id)
    if spec is None:
        close = registry.suggest(type_id)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise AtrapError(f"no node type {type_id!r}{hint}")
    return [spec]


def describe_spec(spec: NodeSpec) -> str:
    """A node's reference entry: what it does, its ports and its properties."""
    lines = [f"{spec.type} — {spec.title}", f"    {spec.help}"]
    for label, ports in (("in ", spec.inputs), ("out", spec.outputs)):
        for port in ports:
            flags = [
                f
                for f, on in (
                    ("optional", not port.required and label == "in "),
                    ("several links", port.multiple),
                )
                if on
            ]
            extra = f" ({', '.join(flags)})" if flags else ""
            lines.append(f"    {label} {port.name}: {port.type}{extra} — {port.help}")
    for prop in spec.props:
        allowed = ""
        if prop.choices:
            allowed = f" one of {', '.join(prop.choices)};"
        elif prop.min is not None or prop.max is not None:
            allowed = f" in [{number_text(prop.min)}, {number_text(prop.max)}];"
        default = "required" if prop.required else f"default {json.dumps(prop.default)}"
        lines.append(f"    prop {prop.name} ({prop.kind},{allowed} {default}) — {prop.help}")
    return "\n".join(lines) + "\n"


def schema(args: argparse.Namespace) -> int:
    print(json.dumps(graph_schema(builtin_registry()), indent=2))
    return 0
