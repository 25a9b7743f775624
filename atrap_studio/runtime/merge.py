"""Merging networks trained apart into one: parameter averaging and distillation.

Averaging only makes sense for networks that grew from one initialisation (a shared lineage);
averaging networks that merely share a shape gives a network worse than either, so it is
refused unless asked for. Distillation works for any networks that read and drive the same
things: a fresh student learns to answer like each teacher on the states of that teacher's
own scene (rebuilt from the graph its file carries), so the student covers the union of the
teachers' worlds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch

from atrap_studio import __version__
from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import AtrapError
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import parse_graph
from atrap_studio.runtime.architect.surgery import hidden_widths
from atrap_studio.runtime.contracts import Effector
from atrap_studio.runtime.netfile import LoadedNetwork, NetManifest, check_fits, load_network
from atrap_studio.runtime.networks import Architecture, build_module
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.provenance import (
    MAX_PARENTS,
    Origin,
    Provenance,
    author,
    now,
    parent_of,
    weights_digest,
)
from atrap_studio.runtime.trainers.base import cosine_lr

Method = Literal["average", "distill"]
#: Weight of matching the teacher's action itself beside matching where it moves the scene.
OUTCOME_ACTION_WEIGHT = 0.1

#: Instances a source's scene keeps when it is rebuilt only to draw states from.
SCENE_INSTANCES = 64
#: Longest episode a source's scene may ask scoring to play.
EPISODE_STEPS = 100


class MergeError(AtrapError):
    """Networks that cannot be merged the way asked; the message says why and what to do."""


@dataclass(frozen=True)
class Source:
    """One network to merge: where it came from, the network, and its own scene's pipeline."""

    path: Path
    network: LoadedNetwork
    scene: Pipeline

    @property
    def label(self) -> str:
        variant = self.network.manifest.provenance.variant
        return f"{self.path.name} ({variant})" if variant else self.path.name


