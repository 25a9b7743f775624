"""What checking content digests costs when loading the arm example's network and checkpoint.

Each file is written twice side by side: as ATRAP Studio writes it (with digests, checked on
every load) and as it was written before digests (the same bytes without the record, loaded
unchecked with a warning). The loads alternate between the variants, each round starting with
the next one, so that all see the same machine state; prints the median load time of each and
their ratio, in wall-clock time (what a person waits; the best of the loads too, the least
disturbed by other programs on a shared machine) and in CPU time of all threads (what the
check costs the machine). The digests are shared between a worker thread and the loading one
(see ``digests.start_check``); a third variant checks them on the loading thread alone, to show
what the worker saves where a core is free. Besides the arm example's network (hidden width
256), networks of the same shape with other hidden widths show the cost at other file sizes.

    .venv/bin/python benchmarks/file_digests.py [--repeats 200] [--widths 64,256,1024]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import torch
from safetensors.torch import save_file

from atrap_studio.core.errors import AtrapWarning
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes import builtin_registry
from atrap_studio.runtime import digests
from atrap_studio.runtime.checkpoint import load_checkpoint, save_checkpoint
from atrap_studio.runtime.netfile import load_network, save_network
from atrap_studio.runtime.networks import Architecture, Layer, build_module
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.safefile import open_safetensors, read_safetensors_checked

_ALL_DTYPES = (torch.float32, torch.float64, torch.int64, torch.uint8)


def without_digest(path: Path, target: Path) -> Path:
    """``path`` rewritten as files were before digests: same tensors and metadata, no record."""
    tensors, metadata = read_safetensors_checked(
        path, max_bytes=1 << 32, allowed_dtypes=_ALL_DTYPES
    )
    save_file(tensors, str(target), metadata=metadata)
    return target


def with_sha256(path: Path, target: Path) -> Path:
    """``path`` rewritten as files were before BLAKE3: the same bytes under a SHA-256 record."""
    without_digest(path, target)
    tensors, metadata = read_safetensors_checked(
        target, max_bytes=1 << 32, allowed_dtypes=_ALL_DTYPES
    )
    header = open_safetensors(target, max_bytes=1 << 32)
    body = memoryview(target.read_bytes())[len(header.head) :]
    record = digests.DigestRecord(
        tensors={
            name: digests.tensor_digest(
                info.dtype, info.shape, body[info.begin : info.end], "sha256"
            )
            for name, info in header.infos.items()
        },
        metadata=digests.metadata_digest(metadata, "sha256"),
        algorithm="sha256",
    )
    save_file(tensors, str(target), metadata={**metadata, digests.DIGEST_KEY: record.to_json()})
    return target


@dataclass
class Timings:
    """Seconds per load of one variant: wall clock and CPU time of all threads."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def timed(variants: dict[str, Callable[[], object]], repeats: int) -> dict[str, Timings]:
    """Each variant's loads, the variants interleaved so that all see the same machine state."""
    timings = {name: Timings() for name in variants}
    names = list(variants)
    for round_ in range(repeats):
        first = round_ % len(names)
        for name in names[first:] + names[:first]:
            start, start_cpu = time.perf_counter(), time.process_time()
            variants[name]()
            timings[name].cpu.append(time.process_time() - start_cpu)
            timings[name].wall.append(time.perf_counter() - start)
    return timings


def arm_files(folder: Path, widths: list[int]) -> tuple[list[tuple[str, Path]], Path, str]:
    """The arm example's network at each hidden width (256 is the example's own), labelled,
    a checkpoint of the example after one update, and the example's size in words."""
    pipeline = Pipeline(load_graph(example_path("robot_arm_reach")), builtin_registry(), seed=0)
    pipeline.trainer.plan(1)
    pipeline.trainer.step(0)  # the optimiser's moments exist from the first update on
    manifest = pipeline.manifest({"steps": 1})
    networks = []
    for width in widths:
        network = folder / f"network-{width}.atrapnet"
        arch = _widened(manifest.architecture, width)
        module = (
            pipeline.network
            if arch == manifest.architecture
            else build_module(arch, generator=torch.Generator().manual_seed(0))
        )
        save_network(network, module, manifest.model_copy(update={"architecture": arch}))
        networks.append((f"network, hidden {width}", network))
    checkpoint = folder / "ckpt.atrapckpt"
    save_checkpoint(checkpoint, pipeline, step=1, env_steps=1, elapsed_s=0.0)
    count = sum(p.numel() for p in pipeline.network.parameters())
    return networks, checkpoint, f"{count:,} parameters"


def _widened(arch: Architecture, width: int) -> Architecture:
    """``arch`` with its hidden width (every linear size but the inputs and outputs) set."""

    def size(features: int | None) -> int | None:
        return features if features in (None, arch.inputs, arch.outputs) else width

    layers = [
        Layer.model_validate(
            {
                **layer.model_dump(),
                "in_features": size(layer.in_features),
                "out_features": size(layer.out_features),
            }
        )
        for layer in arch.layers
    ]
    return Architecture(inputs=arch.inputs, outputs=arch.outputs, layers=layers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200, help="loads of each file")
    parser.add_argument(
        "--widths", default="64,256,1024", help="hidden widths of the networks (256: the arm's)"
    )
    args = parser.parse_args()
    widths = [int(width) for width in args.widths.split(",")]
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", AtrapWarning)  # the undigested copies warn on every load
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        networks, checkpoint, size = arm_files(folder, widths)
        print(f"arm example network: {size}, torch on 1 thread, {args.repeats} loads each")
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        print(f"machine: {cpus} CPUs, load average {_load()} at the start")
        print(
            f"{'file':<11} {'variant':<17} {'wall median':>12} {'ratio':>7} {'wall best':>10} "
            f"{'ratio':>7} {'CPU median':>11} {'ratio':>7}"
        )
        files = [(label, path, load_network) for label, path in networks]
        for label, path, load in (*files, ("checkpoint", checkpoint, load_checkpoint)):
            old = without_digest(path, folder / f"old-{path.name}")
            sha = with_sha256(path, folder / f"sha256-{path.name}")
            timings = timed(
                {
                    "unchecked": partial(load, old),
                    "checked": partial(load, path),
                    "checked, SHA-256": partial(load, sha),
                },
                args.repeats,
            )
            base = timings["unchecked"]
            print(f"{label} ({path.stat().st_size:,} bytes)")
            for variant, times in timings.items():
                wall, best = statistics.median(times.wall), min(times.wall)
                cpu = statistics.median(times.cpu)
                print(
                    f"{'':<11} {variant:<17} {wall * 1e3:>9.2f} ms "
                    f"{wall / statistics.median(base.wall):>6.3f}x {best * 1e3:>7.2f} ms "
                    f"{best / min(base.wall):>6.3f}x {cpu * 1e3:>8.2f} ms "
                    f"{cpu / statistics.median(base.cpu):>6.3f}x"
                )
        print(f"machine: load average {_load()} at the end")


def _load() -> str:
    """The 1-minute load average (runnable threads, all programs), or "unknown"."""
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "unknown"


if __name__ == "__main__":
    main()
