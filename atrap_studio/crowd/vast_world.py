"""The vast-world experiment: can networks trained apart, in regions of a world, add up to one
network as good as one trained on the whole world?

At equal total scene steps it compares: one network on the whole world; K networks, each on
its own region (each with 1/K of the instances, so as many updates as the single network);
their parameter average; their distilled merge; and a K-peer Flower crowd on loopback — or,
to compare ways of training a crowd within the time, any number of crowds simulated in this
process (crowd/simulation.py: our ServerApp and ClientApp functions, no Flower processes).
Every network is scored on the whole world with the same test episodes.
"""

from __future__ import annotations

import json
import logging
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
from atrap_studio.crowd.app_check import RUN_CONFIG
from atrap_studio.crowd.apps import with_region
from atrap_studio.crowd.local import run_local_crowd
from atrap_studio.crowd.simulation import simulate_crowd
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
    #: None: the rate the graph trains at (merge.trained_rate).
    distill_lr: float | None = None
    crowd_rounds: int = 30
    crowd: bool = True
    #: Distillation steps of the crowd's aggregator each round (0: the strategy alone).
    crowd_distill_steps: int = RUN_CONFIG["distill-steps"]  # type: ignore[assignment]
    crowd_distill_batch: int = RUN_CONFIG["distill-batch"]  # type: ignore[assignment]
    #: FedProx's pull towards the merged network on every peer (0: none).
    crowd_prox_mu: float = RUN_CONFIG["prox-mu"]  # type: ignore[assignment]
    #: SCAFFOLD's control variates (0: off).
    crowd_scaffold: int = RUN_CONFIG["scaffold"]  # type: ignore[assignment]
    #: Run the crowd in this process (crowd/simulation.py) instead of Flower's processes
    #: (always for ``contenders``).
    simulate: bool = False
    #: Crowds to simulate side by side, each as run settings that differ from the crowd's
    #: above (``"prox-mu=0.1"``, ``"distill-steps=300+distill-batch=512"``, ``"rounds=60"``);
    #: empty: the one crowd above.
    contenders: tuple[str, ...] = ()
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
        "crowd_distill_batch": getattr(options, "crowd_distill_batch", None),
        "crowd_prox_mu": getattr(options, "crowd_prox_mu", None),
        "crowd_scaffold": getattr(options, "crowd_scaffold", None),
        "episodes": getattr(options, "episodes", None),
    }
    contenders = tuple(getattr(options, "contender", None) or ())
    setup = Setup(
        **{k: v for k, v in given.items() if v is not None},
        crowd=not getattr(options, "no_crowd", False),
        merges=not getattr(options, "no_merges", False),
        simulate=bool(getattr(options, "simulate", False) or contenders),
        contenders=contenders,
    )
    for spec in contenders:
        contender_settings(spec, setup)  # a bad one is named before anything trains
    return setup


def crowd_settings(setup: Setup) -> dict[str, int | float]:
    """The crowd's run settings (and ``rounds``) the setup asks for."""
    return {
        "rounds": setup.crowd_rounds,
        "distill-steps": setup.crowd_distill_steps,
        "distill-batch": setup.crowd_distill_batch,
        "prox-mu": setup.crowd_prox_mu,
        "scaffold": setup.crowd_scaffold,
    }


#: Run settings a contender may not change (the experiment sets them).
FIXED = ("graph-file", "out-dir", "num-rounds", "min-peers", "strategy", "local-steps")


def contender_settings(spec: str, setup: Setup) -> dict[str, int | float]:
    """The setup's crowd settings changed by ``spec`` (``KEY=NUMBER`` joined by ``+``; keys:
    ``rounds`` and the numeric run settings)."""
    settings = crowd_settings(setup)
    keys = ["rounds"] + [
        k for k, v in RUN_CONFIG.items() if isinstance(v, int | float) and k not in FIXED
    ]
    for part in filter(None, spec.split("+")):
        key, _, text = (piece.strip() for piece in part.partition("="))
        if key not in keys:
            raise AtrapError(
                f"contender {spec!r}: {part!r} is not KEY=NUMBER with KEY one of {', '.join(keys)}"
            )
        known = settings.get(key, RUN_CONFIG.get(key))
        try:
            settings[key] = float(text) if isinstance(known, float) else int(text)
        except ValueError:
            raise AtrapError(f"contender {spec!r}: {text!r} is not a number for {key}") from None
    if not 1 <= settings["rounds"] <= setup.steps:
        raise AtrapError(f"contender {spec!r}: rounds must be from 1 to the steps ({setup.steps})")
    return settings