@dataclass
class MergeReport:
    """Scores of the merged network on each source's scene beside the source's own."""

    method: Method
    rows: list[dict[str, float | str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    distill_loss: float | None = None
    distill_lr: float | None = None

    def lines(self) -> list[str]:
        """A readable table: one row per source scene."""
        rate = "" if self.distill_lr is None else f" at learning rate {self.distill_lr:g}"
        out = [f"merged by {self.method}{rate}"] + [f"warning: {w}" for w in self.warnings]
        if self.rows:
            out.append(f"median {self.rows[0]['score']} ({self.rows[0]['better']} is better)")
        out.append(f"{'scene of':<40} {'its own network':>18} {'merged network':>18}")
        for row in self.rows:
            unit = f" {row['unit']}" if row["unit"] else ""
            out.append(
                f"{row['source']!s:<40} {row['own_median']:>15.2f}{unit:<3}"
                f"{row['merged_median']:>15.2f}{unit}"
            )
        return out


def load_sources(
    paths: Sequence[str | Path], registry: Registry, *, graph: GraphDocument | None = None
) -> list[Source]:
    """Read each network (checked as any received file) and rebuild the scene it trained in.

    Raises:
        NetworkFileError: a file that is not a sound network.
        MergeError: fewer than two networks, or a file that carries no graph when none is given.
    """
    if len(paths) < 2:
        raise MergeError("merging needs at least two networks")
    if len(paths) > MAX_PARENTS:
        raise MergeError(f"at most {MAX_PARENTS} networks can be merged at once")
    sources = []
    for name in paths:
        path = Path(name)
        network = load_network(path)
        doc = graph
        if network.manifest.graph:
            doc = parse_graph(network.manifest.graph, path=f"{path} (its graph)")
        if doc is None:
            raise MergeError(
                f"{path} does not carry the graph it was trained with; give one with --graph"
            )
        sources.append(Source(path, network, scene_pipeline(doc, registry, str(path))))
    _check_same_meaning(sources)
    return sources


def scene_pipeline(doc: GraphDocument, registry: Registry, source: str) -> Pipeline:
    """A pipeline of ``doc`` for its scene and sensors only.

    The graph may come from a stranger's network file: its network node becomes a tiny NN
    Factory (so it opens no other file and builds no giant network) and its scene simulates
    few instances (merging spawns scenes of its own size anyway).
    """
    doc = doc.model_copy(deep=True)
    for node in doc.nodes:
        spec = registry.get(node.type)
        if spec is not None and spec.category == "nn":
            node.type, node.props = "nn.factory", {"hidden": [8]}
        elif spec is not None and spec.category == "scene":
            for name, most in (("instances", SCENE_INSTANCES), ("episode_steps", EPISODE_STEPS)):
                value = node.props.get(name)
                if isinstance(value, int):  # anything else: validation says what is wrong
                    node.props[name] = min(value, most)
    return Pipeline(doc, registry, source=source)


def average(
    sources: Sequence[Source], weights: Sequence[float] | None = None, *, unrelated: bool = False
) -> tuple[torch.nn.Sequential, list[str]]:
    """The weighted mean of the sources' parameters.

    Raises:
        MergeError: different architectures, weights that are not positive, or different
            lineages (unless ``unrelated``, when it is a warning instead).
    """
    weights = _weights(sources, weights)
    architectures = [s.network.manifest.architecture for s in sources]
    first = aligned_architecture(architectures)
    warnings = []
    if first is None:
        raise MergeError(_unlike(sources))
    if any(arch != first for arch in architectures):
        grown = ", ".join(
            f"{s.path.name} {hidden_widths(arch)}"
            for s, arch in zip(sources, architectures, strict=True)
        )
        warnings.append(
            f"the networks grew to different widths ({grown}): each was padded with silent "
            f"neurons (zero weights) to {hidden_widths(first)} before averaging, so a neuron "
            "only some of them have is averaged with zeros"
        )
    lineages = {s.network.manifest.provenance.lineage for s in sources}
    if len(lineages) != 1 or None in lineages:
        problem = (
            "these networks did not grow from one initialisation (their lineages differ or "
            "are unknown); averaging unrelated networks gives a network worse than each"
        )
        if not unrelated:
            raise MergeError(f"{problem}. Merge them by distillation, or insist with --unrelated")
        warnings.append(problem)
    module = build_module(first, init="default", generator=torch.Generator().manual_seed(0))
    shapes = first.parameter_shapes()
    states = [padded_state(s.network.module.state_dict(), shapes) for s in sources]
    merged = {
        name: sum(w * state[name] for w, state in zip(weights, states, strict=True))
        for name in states[0]
    }
    module.load_state_dict(merged)
    return module, warnings


def aligned_architecture(architectures: Sequence[Architecture]) -> Architecture | None:
    """The architecture every one of ``architectures`` fits in by padding its hidden layers
    with silent neurons (the widest of each linear layer), or None when they differ in more
    than widths (another depth, other layers, other inputs or outputs)."""
    first = architectures[0]
    if any(
        len(a.layers) != len(first.layers) or (a.inputs, a.outputs) != (first.inputs, first.outputs)
        for a in architectures
    ):
        return None
    layers = []
    for group in zip(*(a.layers for a in architectures), strict=True):
        if all(layer == group[0] for layer in group):
            layers.append(group[0])
            continue
        if any(layer.kind != "linear" for layer in group):
            return None  # a convolution or a layer norm that differs cannot be padded exactly
        layers.append(
            group[0].model_copy(
                update={
                    "in_features": max(layer.in_features or 0 for layer in group),
                    "out_features": max(layer.out_features or 0 for layer in group),
                }
            )
        )
    return first.model_copy(update={"layers": layers})


def padded_state(
    state: dict[str, torch.Tensor], shapes: dict[str, tuple[int, ...]]
) -> dict[str, torch.Tensor]:
    """``state`` with each tensor placed in the corner of a zero tensor of its aligned shape:
    padded neurons have no inputs and no effect, so the network computes what it did."""
    padded = {}
    for name, tensor in state.items():
        if tuple(tensor.shape) == shapes[name]:
            padded[name] = tensor
            continue
        grown = tensor.new_zeros(shapes[name])
        grown[tuple(slice(0, size) for size in tensor.shape)] = tensor
        padded[name] = grown
    return padded


def _unlike(sources: Sequence[Source]) -> str:
    """Why networks cannot be averaged: their shapes, and how each grew when it did."""

    def shape(source: Source) -> str:
        manifest = source.network.manifest
        growth = manifest.training.get("growth") if isinstance(manifest.training, dict) else None
        grew = f", grown by {len(growth)} changes" if isinstance(growth, list) and growth else ""
        return f"{source.path.name} has hidden layers {hidden_widths(manifest.architecture)}{grew}"

    return (
        "; ".join(shape(s) for s in sources)
        + ". Averaging needs the same layers (networks that only grew to other widths are "
        "padded to match, but not other depths or layers): merge them by distillation "
        "(--method distill)"
    )


#: The distillation rate when the sources' graph names none (tuned on a 5 x 256 arm network).
DEFAULT_DISTILL_LR = 3e-3


def trained_rate(pipeline: Pipeline) -> float:
    """The rate to distil at when none is given: the one ``pipeline``'s graph trains its
    network at, since a student of its size learns well at it (the arm's 3 x 128 networks of
    four regions distilled to 0.93x the whole-world error at its 0.02, 1.72x at 3e-3)."""
    analysis = pipeline.analysis
    lr = analysis.props[analysis.trainer].get("lr") if analysis.trainer else None
    if isinstance(lr, int | float) and not isinstance(lr, bool) and lr > 0:
        return float(lr)
    return DEFAULT_DISTILL_LR


def distill(
    sources: Sequence[Source],
    student: Architecture | None = None,
    *,
    steps: int = 2000,
    batch: int = 512,
    lr: float | None = None,
    seed: int = 0,
    weights: Sequence[float] | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> tuple[torch.nn.Sequential, float, str]:
    """Train a fresh student to answer like each teacher on the states of its own scene.

    Every step draws ``batch`` fresh states from each teacher's scene (its region of the
    world), asks that teacher, and moves the student towards its answers (see
    ``_imitation_loss``), weighted per teacher. Returns the student (built from ``student``,
    else the first teacher's architecture), its final loss and its lineage (its own initial
    weights). ``lr`` None: the first source's :func:`trained_rate`.
    """
    arch = student or sources[0].network.manifest.architecture
    generator = torch.Generator().manual_seed(seed)
    module = build_module(arch, generator=generator)
    lineage = weights_digest(module)
    pairs = [(s.scene, s.network.module) for s in sources]
    loss = teach(
        module,
        pairs,
        steps=steps,
        batch=batch,
        lr=trained_rate(sources[0].scene) if lr is None else lr,
        generator=generator,
        weights=_weights(sources, weights),
        progress=progress,
    )
    return module.eval(), loss, lineage


def teach(
    student: torch.nn.Module,
    teachers: Sequence[tuple[Pipeline, torch.nn.Module]],
    *,
    steps: int,
    batch: int,
    lr: float,
    generator: torch.Generator,
    weights: Sequence[float],
    progress: Callable[[int, float], None] | None = None,
) -> float:
    """Move ``student`` (in place) towards each teacher on fresh states of the teacher's
    scene; its final loss. Shared by merging and by the crowd's distilling aggregator."""
    for _, teacher in teachers:
        teacher.eval()
    optimizer = torch.optim.Adam(student.parameters(), lr=lr)
    recent = math.nan
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(lr, step, steps)
        loss = torch.zeros(())
        for (scene, teacher), weight in zip(teachers, weights, strict=True):
            draw = int(torch.randint(0, 2**62, (1,), generator=generator))
            loss = loss + weight * _imitation_loss(scene, student, teacher, batch, draw)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        recent = float(loss.detach())
        if not math.isfinite(recent):
            raise MergeError(f"distillation diverged at step {step + 1}: lower its lr")
        if progress is not None:
            progress(step + 1, recent)
    return recent


@dataclass(frozen=True)
class Merged:
    """A merged network, its manifest and how it scores against its sources."""

    module: torch.nn.Sequential
    manifest: NetManifest
    report: MergeReport


def merge(
    sources: Sequence[Source],
    method: Method,
    *,
    weights: Sequence[float] | None = None,
    unrelated: bool = False,
    student: Architecture | None = None,
    steps: int = 2000,
    lr: float | None = None,
    seed: int = 0,
    episodes: int = 2048,
    progress: Callable[[int, float], None] | None = None,
) -> Merged:
    """Merge by ``method`` ("average" or "distill"), then score the result on every source."""
    report = MergeReport(method)
    training: dict[str, object] = {"merged": method, "sources": len(sources)}
    if method == "average":
        module, report.warnings = average(sources, weights, unrelated=unrelated)
        lineages = {s.network.manifest.provenance.lineage for s in sources}
        lineage = lineages.pop() if len(lineages) == 1 else weights_digest(module)
        aligned = aligned_architecture([s.network.manifest.architecture for s in sources])
        assert aligned is not None  # average() refused otherwise
        architecture = aligned
    else:
        report.distill_lr = trained_rate(sources[0].scene) if lr is None else lr
        module, report.distill_loss, lineage = distill(
            sources,
            student,
            steps=steps,
            lr=report.distill_lr,
            seed=seed,
            weights=weights,
            progress=progress,
        )
        architecture = student or sources[0].network.manifest.architecture
        training |= {
            "distill_steps": steps,
            "distill_lr": report.distill_lr,
            "distill_loss": report.distill_loss,
        }
    report.rows = score(sources, module, episodes=episodes)
    training["scores"] = report.rows
    origin: Origin = "merged-average" if method == "average" else "merged-distill"
    manifest = merged_manifest(sources, architecture, lineage, origin, training)
    return Merged(module, manifest, report)


def merged_manifest(
    sources: Sequence[Source],
    architecture: Architecture,
    lineage: str | None,
    method: Origin,
    training: dict[str, object],
) -> NetManifest:
    """The merged network's manifest: the first source's meanings, every source as a parent."""
    first = sources[0].network.manifest
    variants = " + ".join(s.network.manifest.provenance.variant or s.path.name for s in sources)
    provenance = Provenance(
        atrap_version=__version__,
        origin=method,
        trained_by=author(),
        created=now(),
        graph_name=first.provenance.graph_name,
        scene=first.provenance.scene,
        variant=f"merged: {variants}"[:500],
        lineage=lineage,
        parents=[parent_of(s.path, s.network.manifest.provenance) for s in sources],
    )
    return NetManifest(
        architecture=architecture,
        inputs=first.inputs,
        outputs=first.outputs,
        training=training,
        provenance=provenance,
        graph=first.graph,
    )


def score(
    sources: Sequence[Source], module: torch.nn.Module, *, episodes: int = 2048, seed: int = 7
) -> list[dict[str, float | str]]:
    """The median score of each source's own network and of ``module`` on each source scene,
    judged as that scene declares (its score's name, unit and better direction)."""
    rows: list[dict[str, float | str]] = []
    with torch.no_grad():
        for source in sources:
            pipeline = source.scene
            median = pipeline.outcome.summary_keys()[0]
            own = pipeline.evaluate(source.network.module, episodes, seed).summary()
            merged = pipeline.evaluate(module, episodes, seed).summary()
            rows.append(
                {
                    "source": source.label,
                    "score": pipeline.outcome.score.name,
                    "unit": pipeline.outcome.score.unit,
                    "better": pipeline.outcome.score.better,
                    "own_median": own[median],
                    "own_success_rate": own["success_rate"],
                    "merged_median": merged[median],
                    "merged_success_rate": merged["success_rate"],
                }
            )
    return rows


def _imitation_loss(
    pipeline: Pipeline,
    student: torch.nn.Module,
    teacher: torch.nn.Module,
    batch: int,
    seed: int,
) -> torch.Tensor:
    """How far the student's answers are from the teacher's on fresh states of its scene.

    Where the scene's actions move an effector (the arm's tip), the student learns to put it
    where the teacher's action puts it — distance in metres, the measure the task is judged
    by — plus a small pull towards the teacher's action itself; joint angles that land a
    centimetre apart can differ little as numbers, and much in the world. Elsewhere the
    student matches the teacher's actions (mean squared error).
    """
    mine = pipeline.scene.spawn(batch, torch.Generator().manual_seed(seed))
    observation = pipeline.observe(mine)
    with torch.no_grad():
        answer = teacher(observation)
    action = student(observation)
    imitation = torch.nn.functional.mse_loss(action, answer)
    if not isinstance(mine, Effector):
        return imitation
    pipeline.act(mine, action)
    reached: torch.Tensor = mine.effector
    with torch.no_grad():  # the same states again (same seed), moved by the teacher
        theirs = pipeline.scene.spawn(batch, torch.Generator().manual_seed(seed))
        pipeline.observe(theirs)
        pipeline.act(theirs, answer)
        assert isinstance(theirs, Effector)  # a spawn is the same kind of scene
        aimed = theirs.effector
    gap: torch.Tensor = torch.linalg.vector_norm(reached - aimed, dim=-1).mean()
    return gap + OUTCOME_ACTION_WEIGHT * imitation


def _weights(sources: Sequence[Source], weights: Sequence[float] | None) -> list[float]:
    if weights is None:
        return [1.0 / len(sources)] * len(sources)
    if len(weights) != len(sources):
        raise MergeError(f"{len(weights)} weights for {len(sources)} networks: give one each")
    if not all(math.isfinite(w) and w > 0 for w in weights):
        raise MergeError(f"weights must be positive numbers, got {list(weights)}")
    total = sum(weights)
    return [w / total for w in weights]


def _check_same_meaning(sources: Sequence[Source]) -> None:
    first = sources[0].network.manifest
    for source in sources[1:]:
        try:
            check_fits(source.path.name, source.network.manifest, first.inputs, first.outputs)
        except AtrapError as exc:
            raise MergeError(
                f"{exc} (the graph of {sources[0].path.name}); only networks for the same "
                "sensors and actions can be merged"
            ) from None
