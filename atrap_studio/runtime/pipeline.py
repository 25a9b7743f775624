"""Compiling a validated graph into a pipeline: node implementations and how values flow.

Values are pulled along links on demand, once per phase of a step: *observe* (sensors up to the
network's input), *act* (from the network's output through actions into the scene) and
*reward* (after the scene moved). Trainers drive these phases; they never walk the graph.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from atrap_studio import __version__
from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import AtrapError, RunError
from atrap_studio.core.outcome import GENERIC, Outcome
from atrap_studio.core.registry import Registry, load_impl
from atrap_studio.core.validation import AgentParts, Analysis, Issue, analyse
from atrap_studio.core.yaml_io import dump_graph
from atrap_studio.runtime.architect.growth import Architect
from atrap_studio.runtime.context import Command, NodeContext, derive_seed
from atrap_studio.runtime.contracts import (
    CATEGORY_PROTOCOLS,
    Helper,
    NetworkSource,
    PlaysItself,
    Scene,
    Seated,
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
from atrap_studio.runtime.trainers.base import Metrics, SteppedTrainer

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
    #: Where several agents played: the same episodes judged from each other agent's side
    #: (by its trainer's id), where the scene can tell.
    agents: dict[str, Evaluation] = field(default_factory=dict)

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
    doc: GraphDocument, analysis: Analysis, trainer: str | None = None
) -> tuple[list[PortMeaning], list[PortMeaning]]:
    """What a valid graph feeds a network and what it expects back, slice by slice: the
    network ``trainer`` trains (by default the first agent's).

    Needs only validation's analysis, so the editor can check a network file against the
    graph before any run.
    """
    trainer = trainer or analysis.trainer
    assert trainer is not None
    network_id = doc.links_into(trainer, "network")[0].src.node

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


class Agent:
    """One learning agent of a compiled graph: its network, the trainer that trains it, and
    the graph's values as it sees them (its sensors, its actions, its rewards).

    A trainer is handed its agent and asks it what it asks of a pipeline — ``observe``,
    ``act``, ``rewards``, ``scene``, ``network`` —, so a trainer cannot tell whether it learns
    alone or beside others. While several agents share a scene step, :meth:`act` leaves its
    commands with the pipeline, which moves the scene once for all (:meth:`Pipeline.train`).
    """

    #: Set by the pipeline as it compiles: the network and its history, where its weights
    #: came from, the trainer, and the architect when the network grows and shrinks.
    owner: NetworkOwner
    lineage: str
    trainer: Trainer
    architect: Architect | None = None

    def __init__(self, pipeline: Pipeline, parts: AgentParts, seat: int) -> None:
        self.pipeline = pipeline
        self.parts = parts
        self.trainer_id: str = parts.trainer
        self.network_id: str = parts.network
        #: Which of the scene's bodies it drives (0 for a scene with one).
        self.seat = seat
        self._sees_image = (self.network_id, "image") in pipeline._arriving
        actuators = pipeline._arriving.get((pipeline.scene_id, "actuators"), [])
        self._actuators = [(src, port) for src, port in actuators if src in parts.actions]
        self._memo: dict[str, dict[str, Any]] = {}

    # -- what its trainer reads -----------------------------------------------------------

    @property
    def scene(self) -> Scene:
        return self.pipeline.scene

    @property
    def analysis(self) -> Analysis:
        return self.pipeline.analysis

    @property
    def outcome(self) -> Outcome:
        return self.pipeline.outcome

    @property
    def network(self) -> torch.nn.Sequential:
        """Its network as it is now (a new module after each change of its architecture)."""
        return self.owner.module

    @property
    def architecture(self) -> Architecture:
        return self.owner.architecture

    @property
    def source(self) -> NetworkSource:
        """The node its network comes from (an NN Factory, a loaded or merged file)."""
        source: NetworkSource = self.pipeline.impls[self.network_id]
        return source

    # -- the phases of a step, seen from this agent ----------------------------------------

    def observe(self, scene: Any) -> torch.Tensor:
        """What its network sees now: 'state' after the flattened 'image', (N, inputs)."""
        self._memo = {}
        return self.observation(scene, self._memo)

    def observe_now(self) -> torch.Tensor:
        """What its network sees in the pipeline's own scene now (the architect's probe)."""
        return self.observe(self.pipeline.scene)

    def observation(self, scene: Any, memo: dict[str, dict[str, Any]]) -> torch.Tensor:
        pipeline = self.pipeline
        value: torch.Tensor = pipeline._input(self.network_id, "state", scene, memo)
        if self._sees_image:
            image: torch.Tensor = pipeline._input(self.network_id, "image", scene, memo)
            value = torch.cat([image.flatten(1), value], dim=-1)
        return value

    def act(self, scene: Any, action: torch.Tensor) -> None:
        """Carry its network's action through its action nodes into the scene, which steps
        (or, while several agents share the step, waits for the others)."""
        if not bool(torch.isfinite(action).all()):
            raise RunError(
                f"the network '{self.network_id}' answered with values that are not finite "
                "(NaN or infinite): training diverged. Lower the trainer's learning rate (lr) "
                "or clip gradients harder (grad_clip); resume from the last checkpoint",
                node=self.network_id,
            )
        self._memo[self.network_id] = {"action": action, "network": self.network}
        commands = self.commands(scene, self._memo)
        shared = self.pipeline._shared
        if shared is not None:
            shared.extend(commands)
        else:
            self.pipeline.apply(scene, commands)

    def commands(self, scene: Any, memo: dict[str, dict[str, Any]]) -> list[Command]:
        """The commands its action nodes give, with its network's answer in ``memo``."""
        pipeline = self.pipeline
        if len(pipeline.agents) == 1:  # everything that drives the scene is its own
            commands: list[Command] = pipeline._input(pipeline.scene_id, "actuators", scene, memo)
            return commands
        return [pipeline._output(src, port, scene, memo) for src, port in self._actuators]

    def rewards(self, scene: Any) -> dict[str, torch.Tensor]:
        """Each reward linked into its trainer, by node id, (N,) each, after the step."""
        memo: dict[str, dict[str, Any]] = {}
        pipeline = self.pipeline
        return {
            src: pipeline._output(src, port, scene, memo)
            for src, port in pipeline._arriving[(self.trainer_id, "reward")]
        }

    def metric(self, key: str) -> str:
        """The name its metric ``key`` is reported under: as it is when the graph has one
        agent, after its trainer's id (``red_teach:loss/value``) when it has several."""
        return key if len(self.pipeline.agents) == 1 else f"{self.trainer_id}:{key}"

    def own_metrics(self, metrics: dict[str, Any]) -> dict[str, Any]:
        """Its metrics out of a step's (the prefix :meth:`metric` adds taken off)."""
        if len(self.pipeline.agents) == 1:
            return metrics
        prefix = f"{self.trainer_id}:"
        return {k[len(prefix) :]: v for k, v in metrics.items() if k.startswith(prefix)}


