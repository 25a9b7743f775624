"""A run against the last run of the same graph: the two scores side by side, and what changed.

Every finished run leaves ``network.atrapnet`` in its folder (``runs/<graph>``, then
``runs/<graph>-2``...), whose manifest holds the graph it was trained with and its final test.
When a run ends, the editor compares it with the newest of those runs, so a change that made
training worse (three joints and a small network: 9.6% reached) is seen next to the figure it
replaced, with the node properties that differ between the two graphs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atrap_studio.core.document import GraphDocument, NodeDoc
from atrap_studio.core.editing import end_label, node_label
from atrap_studio.core.outcome import Outcome
from atrap_studio.core.registry import Registry

#: Success rates closer than this (a share) count as the same.
SAME_SUCCESS = 0.01
#: Median scores closer than this share of the larger one count as the same.
SAME_SCORE = 0.05
#: Most changes listed; the rest are counted.
MAX_CHANGES = 8


@dataclass(frozen=True)
class PreviousRun:
    """What the last run of a graph left: where, its graph, its final test and its length."""

    folder: Path
    doc: GraphDocument
    evaluation: dict[str, float]
    steps: int


def find_previous_run(wanted: Path, current: Path) -> PreviousRun | None:
    """The newest finished run among ``wanted`` and its numbered siblings, other than the
    ``current`` run's folder; None when there is none or its network file cannot be read.

    Reads a network file (torch): call it where a run is starting, not on the GUI thread.
    """
    from atrap_studio.runtime.netfile import load_network
    from atrap_studio.runtime.run_folder import numbered_siblings

    found: list[tuple[int, Path]] = []
    for folder in numbered_siblings(wanted):
        network = folder / "network.atrapnet"
        if folder.resolve() == current.resolve() or not network.is_file():
            continue
        try:
            found.append((network.stat().st_mtime_ns, folder))
        except OSError:  # removed meanwhile
            continue
    if not found:
        return None
    folder = max(found)[1]
    try:
        from atrap_studio.core.yaml_io import parse_graph

        manifest = load_network(folder / "network.atrapnet").manifest
        doc = parse_graph(manifest.graph)
    except Exception:  # a damaged or foreign file: no comparison, never a failed run
        return None
    training = manifest.training
    evaluation = training.get("evaluation") or {}
    if not isinstance(evaluation, dict):
        return None
    return PreviousRun(
        folder=folder,
        doc=doc,
        evaluation={k: float(v) for k, v in evaluation.items() if isinstance(v, (int, float))},
        steps=int(training.get("steps", 0) or 0),
    )


def verdict(now: Mapping[str, float], then: Mapping[str, float], outcome: Outcome) -> str:
    """``better``, ``worse`` or ``about the same``: by the share that succeeded, else by the
    median score (which way is better is the scene's)."""
    if "success_rate" in now and "success_rate" in then:
        delta = now["success_rate"] - then["success_rate"]
        if abs(delta) >= SAME_SUCCESS:
            return "better" if delta > 0 else "worse"
    median = outcome.summary_keys()[0]
    if median in now and median in then:
        a, b = now[median], then[median]
        if abs(a - b) > SAME_SCORE * max(abs(a), abs(b), 1e-12):
            higher = a > b
            return "better" if higher == (outcome.score.better == "higher") else "worse"
    return "about the same"


def graph_changes(before: GraphDocument, after: GraphDocument, registry: Registry) -> list[str]:
    """What differs between two graphs, in the person's words: properties (defaults filled
    in, so a value written out equal to its default is no change), node types, nodes and
    links added or removed. Positions and names are not changes to the training."""
    changes: list[str] = []
    old = {n.id: n for n in before.nodes}
    new = {n.id: n for n in after.nodes}
    for node_id, node in new.items():
        label = node_label(after, registry, node_id)
        previous = old.get(node_id)
        if previous is None:
            changes.append(f"{label} added")
        elif previous.type != node.type:
            changes.append(f"{label}: {_title(previous, registry)} → {_title(node, registry)}")
        else:
            was, now = _props(previous, registry), _props(node, registry)
            for name in sorted(set(was) | set(now)):
                if was.get(name) != now.get(name):
                    changes.append(
                        f"{label} · {name}: {_value(was.get(name))} → {_value(now.get(name))}"
                    )
    for node_id in old.keys() - new.keys():
        changes.append(f"{node_label(before, registry, node_id)} removed")
    old_links, new_links = set(before.links), set(after.links)
    for link in sorted(new_links - old_links, key=str):
        changes.append(
            f"link {end_label(after, registry, link.src)} → "
            f"{end_label(after, registry, link.dst)} added"
        )
    for link in sorted(old_links - new_links, key=str):
        changes.append(
            f"link {end_label(before, registry, link.src)} → "
            f"{end_label(before, registry, link.dst)} removed"
        )
    return changes


def comparison(
    previous: PreviousRun,
    doc: GraphDocument,
    evaluation: Mapping[str, float],
    steps: int,
    outcome: Outcome,
    registry: Registry,
) -> tuple[str, list[str]]:
    """The verdict, and the Log's lines: both scores side by side, then what changed.

    Runs of different scenes are not judged against each other (their scores differ in kind).
    """
    scenes = [
        sorted(n.type for n in d.nodes if n.type.startswith("scene.")) for d in (previous.doc, doc)
    ]
    if scenes[0] != scenes[1]:
        return "not comparable", [
            f"The last run of this graph ({previous.folder.name}) trained another scene "
            f"({', '.join(scenes[0]) or 'none'}): its result is not compared with this one."
        ]
    judged = verdict(evaluation, previous.evaluation, outcome)
    now, then = outcome.headline(evaluation), outcome.headline(previous.evaluation)
    lines = [
        f"Compared with the last run of this graph ({previous.folder.name}): this run "
        f"{now or 'no test'} after {steps:,} updates; that run {then or 'no test'} after "
        f"{previous.steps:,} updates — {judged}."
    ]
    changes = graph_changes(previous.doc, doc, registry)
    if changes:
        shown = changes[:MAX_CHANGES]
        more = len(changes) - len(shown)
        lines.append(
            "What changed since that run: "
            + "; ".join(shown)
            + (f"; and {more} more" if more else "")
            + "."
        )
    else:
        lines.append(
            "The graph is the same as in that run: the difference comes from the run's length "
            "or its luck (seeds, a stop between tests)."
        )
    return judged, lines


def _props(node: NodeDoc, registry: Registry) -> dict[str, Any]:
    spec = registry.get(node.type)
    return {**(spec.defaults() if spec else {}), **node.props}


def _title(node: NodeDoc, registry: Registry) -> str:
    spec = registry.get(node.type)
    return spec.title if spec else node.type


def _value(value: Any) -> str:
    """A property value as a person reads it (``[64, 64]``, ``0.006``, ``tanh``), cut short."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:39] + "…"
