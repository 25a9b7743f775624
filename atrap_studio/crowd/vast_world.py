"""The vast-world experiment: can networks trained apart, in regions of a world, add up to one
network as good as one trained on the whole world?

At equal total scene steps it compares: one network on the whole world; K networks, each on
its own region (each with 1/K of the instances, so as many updates as the single network);
their parameter average; their distilled merge; and a K-peer Flower crowd on loopback. Every
network is scored on the whole world with the same test episodes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import AtrapError
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import save_graph, write_text_atomic
from atrap_studio.crowd.apps import with_region
from atrap_studio.crowd.local import run_local_crowd
from atrap_studio.nodes import builtin_registry
from atrap_studio.runtime.merge import Source, average, distill
from atrap_studio.runtime.netfile import load_network
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.runner import Runner

TEST_SEED = 11


@dataclass(frozen=True)
class Setup:
    """The experiment's sizes; ``steps`` and ``instances`` are the single network's budget."""

    regions: int = 4
    steps: int = 3000
    instances: int = 1024
    distill_steps: int = 4000
    distill_batch: int = 512
    distill_lr: float = 3e-3
    crowd_rounds: int = 30
    crowd: bool = True
    #: Distillation steps of the crowd's aggregator each round (0: the strategy alone).
    crowd_distill_steps: int = 0
    #: Train the region networks and merge them (off: the single network and the crowd only).
    merges: bool = True
    episodes: int = 4096
    seed: int = 0


def setup_from(options: Any) -> Setup:
    """A setup from command-line options (``atrap experiment vast-world`` and
    ``benchmarks/crowd.py`` take the same ones); options left out keep their defaults."""
    given = {
        "regions": getattr(options, "regions", None),
        "steps": getattr(options, "steps", None),
        "instances": getattr(options, "instances", None),
        "distill_steps": getattr(options, "distill_steps", None),
        "crowd_rounds": getattr(options, "rounds", None),
        "crowd_distill_steps": getattr(options, "crowd_distill_steps", None),
        "episodes": getattr(options, "episodes", None),
    }
    return Setup(
        **{k: v for k, v in given.items() if v is not None},
        crowd=not getattr(options, "no_crowd", False),
        merges=not getattr(options, "no_merges", False),
    )


@dataclass
class Row:
    """One contender, scored on the whole world."""

    name: str
    median_error_mm: float
    p95_error_mm: float
    success_rate: float
    env_steps: int
    sequential_updates: int
    seconds: float
    note: str = ""


@dataclass
class Result:
    setup: Setup
    rows: list[Row] = field(default_factory=list)

    def ratio(self, row: Row) -> float:
        """Error relative to the single whole-world network (1.0 = as good)."""
        return row.median_error_mm / self.rows[0].median_error_mm

    def table(self) -> str:
        """The results as a Markdown table."""
        lines = [
            "| network | median error (mm) | × whole-world | 95th pct (mm) | within success "
            "radius | scene steps | sequential updates | wall time (s) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in self.rows:
            lines.append(
                f"| {row.name} | {row.median_error_mm:.2f} | {self.ratio(row):.2f} | "
                f"{row.p95_error_mm:.1f} | {row.success_rate:.1%} | {row.env_steps:,} | "
                f"{row.sequential_updates:,} | {row.seconds:.0f} |"
            )
        return "\n".join(lines)

    def save(self, folder: Path) -> None:
        data = {"setup": asdict(self.setup), "rows": [asdict(r) for r in self.rows]}
        write_text_atomic(json.dumps(data, indent=1), folder / "vast-world.json")
        write_text_atomic(self.table() + "\n", folder / "vast-world.md")


def sized(doc: GraphDocument, setup: Setup, instances: int, steps: int) -> GraphDocument:
    """``doc`` with the experiment's budget: instances, updates, no early stop."""
    changed = doc.model_copy(deep=True)
    for node in changed.nodes:
        if node.type == "scene.robot_arm":
            node.props["instances"] = instances
        elif node.type == "nn.factory":
            node.props["seed"] = setup.seed
        elif node.type.startswith("trainer."):
            node.props.update(
                steps=steps,
                goal_success_rate=0.0,
                eval_every=10**9,
                checkpoint_every=10**9,
                explore_steps=min(300, steps // 10),
            )
    return changed


def run(
    doc: GraphDocument,
    setup: Setup,
    folder: Path,
    say: Callable[[str], None] = print,
) -> Result:
    """Train and score every contender; results also go to ``folder``."""
    if not any(n.type == "scene.robot_arm" for n in doc.nodes):
        raise AtrapError("the vast-world experiment splits a robot arm's workspace: use an arm")
    if setup.instances % setup.regions:
        raise AtrapError(f"instances ({setup.instances}) must split evenly into the regions")
    folder.mkdir(parents=True, exist_ok=True)
    registry = builtin_registry()
    share = setup.instances // setup.regions
    total_steps = setup.steps * setup.instances
    result = Result(setup)
    world = Pipeline(sized(doc, setup, setup.instances, setup.steps), registry)

    def whole(module: torch.nn.Module) -> dict[str, float]:
        with torch.no_grad():
            return world.evaluate(module, setup.episodes, TEST_SEED, whole_world=True).summary()

    def add(
        name: str, module: torch.nn.Module, seconds: float, updates: int, note: str = ""
    ) -> Row:
        score = whole(module)
        row = Row(
            name,
            score["median_error_mm"],
            score["p95_error_mm"],
            score["success_rate"],
            total_steps,
            updates,
            seconds,
            note,
        )
        result.rows.append(row)
        say(f"{name}: {row.median_error_mm:.2f} mm ({result.ratio(row):.2f}×) in {seconds:.0f} s")
        result.save(folder)
        return row

    started = time.perf_counter()
    Runner(world).run(setup.steps)
    add("one network, whole world", world.network, time.perf_counter() - started, setup.steps)

    if setup.merges:
        _merges(doc, setup, folder, registry, share, add, whole)
    if setup.crowd:
        _crowd(doc, setup, folder, share, add, say)
    return result


def _merges(
    doc: GraphDocument,
    setup: Setup,
    folder: Path,
    registry: Registry,
    share: int,
    add: Callable[..., Row],
    whole: Callable[[torch.nn.Module], dict[str, float]],
) -> None:
    """The region networks, the best of them on the whole world, their average and merge."""
    sources: list[Source] = []
    started = time.perf_counter()
    for region in range(setup.regions):
        regional = with_region(sized(doc, setup, share, setup.steps), region, setup.regions)
        pipeline = Pipeline(regional, registry)
        runner = Runner(pipeline, out_dir=folder / f"region-{region + 1}")
        outcome = runner.run(setup.steps)
        assert outcome.network_path is not None
        sources.append(Source(outcome.network_path, load_network(outcome.network_path), pipeline))
    spent = time.perf_counter() - started
    scores = [whole(source.network.module) for source in sources]
    best = min(range(len(scores)), key=lambda i: scores[i]["median_error_mm"])
    own = [
        s.scene.evaluate(s.network.module, setup.episodes, TEST_SEED).summary()["median_error_mm"]
        for s in sources
    ]
    add(
        f"best of {setup.regions} region networks",
        sources[best].network.module,
        spent,
        setup.steps,
        "on their own regions: " + ", ".join(f"{e:.2f}" for e in own) + " mm",
    )
    started = time.perf_counter()
    module, _ = average(sources)
    add("their average", module, spent + time.perf_counter() - started, setup.steps)
    started = time.perf_counter()
    student, loss, _ = distill(
        sources,
        steps=setup.distill_steps,
        batch=setup.distill_batch,
        lr=setup.distill_lr,
        seed=setup.seed,
    )
    add(
        "their distilled merge",
        student,
        spent + time.perf_counter() - started,
        setup.steps,
        f"{setup.distill_steps} distillation steps on {setup.distill_batch} states per region, "
        f"final loss {loss:.1e}",
    )


def _crowd(
    doc: GraphDocument,
    setup: Setup,
    folder: Path,
    share: int,
    add: Callable[..., Row],
    say: Callable[[str], None],
) -> None:
    """A crowd of one peer per region on loopback, at the single network's scene steps."""
    peer_graph = folder / "peer.yaml"
    save_graph(sized(doc, setup, share, setup.steps), peer_graph)
    local_steps = max(1, setup.steps // setup.crowd_rounds)
    started = time.perf_counter()
    status = run_local_crowd(
        peer_graph,
        folder / "crowd",
        peers=setup.regions,
        rounds=setup.crowd_rounds,
        settings={
            "local-steps": local_steps,
            "eval-episodes": 256,
            "poll-interval": 0.2,
            "distill-steps": setup.crowd_distill_steps,
        },
        on_status=lambda s: (
            say(f"  crowd round {len(s.rounds)}/{setup.crowd_rounds}") if s.rounds else None
        ),
    )
    seconds = time.perf_counter() - started
    merged = load_network(folder / "crowd" / "rounds" / "network.atrapnet")
    per_round = seconds / max(1, len(status.rounds))
    aggregator = (
        f" + distilling aggregator ({setup.crowd_distill_steps} steps a round)"
        if setup.crowd_distill_steps
        else ""
    )
    add(
        f"crowd of {setup.regions} peers (Flower, loopback){aggregator}",
        merged.module,
        seconds,
        local_steps * setup.crowd_rounds,
        f"{setup.crowd_rounds} rounds of {local_steps} local updates, {per_round:.1f} s a round",
    )
