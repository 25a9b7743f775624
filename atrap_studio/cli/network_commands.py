"""CLI commands on network files: describe, export to other formats, import, merge.

Files may come from strangers: every reader used here checks before it builds anything.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from atrap_studio.core.errors import AtrapError
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.nodes import builtin_registry


def info(args: argparse.Namespace) -> int:
    from atrap_studio.runtime.netfile import describe, load_network

    for name in args.networks:
        print(f"{name}:")
        for line in describe(load_network(name).manifest).splitlines():
            print(f"  {line}")
    return 0


def export(args: argparse.Namespace) -> int:
    from atrap_studio.runtime.exports import export_network
    from atrap_studio.runtime.netfile import load_network

    targets = [name for name in (args.json, args.onnx, args.html) if name]
    if not targets:
        raise AtrapError("say what to write: --json OUT, --html OUT and/or --onnx OUT")
    source = Path(args.network)
    network = load_network(source)
    for name, suffix in ((args.json, ".json"), (args.onnx, ".onnx"), (args.html, ".html")):
        if name:
            what = export_network(source, network, Path(name), builtin_registry(), suffix)
            print(f"{source} -> {name} ({what})")
    return 0


def import_network(args: argparse.Namespace) -> int:
    from atrap_studio.runtime.netfile import check_fits, save_network
    from atrap_studio.runtime.netjson import load_network_json
    from atrap_studio.runtime.pipeline import Pipeline

    loaded = load_network_json(args.json_file)
    if args.graph:
        pipeline = Pipeline(load_graph(args.graph), builtin_registry(), source=args.graph)
        check_fits(args.json_file, loaded.manifest, *pipeline.meanings())
    save_network(args.out, loaded.module, loaded.manifest)
    count = loaded.manifest.architecture.parameter_count()
    print(f"{args.json_file} -> {args.out}: checked, {count:,} parameters")
    return 0


def merge(args: argparse.Namespace) -> int:
    import json

    from atrap_studio.runtime import merge as merging
    from atrap_studio.runtime.netfile import save_network
    from atrap_studio.runtime.networks import mlp

    graph = load_graph(args.graph) if args.graph else None
    sources = merging.load_sources(args.networks, builtin_registry(), graph=graph)
    student = None
    if args.hidden:
        first = sources[0].network.manifest.architecture
        student = mlp(first.inputs, args.hidden, first.outputs, activation=args.activation)
    bar = _Progress(args.steps) if args.method == "distill" and not args.quiet else None
    try:
        merged = merging.merge(
            sources,
            args.method,
            weights=args.weights,
            unrelated=args.unrelated,
            student=student,
            steps=args.steps,
            lr=args.lr,
            seed=args.seed,
            episodes=args.episodes,
            progress=bar.update if bar else None,
        )
    finally:  # a stop signal too: the terminal gets its cursor back
        if bar:
            bar.close()
    save_network(args.out, merged.module, merged.manifest)
    if args.json:
        report = merged.report
        print(
            json.dumps(
                {
                    "method": report.method,
                    "warnings": report.warnings,
                    "distill_loss": report.distill_loss,
                    "scores": report.rows,
                }
            )
        )
    else:
        for line in merged.report.lines():
            print(line)
        print(f"merged network: {args.out}")
    return 0


class _Progress:
    """A rich progress bar for distillation steps."""

    def __init__(self, total: int) -> None:
        from rich.progress import Progress

        self.progress = Progress(transient=True)
        self.progress.start()
        self.task = self.progress.add_task("distilling", total=total)

    def update(self, step: int, loss: float) -> None:
        if step % 20 == 0:
            self.progress.update(
                self.task, completed=step, description=f"distilling, loss {loss:.2e}"
            )

    def close(self) -> None:
        self.progress.stop()