class Pipeline:
    """A graph compiled for running: node implementations, the scene, and each learning agent
    (its network and trainer).

    A graph has one agent, or — where its scene has a body for each (the tank arena with the
    opponent 'learner') — several: :attr:`agents`, in the file's order of their trainers. The
    first agent's network and trainer are also :attr:`network` and :attr:`trainer`, and
    :meth:`observe`, :meth:`act` and :meth:`rewards` are its, so everything written for one
    agent reads the first.

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
        #: How the scene judges its episodes (score, success, snapshot kind).
        self.outcome: Outcome = analysis.outcome or GENERIC
        self._arriving: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for link in doc.links:
            key = (link.dst.node, link.dst.port)
            self._arriving.setdefault(key, []).append((link.src.node, link.src.port))
        seats = [str(s) for s in analysis.facts.get("seats", ())]
        #: Every learning agent, the first one's trainer being the graph's ``trainer``.
        self.agents: list[Agent] = [
            Agent(self, parts, seats.index(parts.seats[0]) if seats and parts.seats else 0)
            for parts in analysis.agents
        ]
        #: While the agents share a step (:meth:`shared_step`), the commands of those that
        #: have chosen; None otherwise.
        self._shared: list[Command] | None = None
        trainers = {agent.trainer_id for agent in self.agents}
        self.impls: dict[str, Any] = {}
        for node_id in analysis.order:
            if node_id not in trainers:
                self.impls[node_id] = self._instantiate(node_id, analysis)
        for agent in self.agents:
            factory = self.impls[agent.network_id]
            assert isinstance(factory, NetworkSource)  # checked by _instantiate
            net_seed = (
                derive_seed(seed, agent.network_id)
                if seed is not None
                else int(analysis.props[agent.network_id].get("seed", 0))
            )
            agent.owner = NetworkOwner(factory.architecture, factory.build(net_seed))
            agent.lineage = factory.lineage(agent.network)
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
        first = self.agents[0]
        keeps_copies = isinstance(scene, PlaysItself) and scene.meet_own_network(
            first.network, self.play_as
        )
        if first.source.growth is not None and keeps_copies:
            raise RunError(
                f"the network '{first.network_id}' cannot grow or shrink while it plays against "
                f"copies of itself in the scene '{self.scene_id}' (its past selves keep their "
                "shape); set the NN Factory's 'grow' to off, or choose another opponent",
                node=first.network_id,
            )
        for agent in self.agents:
            agent.trainer = self._instantiate(agent.trainer_id, analysis, agent)
            agent.owner.subscribe(agent.trainer.network_changed)
            growth = agent.source.growth
            if growth is not None:  # grows and shrinks the network between updates
                agent.architect = Architect(
                    growth,
                    agent.owner,
                    agent.observe_now,
                    tracks=self._tracked_error(agent),
                    seed=derive_seed(self.seed, agent.network_id, salt=2),
                )
        #: With several agents, their trainers, which play their rollouts in phases.
        self._stepped: list[SteppedTrainer] = []
        if len(self.agents) > 1:
            self._check_steps_together()
        #: Nodes that act between updates (saving the network on a schedule).
        self.hooks = [impl for impl in self.impls.values() if isinstance(impl, Helper)]
        #: The agent whose network each hook (by its id()) is linked to; others: the first.
        self._hook_agents = {
            id(self.impls[node_id]): agent
            for agent in self.agents
            for (node_id, port), sources in self._arriving.items()
            if port == "network"
            and isinstance(self.impls.get(node_id), Helper)
            and any(src == agent.network_id for src, _ in sources)
        }
        for agent in self.agents:
            agent.source.check_fits(*self.meanings(agent))

    def _check_steps_together(self) -> None:
        """Agents that share the scene's steps: each trainer plays its rollout in phases, and
        all play rollouts of the same length."""
        for agent in self.agents:
            if not isinstance(agent.trainer, SteppedTrainer):
                kind = self.analysis.specs[agent.trainer_id].type
                raise RunError(
                    f"the trainer '{agent.trainer_id}' ({kind}) cannot learn beside another "
                    "agent in one scene; use trainer.ppo, trainer.dqn or trainer.sac for each "
                    "agent",
                    node=agent.trainer_id,
                )
            self._stepped.append(agent.trainer)
        horizons = {
            agent.trainer_id: trainer.horizon
            for agent, trainer in zip(self.agents, self._stepped, strict=True)
        }
        if len(set(horizons.values())) > 1:
            listed = ", ".join(f"'{t}' {h}" for t, h in horizons.items())
            raise RunError(
                "the agents' trainers step the scene together, so their rollouts must be "
                f"equally long: their horizons are {listed}; give them the same 'horizon'",
                node=self.agents[1].trainer_id,
            )

    @property
    def trainer_id(self) -> str:
        """The first agent's trainer (the graph's only one, where it has one agent)."""
        return self.agents[0].trainer_id

    @property
    def network_id(self) -> str:
        return self.agents[0].network_id

    @property
    def trainer(self) -> Trainer:
        return self.agents[0].trainer

    @property
    def owner(self) -> NetworkOwner:
        return self.agents[0].owner

    @property
    def lineage(self) -> str:
        return self.agents[0].lineage

    @property
    def architect(self) -> Architect | None:
        return self.agents[0].architect

    @property
    def network(self) -> torch.nn.Sequential:
        """The network as it is now (a new module after each change of its architecture)."""
        return self.owner.module

    @property
    def architecture(self) -> Architecture:
        return self.owner.architecture

    def agent_of(self, hook: Any) -> Agent:
        """The agent whose network a hook (``nn.save``) is linked to; else the first."""
        return self._hook_agents.get(id(hook), self.agents[0])

    def _tracked_error(self, agent: Agent) -> str:
        """What the architect follows: the scene's own error when lower is better (the arm's
        tip error), else the trainer's (value) loss."""
        score = self.outcome.score
        if score.better == "lower":
            return f"scene/{score.key}"
        return agent.trainer.tracked_loss

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
        """What the (first agent's) network sees now: its 'state' input after its flattened
        'image', (N, inputs)."""
        return self.agents[0].observe(scene)

    def act(self, scene: Any, action: torch.Tensor) -> None:
        """Carry the (first agent's) network's action through its action nodes into the
        scene, which steps."""
        self.agents[0].act(scene, action)

    def rewards(self, scene: Any) -> dict[str, torch.Tensor]:
        """Each reward linked into the (first agent's) trainer, by its node id, (N,) each,
        after the step."""
        return self.agents[0].rewards(scene)

    def apply(self, scene: Any, commands: list[Command]) -> None:
        """Move the scene one step with ``commands``."""
        try:
            scene.apply(commands)
        except AtrapError:
            raise
        except Exception as exc:  # an environment that raises, returns NaN...
            raise RunError(
                f"the scene '{self.scene_id}' failed: {exc}", node=self.scene_id
            ) from exc

    def act_together(self, scene: Any, actions: list[torch.Tensor]) -> None:
        """Every agent's action (in the order of :attr:`agents`) into the scene, which then
        steps once."""
        with self.shared_step(scene):
            for agent, action in zip(self.agents, actions, strict=True):
                agent.act(scene, action)

    def train(self, step: int) -> Metrics:
        """One update of every agent; returns the metrics (each agent's after its trainer's
        id where the graph has several, the scene's figures once).

        With one agent, its trainer's own update. With several, each update plays the
        trainers' rollouts side by side: at every step each agent observes and chooses, the
        scene moves once with all their commands, and each records its own rewards; then
        each trainer learns from what it saw.
        """
        if len(self.agents) == 1:
            return self.trainer.step(step)
        trainers = self._stepped
        for trainer in trainers:
            trainer.begin_rollout(step)
        for _ in range(trainers[0].horizon):
            self.scene.begin_step()
            with self.shared_step(self.scene):
                for trainer in trainers:
                    trainer.play()
            for trainer in trainers:
                trainer.record()
        metrics: Metrics = {}
        for agent, trainer in zip(self.agents, trainers, strict=True):
            for key, value in trainer.learn(step).items():
                if key.startswith("scene/"):  # the same fights for every agent: once
                    metrics.setdefault(key, value)
                else:
                    metrics[agent.metric(key)] = value
        return metrics

    @contextmanager
    def shared_step(self, scene: Any) -> Iterator[None]:
        """Inside, each agent's :meth:`Agent.act` leaves its commands here; on leaving, the
        scene moves once with all of them."""
        commands: list[Command] = []
        self._shared = commands
        try:
            yield
        finally:
            self._shared = None
        self.apply(scene, commands)

    def play_as(self, scene: Any, networks: list[torch.nn.Module]) -> list[list[Command]]:
        """The commands the graph's action nodes give when each of ``networks`` plays in
        ``scene``: its sensors read once, each network answers, nothing is applied. A scene
        whose opponent is the agent's own past self (self-play) asks this of its mirrored view.
        """
        first = self.agents[0]
        observed: dict[str, dict[str, Any]] = {}
        observation = first.observation(scene, observed)
        answers = []
        for network in networks:
            memo = dict(observed)
            memo[first.network_id] = {"action": network(observation), "network": network}
            answers.append(first.commands(scene, memo))
        return answers

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

        ``policy`` plays the first agent; other agents play their trainers' own policies (the
        network's greedy answer), and the evaluation judges each from its own side where the
        scene can tell (:class:`Seated`): :attr:`Evaluation.agents`.
        ``whole_world`` tests on the whole scene even when this graph trains on a region of it.
        """
        generator = torch.Generator(device=self.device).manual_seed(seed)
        scene = self.scene.spawn(episodes, generator, whole_world=whole_world)
        key = self.outcome.score.key
        ended = torch.zeros(episodes, dtype=torch.bool, device=self.device)
        score = torch.zeros(episodes, dtype=torch.float64, device=self.device)
        success = torch.zeros(episodes, dtype=torch.bool, device=self.device)
        others = self.agents[1:]
        seated = scene if isinstance(scene, Seated) else None
        judged = others if seated is not None else []
        scores = {a.trainer_id: torch.zeros_like(score) for a in judged}
        successes = {a.trainer_id: torch.zeros_like(success) for a in judged}
        with torch.no_grad():
            for _ in range(EVAL_STEP_LIMIT):
                scene.begin_step()
                self.act_together(
                    scene,
                    [
                        policy(self.agents[0].observe(scene)),
                        *(a.trainer.policy(a.observe(scene)) for a in others),
                    ],
                )
                first = scene.done & ~ended
                if bool(first.any()):  # each instance's first episode is the one judged
                    outcome = scene.outcome()
                    score = torch.where(first, outcome[key].double(), score)
                    success = torch.where(first, outcome["success"], success)
                    for agent in judged:
                        assert seated is not None
                        theirs = seated.outcome_of(agent.seat)
                        name = agent.trainer_id
                        scores[name] = torch.where(first, theirs[key].double(), scores[name])
                        successes[name] = torch.where(first, theirs["success"], successes[name])
                    ended |= first
                    if bool(ended.all()):
                        return Evaluation(
                            {key: score, "success": success},
                            self.outcome,
                            {
                                name: Evaluation(
                                    {key: scores[name], "success": successes[name]},
                                    self.outcome,
                                )
                                for name in scores
                            },
                        )
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
            if any(node_id == agent.network_id for agent in self.agents):
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

    def meanings(self, agent: Agent | None = None) -> tuple[list[PortMeaning], list[PortMeaning]]:
        """What the graph feeds an agent's network (the first's by default) and what it
        expects back, slice by slice."""
        agent = agent or self.agents[0]
        return network_meanings(self.doc, self.analysis, agent.trainer_id)

    def manifest(
        self, training: dict[str, Any] | None = None, agent: Agent | None = None
    ) -> NetManifest:
        """What an agent's network's (the first's by default) inputs and outputs mean and
        where it comes from, for its file."""
        agent = agent or self.agents[0]
        analysis = self.analysis
        inputs, outputs = self.meanings(agent)
        source = agent.source
        region = getattr(self.scene, "region", None)  # scenes split into regions say which
        return NetManifest(
            architecture=agent.architecture,
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
                lineage=agent.lineage,
                parents=list(source.parents),
            ),
            graph=dump_graph(self.doc),
        )
