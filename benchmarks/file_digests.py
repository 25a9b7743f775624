"""What checking content digests costs when loading the arm example's network and checkpoint.

Each file is written twice side by side: as ATRAP Studio writes it (with digests, checked on
every load) and as it was written before digests (the same bytes without the record, loaded
unchecked with a warning). The loads alternate between the two so that both see the same
machine state; prints the median load time of each and their ratio, in wall-clock time (what a
person waits; the best of the loads too, the least disturbed by other programs on a shared
machine) and in CPU time of all threads (what the check costs the machine). The digests are
checked on a worker thread while the module is built or the checkpoint's graph parsed; a third
variant checks them on the calling thread, to show what the worker saves where a core is free.

    .venv/bin/python benchmarks/file_digests.py [--repeats 200]
"""

from __future__ import annotations

import argparse
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
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.safefile import read_safetensors_checked

_ALL_DTYPES = (torch.float32, torch.float64, torch.int64, torch.uint8)


def without_digest(path: Path, target: Path) -> Path:
    """``path`` rewritten as files were before digests: same tensors and metadata, no record."""
    tensors, metadata = read_safetensors_checked(
        path, max_bytes=1 << 32, allowed_dtypes=_ALL_DTYPES
    )
    save_file(tensors, str(target), metadata=metadata)
    return target


@dataclass
class Timings:
    """Seconds per load of one variant: wall clock and CPU time of all threads."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def timed(variants: dict[str, Callable[[], object]], repeats: int) -> dict[str, Timings]:
    """Each variant's loads, the variants interleaved so that all see the same machine state."""
    timings = {name: Timings() for name in variants}
    for _ in range(repeats):
        for name, load in variants.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            load()
            timings[name].cpu.append(time.process_time() - start_cpu)
            timings[name].wall.append(time.perf_counter() - start)
    return timings


def on_this_thread(load: Callable[[Path], object], path: Path) -> object:
    """``load(path)`` with the digests checked on the calling thread, as before the worker."""
    kept = digests.BACKGROUND_MIN_BYTES
    digests.BACKGROUND_MIN_BYTES = 1 << 62
    try:
        return load(path)
    finally:
        digests.BACKGROUND_MIN_BYTES = kept


def arm_files(folder: Path) -> tuple[Path, Path, str]:
    """The arm example's network file and a checkpoint after one update; their sizes in words."""
    pipeline = Pipeline(load_graph(example_path("robot_arm_reach")), builtin_registry(), seed=0)
    pipeline.trainer.plan(1)
    pipeline.trainer.step(0)  # the optimiser's moments exist from the first update on
    network = folder / "network.atrapnet"
    save_network(network, pipeline.network, pipeline.manifest({"steps": 1}))
    checkpoint = folder / "ckpt.atrapckpt"
    save_checkpoint(checkpoint, pipeline, step=1, env_steps=1, elapsed_s=0.0)
    count = sum(p.numel() for p in pipeline.network.parameters())
    return network, checkpoint, f"{count:,} parameters"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200, help="loads of each file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore", AtrapWarning)  # the undigested copies warn on every load
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        network, checkpoint, size = arm_files(folder)
        print(f"arm example network: {size}, torch on 1 thread, {args.repeats} loads each")
        print(
            f"{'file':<11} {'variant':<17} {'wall median':>12} {'ratio':>7} {'wall best':>10} "
            f"{'ratio':>7} {'CPU median':>11} {'ratio':>7}"
        )
        for label, path, load in (
            ("network", network, load_network),
            ("checkpoint", checkpoint, load_checkpoint),
        ):
            old = without_digest(path, folder / f"old-{path.name}")
            timings = timed(
                {
                    "unchecked": partial(load, old),
                    "checked": partial(load, path),
                    "checked, 1 thread": partial(on_this_thread, load, path),
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


if __name__ == "__main__":
    main()
