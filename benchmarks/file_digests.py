"""What checking content digests costs when loading the arm example's network and checkpoint.

Each file is written twice side by side: as ATRAP Studio writes it (with digests, checked on
every load) and as it was written before digests (the same bytes without the record, loaded
unchecked with a warning). The loads alternate between the two so that both see the same
machine state; prints the median load time of each and their ratio, in wall-clock time (what a
person waits) and in CPU time of all threads (what the check costs the machine). The two differ
where a core is free: the digests are checked on a worker thread while the module is built or
the checkpoint's graph parsed.

    .venv/bin/python benchmarks/file_digests.py [--repeats 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import save_file

from atrap_studio.core.errors import AtrapWarning
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.nodes import builtin_registry
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


def median_seconds(
    load: Callable[[Path], object], files: dict[str, Path], repeats: int
) -> dict[str, tuple[float, float]]:
    """Median wall-clock and CPU seconds per load of each file, the files' loads interleaved."""
    wall: dict[str, list[float]] = {name: [] for name in files}
    cpu: dict[str, list[float]] = {name: [] for name in files}
    for _ in range(repeats):
        for name, path in files.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            load(path)
            cpu[name].append(time.process_time() - start_cpu)
            wall[name].append(time.perf_counter() - start)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in files}


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
        print(f"arm example network: {size}, 1 thread, median of {args.repeats} loads each")
        print(
            f"{'file':<12} {'bytes':>11} {'checked':>10} {'unchecked':>10} {'ratio':>8}"
            f" {'CPU checked':>12} {'unchecked':>10} {'ratio':>8}"
        )
        for label, path, load in (
            ("network", network, load_network),
            ("checkpoint", checkpoint, load_checkpoint),
        ):
            old = without_digest(path, folder / f"old-{path.name}")
            medians = median_seconds(load, {"checked": path, "unchecked": old}, args.repeats)
            (wall, cpu), (old_wall, old_cpu) = medians["checked"], medians["unchecked"]
            print(
                f"{label:<12} {path.stat().st_size:>11,} {wall * 1e3:>7.2f} ms "
                f"{old_wall * 1e3:>7.2f} ms {wall / old_wall:>7.3f}x "
                f"{cpu * 1e3:>9.2f} ms {old_cpu * 1e3:>7.2f} ms {cpu / old_cpu:>7.3f}x"
            )


if __name__ == "__main__":
    main()
