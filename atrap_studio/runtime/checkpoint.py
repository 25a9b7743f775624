"""Checkpoints: everything needed to resume a run exactly, in one safetensors file.

Network weights, trainer state (optimiser moments, extra modules, random generator), scene
state and counters are tensors; the graph, the network manifest and scalars are JSON metadata.
Nothing is unpickled on load, and a checkpoint only resumes the graph it was made with.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import NetworkFileError, RunError, quoted, shortened
from atrap_studio.core.yaml_io import dump_graph, parse_graph
from atrap_studio.runtime.contracts import Trainer
from atrap_studio.runtime.network_owner import NetworkOwner
from atrap_studio.runtime.networks import Architecture, build_module
from atrap_studio.runtime.pipeline import Agent, Pipeline
from atrap_studio.runtime.safefile import (
    declares_digests,
    open_safetensors,
    write_safetensors_atomic,
)

FORMAT = "atrap-checkpoint"
VERSION = 1
SUFFIX = ".atrapckpt"
MAX_FILE_BYTES = 4 * 1024**3
_DTYPES = (torch.float32, torch.float64, torch.int64, torch.uint8)
#: Where each agent's state but the first's lies in a checkpoint of several agents.
AGENT_PREFIX = "agent/"


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
    #: The network's architecture, revision and growth history when it was taken (empty in
    #: checkpoints of older versions, whose networks never changed shape).
    network_meta: dict[str, Any]
    #: The architect's state, when the graph's network grows and shrinks.
    architect_meta: dict[str, Any] | None
    #: Each agent's but the first's JSON state ("trainer", "network", "architect"), by its
    #: trainer's id; its tensors are under ``agent/<id>/``. Empty for a graph of one agent.
    agents_meta: dict[str, dict[str, Any]] = field(default_factory=dict)


def save_checkpoint(
    path: str | os.PathLike[str],
    pipeline: Pipeline,
    *,
    step: int,
    env_steps: int,
    elapsed_s: float,
) -> None:
    """Write a checkpoint of ``pipeline`` after ``step`` updates (atomically)."""
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, Any] = {
        "step": step,
        "env_steps": env_steps,
        "elapsed_s": elapsed_s,
        "seed": pipeline.seed,
        "graph": dump_graph(pipeline.doc),
    }
    # each agent but the first keeps its JSON state under "agents" (see _agent_prefix)
    others: dict[str, Any] = {}
    for agent in pipeline.agents:
        prefix = _agent_prefix(pipeline, agent)
        own = others.setdefault(agent.trainer_id, {}) if prefix else meta
        trainer_tensors, own["trainer"] = agent.trainer.state_tensors()
        tensors.update({f"{prefix}network/{k}": v for k, v in agent.network.state_dict().items()})
        tensors.update({f"{prefix}trainer/{k}": v for k, v in trainer_tensors.items()})
        owner = agent.owner
        own["network"] = {
            "architecture": owner.architecture.model_dump(mode="json"),
            "revision": owner.revision,
            "history": owner.history,
        }
        if agent.architect is not None:
            own["architect"], tensors[f"{prefix}architect/rng"] = agent.architect.state()
    tensors.update({f"scene/{k}": v for k, v in pipeline.scene.state_tensors().items()})
    if others:
        meta["agents"] = others
    write_safetensors_atomic(
        path,
        tensors,
        {"format": FORMAT, "version": str(VERSION), "run": json.dumps(meta)},
    )


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read and check a checkpoint file; raises :class:`NetworkFileError` for a bad one."""
    where = str(path)
    header = open_safetensors(path, max_bytes=MAX_FILE_BYTES, allowed_dtypes=_DTYPES)
    metadata = header.metadata
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
        step, env_steps = int(meta["step"]), int(meta["env_steps"])
        elapsed_s, seed = float(meta["elapsed_s"]), int(meta["seed"])
        trainer_meta = dict(meta["trainer"])
        network_meta = dict(meta.get("network", {}))
        architect_meta = dict(meta["architect"]) if "architect" in meta else None
        agents_meta = {str(k): dict(v) for k, v in dict(meta.get("agents", {})).items()}
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise NetworkFileError(f"{where}: the checkpoint's run record is damaged ({exc})") from None
    return Checkpoint(
        path=Path(path),
        step=step,
        env_steps=env_steps,
        elapsed_s=elapsed_s,
        seed=seed,
        graph=graph,
        tensors=header.read_tensors(),
        trainer_meta=trainer_meta,
        network_meta=network_meta,
        architect_meta=architect_meta,
        agents_meta=agents_meta,
    )


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
    if same_pipeline(doc, checkpoint.graph):
        return
    if _intact(checkpoint):
        raise RunError(
            f"{checkpoint.path} was made with a different graph (nodes, properties or links "
            "differ); resume it with the graph it was made with, or start a new run"
        )
    raise RunError(
        f"{checkpoint.path} does not match this graph (nodes, properties or links differ): "
        "either it was made with another graph or it is damaged, and it has no content digest "
        "(an older ATRAP Studio wrote it) to tell which; resume it with the graph it was made "
        "with, or start a new run"
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

    def agent_meta(agent: Agent) -> dict[str, Any]:
        if agent is pipeline.agents[0]:
            return {
                "trainer": checkpoint.trainer_meta,
                "network": checkpoint.network_meta,
                "architect": checkpoint.architect_meta,
            }
        return checkpoint.agents_meta[agent.trainer_id]

    prefix = partial(_agent_prefix, pipeline)

    def load_trainer(agent: Agent) -> None:
        agent.trainer.load_state_tensors(
            part(f"{prefix(agent)}trainer/"), agent_meta(agent)["trainer"]
        )
        _check_optimizers(agent.trainer)

    def load_network(agent: Agent) -> None:
        weights = part(f"{prefix(agent)}network/")
        _reshape_network(agent.owner, pipeline.device, agent_meta(agent)["network"], weights)
        agent.network.load_state_dict(weights)

    def load_architect(agent: Agent) -> None:
        if agent.architect is not None:
            meta = agent_meta(agent).get("architect")
            if meta is None:
                raise KeyError("architect")
            agent.architect.load_state(meta, part(f"{prefix(agent)}architect/")["rng"])

    def named(what: str, agent: Agent) -> str:
        return what if len(pipeline.agents) == 1 else f"{what} of '{agent.trainer_id}'"

    parts: list[tuple[str, Callable[[], object]]] = []
    for agent in pipeline.agents:
        parts += [
            (named("network", agent), partial(load_network, agent)),
            (named("trainer state", agent), partial(load_trainer, agent)),
        ]
    parts.append(("scene state", lambda: pipeline.scene.load_state_tensors(part("scene/"))))
    for agent in pipeline.agents:
        parts.append((named("architect state", agent), partial(load_architect, agent)))
    for what, load in parts:
        try:
            load()
        except Exception as exc:  # any shape of damage in state that came from a file
            missing = isinstance(exc, KeyError) and exc.args
            problem = f"{quoted(exc.args[0])} is missing" if missing else exc
            why = (
                "the file is intact (its digests match), so another version of ATRAP Studio "
                "wrote it; resume it with that version, or start a new run"
                if _intact(checkpoint)
                else "the file is damaged or incomplete (it has no content digest to tell "
                "which); use another copy, or start a new run"
            )
            raise RunError(
                f"{checkpoint.path}: its {what} does not fit this graph's run "
                f"({shortened(str(problem), 300)}); {why}"
            ) from None


def _agent_prefix(pipeline: Pipeline, agent: Agent) -> str:
    """Where ``agent``'s tensors lie: the first agent's under the names checkpoints of one
    agent have always used, each other's under ``agent/<its trainer's id>/``."""
    return "" if agent is pipeline.agents[0] else f"{AGENT_PREFIX}{agent.trainer_id}/"


def _reshape_network(
    owner: NetworkOwner,
    device: torch.device,
    meta: dict[str, Any],
    weights: dict[str, torch.Tensor],
) -> None:
    """Give the pipeline the network shape the checkpoint was taken with (the architect may
    have grown it), before any weights or optimiser state are loaded into it.

    Raises:
        ValueError: an architecture that is not valid, or whose shapes are not those of the
            checkpoint's own weights (so nothing larger than the file is ever built).
    """
    if "architecture" not in meta:  # older checkpoints: the network kept its shape
        return
    architecture = Architecture.model_validate(meta["architecture"])
    if architecture != owner.architecture:
        shapes = {name: tuple(value.shape) for name, value in weights.items()}
        if architecture.parameter_shapes() != shapes:
            raise ValueError("the recorded architecture does not match the recorded weights")
        module = build_module(architecture, init="default", generator=torch.Generator())
        owner.rebuild(architecture, module.to(device))
    owner.revision = int(meta["revision"])
    owner.history = [str(line) for line in meta["history"]]


def _check_optimizers(trainer: Trainer) -> None:
    """Refuse optimiser state with entries missing for some parameters: torch loads it without
    a word and the first update after the resume fails (Adam: ``KeyError: 'exp_avg'``).

    Raises:
        KeyError: naming the first missing entry.
    """
    optimizers = getattr(trainer, "optimizers", None)
    for optimizer in optimizers().values() if optimizers is not None else ():
        params = [p for group in optimizer.param_groups for p in group["params"]]
        # A parameter that never had a gradient has no state at all, and needs none.
        kept = [frozenset(optimizer.state[p]) for p in params if optimizer.state.get(p)]
        every = frozenset[str]().union(*kept)
        for keys in kept:
            if keys != every:
                raise KeyError(sorted(every - keys)[0])


def _intact(checkpoint: Checkpoint) -> bool:
    """Whether its digests vouched for it (read again: only a refusal needs to know)."""
    return declares_digests(checkpoint.path, max_bytes=MAX_FILE_BYTES)
