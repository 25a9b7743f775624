"""What every trainer shares: its budget, the exploration schedule, the optimiser and its state."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from atrap_studio.runtime.architect.optimizer_state import carry_optimizer_state
from atrap_studio.runtime.context import NodeContext
from atrap_studio.runtime.networks import Normalize, batch_moments
from atrap_studio.runtime.trainers.replay import Batch, ReplayBuffer

if TYPE_CHECKING:
    from atrap_studio.runtime.network_owner import NetworkChange
    from atrap_studio.runtime.pipeline import Agent

Metrics = dict[str, torch.Tensor | float]


@dataclass(frozen=True)
class Budget:
    """How long a run lasts and how it reports, from the trainer's properties."""

    steps: int
    goal_success_rate: float
    eval_every: int
    eval_episodes: int
    checkpoint_every: int
    log_every: int

    @classmethod
    def from_props(cls, props: dict[str, Any]) -> Budget:
        return cls(
            steps=props["steps"],
            goal_success_rate=props["goal_success_rate"],
            eval_every=props["eval_every"],
            eval_episodes=props["eval_episodes"],
            checkpoint_every=props["checkpoint_every"],
            log_every=props["log_every"],
        )


@dataclass(frozen=True)
class ExploreSchedule:
    """Share of actions taken at random: ``start`` falling linearly to ``end`` over ``steps``."""

    start: float
    end: float
    steps: int

    def share(self, step: int) -> float:
        if self.steps <= 0:
            return self.end
        return self.start + (self.end - self.start) * min(1.0, step / self.steps)


