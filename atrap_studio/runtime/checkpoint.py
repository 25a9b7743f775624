"""Checkpoints: everything needed to resume a run exactly, in one safetensors file.

Network weights, trainer state (optimiser moments, extra modules, random generator), scene
state and counters are tensors; the graph, the network manifest and scalars are JSON metadata.
Nothing is unpickled on load, and a checkpoint only resumes the graph it was made with.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import NetworkFileError, RunError
from atrap_studio.core.yaml_io import dump_graph, parse_graph
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.safefile import read_safetensors_checked, write_safetensors_atomic

FORMAT = "atrap-checkpoint"
VERSION = 1
SUFFIX = ".atrapckpt"
MAX_FILE_BYTES = 4 * 1024**3
_DTYPES = (torch.float32, torch.float64, torch.int64, torch.uint8)


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint read from disk, checked but not yet applied to a pipeline."""

    path: Path
    step: int
    env_steps: int
    elapsed_s: float
    seed: int
    graph: GraphDocument
    tensors: dict[str, torch.Tensor]
    trainer_meta: dict[str, Any]


def save_checkpoint(
    path: str | os.PathLike[str],
    pipeline: Pipeline,
    *,
    step: int,
    env_steps: int,
    elapsed_s: float,
) -> None:
    """Write a checkpoint of ``pipeline`` after ``step`` updates (atomically)."""
    trainer_tensors, trainer_meta = pipeline.trainer.state_tensors()
    tensors: dict[str, torch.Tensor] = {}
    tensors.update({f"network/{k}": v for k, v in pipeline.network.state_dict().items()})
    tensors.update({f"trainer/{k}": v for k, v in trainer_tensors.items()})
    tensors.update({f"scene/{k}": v for k, v in pipeline.scene.state_tensors().items()})
    meta = {
        "step": step,
        "env_steps": env_steps,
        "elapsed_s": elapsed_s,
        "seed": pipeline.seed,
        "graph": dump_graph(pipeline.doc),
        "trainer": trainer_meta,
    }
    write_safetensors_atomic(
        path,
        tensors,
        {"format": FORMAT, "version": str(VERSION), "run": json.dumps(meta)},
    )


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read and check a checkpoint file; raises :class:`NetworkFileError` for a bad one."""
    where = str(path)
    tensors, metadata = read_safetensors_checked(
        path, max_bytes=MAX_FILE_BYTES, allowed_dtypes=_DTYPES
    )
    if metadata.get("format") != FORMAT:
        raise NetworkFileError(
            f"{where}: not an ATRAP checkpoint (format {metadata.get('format')!r})"
        )
    if metadata.get("version") != str(VERSION):
        raise NetworkFileError(
            f"{where}: checkpoint version {metadata.get('version')!r}; this ATRAP Studio reads "
            f"version {VERSION}"
        )
    try:
        meta = json.loads(metadata["run"])
        graph = parse_graph(meta["graph"], path=f"{where} (graph)")
        return Checkpoint(
            path=Path(path),
            step=int(meta["step"]),
            env_steps=int(meta["env_steps"]),
            elapsed_s=float(meta["elapsed_s"]),
            seed=int(meta["seed"]),
            graph=graph,
            tensors=tensors,
            trainer_meta=dict(meta["trainer"]),
        )
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise NetworkFileError(f"{where}: the checkpoint's run record is damaged ({exc})") from None


def same_pipeline(a: GraphDocument, b: GraphDocument) -> bool:
    """Whether two documents describe the same pipeline (names and positions aside)."""

    def essence(doc: GraphDocument) -> Any:
        return (
            [(n.id, n.type, n.props) for n in doc.nodes],
            [lk.to_pair() for lk in doc.links],
        )

    return bool(essence(a) == essence(b))


def check_same_graph(checkpoint: Checkpoint, doc: GraphDocument) -> None:
    """Raise :class:`RunError` unless ``checkpoint`` was made with the graph ``doc``."""
    if not same_pipeline(doc, checkpoint.graph):
        raise RunError(
            f"{checkpoint.path} was made with a different graph (nodes, properties or links "
            "differ); resume it with the graph it was made with, or start a new run"
        )


def restore(pipeline: Pipeline, checkpoint: Checkpoint) -> None:
    """Load a checkpoint's state into a pipeline built from the same graph and seed."""
    check_same_graph(checkpoint, pipeline.doc)
    if pipeline.seed != checkpoint.seed:
        raise RunError(
            f"{checkpoint.path} was made with seed {checkpoint.seed}, not {pipeline.seed}"
        )

    def part(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix) :]: v for k, v in checkpoint.tensors.items() if k.startswith(prefix)}

    try:
        pipeline.network.load_state_dict(part("network/"), strict=True)
        pipeline.trainer.load_state_tensors(part("trainer/"), checkpoint.trainer_meta)
        pipeline.scene.load_state_tensors(part("scene/"))
    except (KeyError, RuntimeError, ValueError) as exc:
        raise RunError(f"{checkpoint.path} does not fit this pipeline: {exc}") from None