def describe(settings: dict[str, int | float], steps: int) -> str:
    """A crowd's training in words: its strategy, terms and rounds."""
    parts = ["FedAvg"]
    if settings.get("prox-mu"):
        parts.append(f"FedProx mu={settings['prox-mu']:g}")
    if settings.get("scaffold"):
        parts.append("SCAFFOLD")
    if settings.get("distill-steps"):
        parts.append(
            f"distilling aggregator {settings['distill-steps']} steps × "
            f"{settings['distill-batch']} states a round"
        )
    rounds = int(settings["rounds"])
    return " + ".join(parts) + f", {rounds} rounds of {max(1, steps // rounds)} updates"


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
        name: str,
        module: torch.nn.Module,
        seconds: float,
        updates: int,
        note: str = "",
        env_steps: int = total_steps,
    ) -> Row:
        score = whole(module)
        row = Row(
            name,
            score["median_error_mm"],
            score["p95_error_mm"],
            score["success_rate"],
            env_steps,
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
    if setup.crowd and setup.contenders:
        for index, spec in enumerate(setup.contenders):
            settings = contender_settings(spec, setup)
            _crowd(doc, setup, folder / f"crowd-{index + 1}", share, add, say, settings)
    elif setup.crowd:
        _crowd(doc, setup, folder, share, add, say, crowd_settings(setup))
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
    settings: dict[str, int | float],
) -> None:
    """A crowd of one peer per region, at the single network's scene steps: on loopback with
    Flower's processes, or simulated in this process (``setup.simulate``)."""
    folder.mkdir(parents=True, exist_ok=True)
    peer_graph = folder / "peer.yaml"
    save_graph(sized(doc, setup, share, setup.steps), peer_graph)
    rounds = int(settings["rounds"])
    local_steps = max(1, setup.steps // rounds)
    run_settings = {k: v for k, v in settings.items() if k != "rounds"} | {
        "local-steps": local_steps,
        "eval-episodes": 256,
        "poll-interval": 0.2,
    }
    what = describe(settings, setup.steps)
    simulate = setup.simulate or bool(setup.contenders)
    say(f"  crowd ({'simulated in this process' if simulate else 'Flower'}): {what}")
    started = time.perf_counter()
    if simulate:
        flower = logging.getLogger("flwr")
        level = flower.level
        flower.setLevel(logging.ERROR)  # Flower logs every round at length, and FedAvg warns
        try:
            status = simulate_crowd(
                peer_graph, folder / "crowd", peers=setup.regions, rounds=rounds,
                settings=run_settings,
            )  # fmt: skip
        finally:
            flower.setLevel(level)
        merged_at = folder / "crowd" / "network.atrapnet"
        engine = "simulated in one process, no Flower"
    else:
        status = run_local_crowd(
            peer_graph,
            folder / "crowd",
            peers=setup.regions,
            rounds=rounds,
            settings=run_settings,
            on_status=lambda s: (
                say(f"  crowd round {len(s.rounds)}/{rounds}") if s.rounds else None
            ),
        )
        merged_at = folder / "crowd" / "rounds" / "network.atrapnet"
        engine = "Flower, loopback"
    seconds = time.perf_counter() - started
    merged = load_network(merged_at)
    every = max(1, rounds // 6)
    trace = ", ".join(f"{r.median:.0f}" for r in status.rounds[every - 1 :: every] if r.median)
    add(
        f"crowd of {setup.regions} peers ({engine}): {what}",
        merged.module,
        seconds,
        local_steps * rounds,
        f"{seconds / max(1, len(status.rounds)):.1f} s a round; every {every} rounds: {trace} mm",
        env_steps=local_steps * rounds * share * setup.regions,
    )
