"""Compiling a validated graph into a pipeline: node implementations and how values flow.

Values are pulled along links on demand, once per phase of a step: *observe* (sensors up to the
network's input), *act* (from the network's output through actions into the scene) and
*reward* (after the scene moved). Trainers drive these phases; they never walk the graph.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from atrap_studio import __version__
from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import AtrapError, RunError
from atrap_studio.core.outcome import GENERIC, Outcome
from atrap_studio.core.registry import Registry, load_impl
from atrap_studio.core.validation import Analysis, Issue, analyse
from atrap_studio.core.yaml_io import dump_graph
from atrap_studio.runtime.architect.growth import Architect
from atrap_studio.runtime.context import Command, NodeContext, derive_seed
from atrap_studio.runtime.contracts import (
    CATEGORY_PROTOCOLS,
    Helper,
    NetworkSource,
    PlaysItself,
    Scene,
    Trainer,
)
from atrap_studio.runtime.netfile import NetManifest, PortMeaning
from atrap_studio.runtime.network_owner import NetworkOwner
from atrap_studio.runtime.networks import Architecture
from atrap_studio.runtime.provenance import (
    Provenance,
    SceneVariant,
    author,
    now,
)
from atrap_studio.runtime.snapshots import network_snapshot

Policy = Callable[[torch.Tensor], torch.Tensor]


class GraphInvalidError(RunError):
    """The graph has errors; ``issues`` lists them all."""

    def __init__(self, issues: list[Issue], source: str = "<graph>") -> None:
        self.issues = issues
        lines = "\n".join(i.format(source) for i in issues if i.severity == "error")
        super().__init__(f"the graph cannot run until these are fixed:\n{lines}")


#: Node categories whose values are checked at every step: a NaN or an infinity from a sensor
#: or a reward would otherwise reach the network and show only as a diverged loss, later.
_CHECKED = {"sensor": "observed", "reward": "rewarded"}


#: Values this large are taken as a blown-up simulation, as NaN and infinity are.
EXPLODED = 1e15


def _sound(value: torch.Tensor) -> bool:
    """Every value finite and within ±EXPLODED: one reduction with no temporary the size of
    the batch (its NaN propagates, and compares false)."""
    if value.numel() == 0 or not value.is_floating_point():
        return True
    low, high = torch.aminmax(value)
    return bool((low > -EXPLODED) & (high < EXPLODED))


def _check_finite(node_id: str, type_id: str, values: dict[str, Any]) -> None:
    for port, value in values.items():
        if isinstance(value, torch.Tensor) and not _sound(value):
            rows = value.reshape(value.shape[0], -1) if value.dim() else value.reshape(1, 1)
            bad = (~(rows.abs() < EXPLODED)).any(-1).nonzero()
            first = rows[int(bad[0, 0])]
            what = (
                "a value that is not finite (NaN or infinite)"
                if not bool(torch.isfinite(first).all())
                else f"a value beyond ±{EXPLODED:.0e} (the scene blew up)"
            )
            category = type_id.split(".")[0]
            raise RunError(
                f"node '{node_id}' ({type_id}) {_CHECKED[category]} {what} on '{port}' for "
                f"instance {int(bad[0, 0])}; check its properties and the scene it reads; the "
                "last good checkpoint is kept",
                node=node_id,
            )


#: Steps an evaluation may take before every instance must have ended an episode.
EVAL_STEP_LIMIT = 100_000


@dataclass(frozen=True)
class Evaluation:
    """Outcome of a policy on fresh episodes: per-episode tensors, judged by the scene's Outcome.

    Attributes:
        outcome: per episode, the score's values (under ``declared.score.key``) and ``success``.
        declared: how the scene judges its episodes.
    """

    outcome: dict[str, torch.Tensor]
    declared: Outcome

    def summary(self) -> dict[str, float]:
        """Median, mean and 95th percentile of the score, and the success rate, as floats.

        Keys follow the scene's Outcome: ``median_error_mm`` for the arm, ``median_return``
        for an episode return.
        """
        score = self.outcome[self.declared.score.key].double()
        median, mean, p95 = self.declared.summary_keys()
        return {
            median: float(score.median()),
            mean: float(score.mean()),
            p95: float(torch.quantile(score, 0.95)),
            "success_rate": float(self.outcome["success"].double().mean()),
            "episodes": int(score.numel()),
        }


def network_meanings(
    doc: GraphDocument, analysis: Analysis
) -> tuple[list[PortMeaning], list[PortMeaning]]:
    """What a valid graph feeds its network and what it expects back, slice by slice.

    Needs only validation's analysis, so the editor can check a network file against the
    graph before any run.
    """
    assert analysis.trainer is not None
    network_id = doc.links_into(analysis.trainer, "network")[0].src.node

    def meaning(node_id: str, size: int) -> PortMeaning:
        return PortMeaning(
            node=node_id,
            type=analysis.specs[node_id].type,
            size=size,
            props=analysis.props[node_id],
        )

    # a picture comes first (flattened), then the sensors linked into 'state'
    inputs = [
        meaning(link.src.node, math.prod(analysis.outputs[(link.src.node, link.src.port)]))
        for port in ("image", "state")
        for link in doc.links_into(network_id, port)
    ]
    destination = doc.links_from(network_id, "action")[0].dst.node
    outputs = [meaning(destination, analysis.outputs[(network_id, "action")][0])]
    return inputs, outputs


class Pipeline:
    """A graph compiled for running: node implementations, the scene, the network, the trainer.

    Args:
        doc: the graph document.
        registry: node specs.
        seed: overrides the graph's seeds (the trainer's and the NN Factory's) when given.
        source: name of the graph's file, for messages; relative file names in node
            properties are read from its folder.
    """

    def __init__(
        self,
        doc: GraphDocument,
        registry: Registry,
        *,
        seed: int | None = None,
        source: str = "<graph>",
        device: str = "cpu",
    ) -> None:
        analysis = analyse(doc, registry)
        if not analysis.ok:
            raise GraphInvalidError(analysis.issues, source)
        assert analysis.scene is not None and analysis.trainer is not None
        self.doc = doc
        self.analysis = analysis
        self.source = source
        self.folder = Path(source).parent if Path(source).is_file() else Path.cwd()
        self.device = torch.device(device)
        trainer_props = analysis.props[analysis.trainer]
        self.seed: int = seed if seed is not None else int(trainer_props["seed"])
        self.scene_id: str = analysis.scene
        self.trainer_id: str = analysis.trainer
        #: How the scene judges its episodes (score, success, snapshot kind).
        self.outcome: Outcome = analysis.outcome or GENERIC
        self._arriving: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for link in doc.links:
            key = (link.dst.node, link.dst.port)
            self._arriving.setdefault(key, []).append((link.src.node, link.src.port))
        networks = self._arriving.get((self.trainer_id, "network"), [])
        self.network_id: str = networks[0][0]
        self._sees_image = (self.network_id, "image") in self._arriving
        self.impls: dict[str, Any] = {}
        for node_id in analysis.order:
            if node_id != self.trainer_id:
                self.impls[node_id] = self._instantiate(node_id, analysis)
        factory = self.impls[self.network_id]
        assert isinstance(factory, NetworkSource)  # checked by _instantiate
        net_seed = (
            derive_seed(seed, self.network_id)
            if seed is not None
            else int(analysis.props[self.network_id].get("seed", 0))
        )
        #: The network, its architecture and revision: the one place that knows them while
        #: the architect grows and shrinks the network (``network``, ``architecture`` read it).
        self.owner = NetworkOwner(factory.architecture, factory.build(net_seed))
        self.lineage = factory.lineage(self.network)
        try:
            scene = self.impls[self.scene_id].create(self.context(self.scene_id).generator())
        except ValueError as exc:
            raise RunError(
                f"the scene '{self.scene_id}' cannot be set up: {exc}", node=self.scene_id
            ) from exc
        if not isinstance(scene, Scene):
            raise RunError(
                f"the scene '{self.scene_id}' does not fit the Scene protocol", node=self.scene_id
            )
        self.scene: Scene = scene
        keeps_copies = isinstance(scene, PlaysItself) and scene.meet_own_network(
            self.network, self.play_as
        )
        if factory.growth is not None and keeps_copies:
            raise RunError(
                f"the network '{self.network_id}' cannot grow or shrink while it plays against "
                f"copies of itself in the scene '{self.scene_id}' (its past selves keep their "
                "shape); set the NN Factory's 'grow' to off, or choose another opponent",
                node=self.network_id,
            )
        self.trainer: Trainer = self._instantiate(self.trainer_id, analysis, self)
        self.owner.subscribe(self.trainer.network_changed)
        #: Grows and shrinks the network between updates, when the NN Factory asks for it.
        self.architect: Architect | None = None
        if factory.growth is not None:
            self.architect = Architect(
                factory.growth,
                self.owner,
                lambda: self.observe(self.scene),
                tracks=self._tracked_error(),
                seed=derive_seed(self.seed, self.network_id, salt=2),
            )
        self._memo: dict[str, dict[str, Any]] = {}
        #: Nodes that act between updates (saving the network on a schedule).
        self.hooks = [impl for impl in self.impls.values() if isinstance(impl, Helper)]
        factory.check_fits(*self.meanings())

    @property
    def network(self) -> torch.nn.Sequential:
        """The network as it is now (a new module after each change of its architecture)."""
        return self.owner.module

    @property
    def architecture(self) -> Architecture:
        return self.owner.architecture

    def _tracked_error(self) -> str:
        """What the architect follows: the scene's own error when lower is better (the arm's
        tip error), else the trainer's (value) loss."""
        score = self.outcome.score
        if score.better == "lower":
            return f"scene/{score.key}"
        return self.trainer.tracked_loss

    def context(self, node_id: str) -> NodeContext:
        """The context a node's implementation receives."""
        analysis = self.analysis
        spec = analysis.specs[node_id]
        return NodeContext(
            id=node_id,
            spec=spec,
            props=analysis.props[node_id],
            inputs={
                p.name: analysis.inputs[(node_id, p.name)]
                for p in spec.inputs
                if (node_id, p.name) in analysis.inputs
            },
            outputs={
                p.name: analysis.outputs[(node_id, p.name)]
                for p in spec.outputs
                if (node_id, p.name) in analysis.outputs
            },
            facts=analysis.facts,
            seed=self.seed,
            device=self.device,
            folder=self.folder,
        )

    def _instantiate(self, node_id: str, analysis: Analysis, *extra: Any) -> Any:
        spec = analysis.specs[node_id]
        cls = load_impl(spec)
        try:
            impl = cls(self.context(node_id), *extra)
        except AtrapError:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            raise RunError(
                f"node '{node_id}' ({spec.type}) cannot be set up: {exc}", node=node_id
            ) from exc
        protocol = CATEGORY_PROTOCOLS.get(spec.category)
        if protocol is not None and not isinstance(impl, protocol):
            raise RunError(
                f"node '{node_id}' ({spec.type}): its implementation {spec.impl} does not fit "
                f"the {protocol.__name__} protocol of {spec.category} nodes",
                node=node_id,
            )
        return impl

    # -- the phases of a step -----------------------------------------------------------

    def observe(self, scene: Any) -> torch.Tensor:
        """What the network sees now: its 'state' input after its flattened 'image', (N, inputs)."""
        self._memo = {}
        return self._observation(scene, self._memo)

    def _observation(self, scene: Any, memo: dict[str, dict[str, Any]]) -> torch.Tensor:
        value: torch.Tensor = self._input(self.network_id, "state", scene, memo)
        if self._sees_image:
            image: torch.Tensor = self._input(self.network_id, "image", scene, memo)
            value = torch.cat([image.flatten(1), value], dim=-1)
        return value

    def act(self, scene: Any, action: torch.Tensor) -> None:
        """Carry the network's action through the action nodes into the scene, which steps."""
        if not bool(torch.isfinite(action).all()):
            raise RunError(
                f"the network '{self.network_id}' answered with values that are not finite "
                "(NaN or infinite): training diverged. Lower the trainer's learning rate (lr) "
                "or clip gradients harder (grad_clip); resume from the last checkpoint",
                node=self.network_id,
            )
        self._memo[self.network_id] = {"action": action, "network": self.network}
        commands = self._input(self.scene_id, "actuators", scene, self._memo)
        try:
            scene.apply(commands)
        except AtrapError:
            raise
        except Exception as exc:  # an environment that raises, returns NaN...
            raise RunError(
                f"the scene '{self.scene_id}' failed: {exc}", node=self.scene_id
            ) from exc

    def play_as(self, scene: Any, networks: list[torch.nn.Module]) -> list[list[Command]]:
        """The commands the graph's action nodes give when each of ``networks`` plays in
        ``scene``: its sensors read once, each network answers, nothing is applied. A scene
        whose opponent is the agent's own past self (self-play) asks this of its mirrored view.
        """
        observed: dict[str, dict[str, Any]] = {}
        observation = self._observation(scene, observed)
        answers = []
        for network in networks:
            memo = dict(observed)
            memo[self.network_id] = {"action": network(observation), "network": network}
            answers.append(self._input(self.scene_id, "actuators", scene, memo))
        return answers

    def rewards(self, scene: Any) -> dict[str, torch.Tensor]:
        """Each reward linked into the trainer, by its node id, (N,) each, after the step."""
        memo: dict[str, dict[str, Any]] = {}
        return {
            src: self._output(src, port, scene, memo)
            for src, port in self._arriving[(self.trainer_id, "reward")]
        }

    def snapshot(self, instances: list[int]) -> dict[str, Any]:
        """What the views draw now: the shown scene instances and the network on the first."""
        with torch.no_grad():
            observation = self.observe(self.scene)
        count = int(observation.shape[0])
        shown = min(max(instances[0] if instances else 0, 0), count - 1)
        return {
            "scene": self.scene.snapshot(instances),
            "network": network_snapshot(self.network, observation, shown),
        }

    def evaluate(
        self, policy: Policy, episodes: int, seed: int, *, whole_world: bool = False
    ) -> Evaluation:
        """Play ``episodes`` fresh episodes with ``policy`` (no exploration, no learning).

        ``whole_world`` tests on the whole scene even when this graph trains on a region of it.
        """
        generator = torch.Generator(device=self.device).manual_seed(seed)
        scene = self.scene.spawn(episodes, generator, whole_world=whole_world)
        key = self.outcome.score.key
        ended = torch.zeros(episodes, dtype=torch.bool, device=self.device)
        score = torch.zeros(episodes, dtype=torch.float64, device=self.device)
        success = torch.zeros(episodes, dtype=torch.bool, device=self.device)
        with torch.no_grad():
            for _ in range(EVAL_STEP_LIMIT):
                scene.begin_step()
                self.act(scene, policy(self.observe(scene)))
                first = scene.done & ~ended
                if bool(first.any()):  # each instance's first episode is the one judged
                    outcome = scene.outcome()
                    score = torch.where(first, outcome[key].double(), score)
                    success = torch.where(first, outcome["success"], success)
                    ended |= first
                    if bool(ended.all()):
                        return Evaluation({key: score, "success": success}, self.outcome)
        raise RunError(
            f"the test of the network did not end: after {EVAL_STEP_LIMIT:,} steps "
            f"{int((~ended).sum()):,} of {episodes:,} episodes of the scene '{self.scene_id}' "
            "were still going; give the scene a time limit"
        )

    def _input(self, node_id: str, port: str, scene: Any, memo: dict[str, dict[str, Any]]) -> Any:
        spec = self.analysis.specs[node_id].input(port)
        assert spec is not None
        values = [
            self._output(src, sp, scene, memo)
            for src, sp in self._arriving.get((node_id, port), [])
        ]
        kind = spec.port_type.kind
        if kind == "Vector":
            return values[0] if len(values) == 1 else torch.cat(values, dim=-1)
        return values if spec.multiple else values[0]

    def _output(self, node_id: str, port: str, scene: Any, memo: dict[str, dict[str, Any]]) -> Any:
        if node_id == self.scene_id:
            return scene
        if node_id not in memo:
            if node_id == self.network_id:
                raise RunError(
                    f"a value is needed from the network '{node_id}' before it has acted; "
                    "sensors and rewards cannot depend on the network's own action"
                )
            spec = self.analysis.specs[node_id]
            inputs = {
                p.name: self._input(node_id, p.name, scene, memo)
                for p in spec.inputs
                if (node_id, p.name) in self._arriving
            }
            try:
                memo[node_id] = self.impls[node_id].forward(inputs)
            except AtrapError:
                raise
            except Exception as exc:
                raise RunError(
                    f"node '{node_id}' ({spec.type}) failed: {exc}", node=node_id
                ) from exc
            if spec.category in _CHECKED:
                _check_finite(node_id, spec.type, memo[node_id])
        return memo[node_id][port]

    # -- describing the network ---------------------------------------------------------

    def meanings(self) -> tuple[list[PortMeaning], list[PortMeaning]]:
        """What the graph feeds the network and what it expects back, slice by slice."""
        return network_meanings(self.doc, self.analysis)

    def manifest(self, training: dict[str, Any] | None = None) -> NetManifest:
        """What the network's inputs and outputs mean and where it comes from, for its file."""
        analysis = self.analysis
        inputs, outputs = self.meanings()
        source: NetworkSource = self.impls[self.network_id]
        region = getattr(self.scene, "region", None)  # scenes split into regions say which
        return NetManifest(
            architecture=self.architecture,
            inputs=inputs,
            outputs=outputs,
            training=training or {},
            provenance=Provenance(
                atrap_version=__version__,
                origin=source.origin,
                trained_by=author(),
                created=now(),
                graph_name=self.doc.name[:500],
                scene=SceneVariant(
                    type=analysis.specs[self.scene_id].type, props=analysis.props[self.scene_id]
                ),
                variant=region.label if region is not None else "",
                lineage=self.lineage,
                parents=list(source.parents),
            ),
            graph=dump_graph(self.doc),
        )