class Trainer:
    """Base of trainers: subclasses implement :meth:`step` and may add state.

    Attributes:
        env_steps_per_update: scene steps (summed over instances) one :meth:`step` plays.
    """

    env_steps_per_update: int = 0
    tracked_loss: str = "loss/total"
    #: Set by each trainer before its first step; its state is part of every checkpoint.
    optimizer: torch.optim.Optimizer

    def __init__(self, ctx: NodeContext, pipeline: Agent) -> None:
        props = ctx.props
        self.ctx = ctx
        self.pipeline = pipeline
        self.network = pipeline.network
        self.budget = Budget.from_props(props)
        self.explore = ExploreSchedule(
            props["explore_from"], props["explore_to"], props["explore_steps"]
        )
        self.generator = ctx.generator()
        self.total_steps = self.budget.steps

    def plan(self, total_steps: int) -> None:
        """Tell the trainer how many updates this run will make (schedules depend on it)."""
        self.total_steps = max(1, total_steps)

    def step(self, step: int) -> Metrics:
        """One update; returns metrics (tensors are read only when reported)."""
        raise NotImplementedError

    def network_changed(self, change: NetworkChange) -> None:
        """Train the new network on, with the main optimiser's state carried over entry by
        entry (subclasses rebuild what they derived from the old module)."""
        self.optimizer = carry_optimizer_state(self.optimizer, change.module, change.state_map)
        self.network = change.module

    def policy(self, obs: torch.Tensor) -> torch.Tensor:
        """The network's own action for ``obs``, without exploration."""
        action: torch.Tensor = self.network(obs)
        return action

    def uniform_actions(self, like: torch.Tensor) -> torch.Tensor:
        """Random actions in [-1, 1], drawn from the trainer's own generator."""
        return torch.rand(like.shape, generator=self.generator, device=like.device) * 2 - 1

    # -- checkpoint state -------------------------------------------------------------------

    def modules(self) -> dict[str, torch.nn.Module]:
        """Extra trainable modules (besides the network) that a checkpoint must keep."""
        return {}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Every optimiser whose state a checkpoint keeps, by name (``opt``: the main one)."""
        return {"opt": self.optimizer}

    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Everything to resume exactly: tensors (copies, never live state), JSON metadata."""
        tensors: dict[str, torch.Tensor] = {"rng": self.generator.get_state()}
        for name, module in self.modules().items():
            for key, value in module.state_dict().items():
                tensors[f"module/{name}/{key}"] = value
        meta: dict[str, Any] = {}
        for name, optimizer in self.optimizers().items():
            opt_tensors, opt_meta = optimizer_state(optimizer)
            tensors.update({f"{name}/{k}": v for k, v in opt_tensors.items()})
            meta[_optimizer_meta_key(name)] = opt_meta
        return {k: v.detach().clone() for k, v in tensors.items()}, meta

    def load_state_tensors(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.generator.set_state(tensors["rng"])
        for name, module in self.modules().items():
            prefix = f"module/{name}/"
            module.load_state_dict(
                {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            )
        for name, optimizer in self.optimizers().items():
            prefix = f"{name}/"
            own = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            load_optimizer_state(optimizer, own, meta[_optimizer_meta_key(name)])


class SteppedTrainer(Trainer):
    """A trainer whose update plays ``horizon`` scene steps on every instance, then learns.

    Its phases let one scene step for several agents at once: each agent's trainer
    :meth:`play`s (observes and chooses; the pipeline holds the action back while several
    agents choose), the scene moves once for all, then each :meth:`record`s its rewards and
    ends. Alone, its update is the same phases in a row (:meth:`step`), so a graph of one agent
    trains exactly as it always did.
    """

    #: Scene steps one update plays (set by each trainer from its properties).
    horizon: int

    def step(self, step: int) -> Metrics:
        self.begin_rollout(step)
        scene = self.pipeline.scene
        for _ in range(self.horizon):
            scene.begin_step()
            self.play()
            self.record()
        return self.learn(step)

    def begin_rollout(self, step: int) -> None:
        """Before the first scene step of update ``step``: schedules, empty rollout."""
        raise NotImplementedError

    def play(self) -> None:
        """Observe the scene and hand the pipeline this step's action."""
        raise NotImplementedError

    def record(self) -> None:
        """After the scene moved: this step's rewards, ends and what comes next."""
        raise NotImplementedError

    def learn(self, step: int) -> Metrics:
        """After the last scene step: learn from the rollout; returns the update's metrics."""
        raise NotImplementedError


class RolloutTally:
    """What the curves show of the steps an update played: each reward node's mean per step,
    and the outcome of the episodes that ended, averaged over them (tensors, read only when
    reported)."""

    def __init__(self) -> None:
        self.steps = 0
        self.ended = 0
        self.rewards: dict[str, torch.Tensor | float] = {}
        self.outcomes: dict[str, torch.Tensor | float] = {}

    def add(self, scene: Any, terms: dict[str, torch.Tensor], done: torch.Tensor) -> None:
        """One step: its reward terms by node, and the episodes it ended (judged now, before
        they restart at the next ``begin_step``)."""
        self.steps += 1
        for node_id, term in terms.items():
            self.rewards[node_id] = self.rewards.get(node_id, 0.0) + term.mean()
        if bool(done.any()):
            self.ended += int(done.sum())
            for name, value in scene.outcome().items():
                total = value[done].to(torch.float64).sum()
                self.outcomes[name] = self.outcomes.get(name, 0.0) + total

    def metrics(self) -> Metrics:
        """``reward/<node>``, and ``scene/<outcome>`` when an episode ended (a short rollout
        of long episodes may end none)."""
        metrics: Metrics = {
            f"reward/{node_id}": total / max(1, self.steps)
            for node_id, total in self.rewards.items()
        }
        for name, total in self.outcomes.items():
            label = "success_rate" if name == "success" else name
            metrics[f"scene/{label}"] = total / self.ended
        return metrics


class OffPolicyRollout:
    """What an off-policy trainer's update has played so far: each step's transition goes
    into the replay buffer as soon as the scene has moved."""

    def __init__(self, lr: float, share: float) -> None:
        self.lr, self.share = lr, share
        self.played: list[torch.Tensor] = []
        self.raw_rewards: list[torch.Tensor] = []
        self.tally = RolloutTally()
        #: This step's observation and action as stored, from play() to record().
        self.obs: torch.Tensor | None = None
        self.action: torch.Tensor | None = None

    def record(self, pipeline: Agent, scene: Any, buffer: ReplayBuffer) -> None:
        """After the scene moved: this step's transition into ``buffer``."""
        obs, action = self.obs, self.action
        assert obs is not None and action is not None
        with torch.no_grad():
            terms = pipeline.rewards(scene)
            reward = torch.stack(list(terms.values())).sum(0)
            done = scene.done.clone()
            # observed before the ended ones restart (at the next begin_step): where a
            # time limit cut an episode, this state's value still counts
            after = pipeline.observe(scene)
            terminal = done & ~scene.truncated
            buffer.add(Batch(obs, action, reward, after, terminal))
            self.played.append(obs)
            self.raw_rewards.append(reward)
            self.tally.add(scene, terms, done)


class ReplayTrainer(SteppedTrainer):
    """An off-policy trainer: its replay buffer is part of every checkpoint, so a resumed run
    draws the same minibatches as one that never stopped."""

    #: Set by each off-policy trainer before its first step.
    buffer: ReplayBuffer
    _rollout: OffPolicyRollout

    def record(self) -> None:
        self._rollout.record(self.pipeline, self.pipeline.scene, self.buffer)

    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors, meta = super().state_tensors()
        replay, replay_meta = self.buffer.state_tensors()
        tensors.update({f"replay/{name}": value for name, value in replay.items()})
        return tensors, {**meta, "replay": replay_meta}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        super().load_state_tensors(tensors, meta)
        replay = {k[len("replay/") :]: v for k, v in tensors.items() if k.startswith("replay/")}
        self.buffer.load_state_tensors(replay, meta["replay"])


def _optimizer_meta_key(name: str) -> str:
    """The main optimiser keeps the key checkpoints have always used."""
    return "optimizer" if name == "opt" else f"optimizer/{name}"


def learn_input_statistics(observations: torch.Tensor, *modules: torch.nn.Module) -> None:
    """Feed the input normaliser of each module that starts with one (see ``Normalize``);
    the batch's moments are computed once for all of them."""
    normalizers = [
        first
        for module in modules
        if isinstance(first := next(iter(module.children()), None), Normalize)
    ]
    moments: dict[int, tuple[torch.Tensor, torch.Tensor, float]] = {}
    for normalizer in normalizers:
        features = normalizer.mean.shape[0]
        if features not in moments:
            moments[features] = batch_moments(observations, features)
        normalizer.merge(*moments[features])


def cosine_lr(base: float, step: int, total: int, floor: float = 0.01) -> float:
    """Cosine decay from ``base`` to ``floor * base`` at ``total`` (stateless: resumable)."""
    progress = min(1.0, step / max(1, total))
    return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def scheduled_lr(schedule: str, base: float, step: int, total: int, floor: float = 0.01) -> float:
    """The learning rate at ``step`` of ``total`` for a schedule the trainer
    nodes offer: constant, cosine or linear decay to ``floor * base`` (stateless: resumable)."""
    if schedule == "cosine":
        return cosine_lr(base, step, total, floor)
    if schedule == "linear":
        progress = min(1.0, step / max(1, total))
        return base * (1 - (1 - floor) * progress)
    return base


def optimizer_state(
    optimizer: torch.optim.Optimizer,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimiser's state as flat tensors plus JSON metadata (no pickle)."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, entry in state["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}/{key}"] = value
            else:
                scalars.setdefault(str(index), {})[key] = value
    meta = {"param_groups": state["param_groups"], "scalars": scalars}
    json.dumps(meta)  # fail early (at save, not at load) if something is not JSON-able
    return tensors, meta


def load_optimizer_state(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        index, key = name.split("/", 1)
        state.setdefault(int(index), {})[key] = value
    for index, entry in meta["scalars"].items():
        state.setdefault(int(index), {}).update(entry)
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
