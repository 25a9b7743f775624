"""What each node category's implementation must offer, as typed protocols.

The pipeline, the runner and the trainers talk to nodes only through these, so a new scene,
sensor or trainer is a set of new files that fit them; the contract test checks every node of
the catalogue against its category's protocol. Nothing here knows of arms or tanks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import torch

from atrap_studio.runtime.architect.growth import GrowthSettings
from atrap_studio.runtime.context import Command
from atrap_studio.runtime.netfile import PortMeaning
from atrap_studio.runtime.network_owner import NetworkChange
from atrap_studio.runtime.networks import Architecture
from atrap_studio.runtime.provenance import Origin, ParentRef

if TYPE_CHECKING:
    from atrap_studio.runtime.trainers.base import Budget, Metrics


@runtime_checkable
class Scene(Protocol):
    """N instances of a world simulated at once; everything per instance is a tensor row.

    A step is ``begin_step()`` (restart the episodes that ended in the last step), then
    sensors read the scene, then ``apply(commands)`` moves it on, and rewards read it after.
    Ended episodes restart only at the next ``begin_step()``, so rewards and ``outcome()`` see
    the final state of the step that ended them.

    Attributes:
        instances: how many copies are simulated.
        done: (N,) bool, the episodes that ended in the last step (for any reason).
        truncated: (N,) bool, those among them cut by a time limit rather than by the task
            (a trainer bootstraps their value instead of treating the end as terminal).
        restarts_next_step: ended instances restart *during* the next ``apply()`` (which
            ignores their action, gives them no reward and ends nothing) rather than at
            ``begin_step()``; gymnasium's ``NEXT_STEP`` vector environments work so.
    """

    instances: int
    done: torch.Tensor
    truncated: torch.Tensor
    restarts_next_step: bool

    def begin_step(self) -> None: ...

    def restart(self, seed: int | None = None) -> None:
        """Start new episodes in every instance (reseeding the scene first when given a seed)."""
        ...

    def apply(self, commands: list[Command]) -> None: ...

    def outcome(self) -> dict[str, torch.Tensor]:
        """Per instance: the score's value (key from the scene's Outcome) and ``success``,
        meaningful for the instances whose episode just ended."""
        ...

    def metrics(self) -> dict[str, float]:
        """Scene figures for the curves (``curriculum/spread``...); may be empty."""
        ...

    def snapshot(self, instances: list[int]) -> Any:
        """A copy of some instances for the views, of the kind the scene's Outcome names."""
        ...

    def spawn(
        self, instances: int, generator: torch.Generator, *, whole_world: bool = False
    ) -> Scene:
        """A fresh scene like this one, for testing a policy on new episodes."""
        ...

    def state_tensors(self) -> dict[str, torch.Tensor]: ...

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None: ...


@runtime_checkable
class Curriculum(Protocol):
    """A scene whose task widens as training goes (the runner sets ``progress`` in [0, 1])."""

    progress: float


@runtime_checkable
class Effector(Protocol):
    """A scene whose actions move an effector (the arm's tip): where each instance's is, (N, 3).

    Merging teaches a student to put the effector where a teacher's action puts it.
    """

    @property
    def effector(self) -> torch.Tensor: ...


@runtime_checkable
class Steerable(Protocol):
    """A scene whose targets a person may move while it trains (the scene view's Ctrl+drag)."""

    def set_target(self, instance: int, position: Sequence[float]) -> None: ...


@runtime_checkable
class Seated(Protocol):
    """A scene with several bodies for the graph's agents (its ``seats`` fact) that can judge
    an episode from each body's side (the tank arena: the red tank won when blue lost)."""

    def outcome_of(self, seat: int) -> dict[str, torch.Tensor]:
        """:meth:`Scene.outcome` as the agent in ``seat`` sees it."""
        ...


#: What the pipeline hands a self-playing scene: the commands the graph's action nodes give
#: when each of some networks plays in a given (mirrored) scene.
PlayAs = Callable[[Any, list[torch.nn.Module]], list[list[Command]]]


@runtime_checkable
class PlaysItself(Protocol):
    """A scene in which the learning network may also play the other side (self-play).

    The pipeline hands it the live network (to take frozen copies of) and :data:`PlayAs`.
    """

    def meet_own_network(self, network: torch.nn.Module, play: PlayAs) -> bool:
        """Return True when the scene keeps copies of ``network`` (its shape must then stay:
        the architect may not grow it)."""
        ...


@runtime_checkable
class SceneNode(Protocol):
    """A scene node's implementation: builds the scene from the node's properties."""

    def create(self, generator: torch.Generator) -> Scene: ...


@runtime_checkable
class ValueNode(Protocol):
    """A sensor, action or reward: maps its inputs to its outputs by port name.

    Sensors give ``(N, size)`` tensors, actions give :class:`Command` objects, rewards ``(N,)``
    tensors.
    """

    def forward(self, inputs: dict[str, Any]) -> dict[str, Any]: ...


@runtime_checkable
class NetworkSource(Protocol):
    """A node that provides the trained network: a fresh NN Factory, a loaded or merged file."""

    architecture: Architecture
    origin: Origin
    parents: tuple[ParentRef, ...]
    #: How the network may grow and shrink while it trains (None: its shape is fixed).
    growth: GrowthSettings | None

    def build(self, seed: int) -> torch.nn.Sequential:
        """The module to train (fresh weights, or a copy of received ones)."""
        ...

    def lineage(self, module: torch.nn.Module) -> str:
        """Digest of the initial weights the module grew from (see Provenance.lineage)."""
        ...

    def check_fits(self, inputs: list[PortMeaning], outputs: list[PortMeaning]) -> None:
        """Refuse (AtrapError) a network whose inputs/outputs mean other things in this graph."""
        ...


@runtime_checkable
class Helper(Protocol):
    """A node that acts between updates (saving the network on a schedule)."""

    def after_update(self, step: int, folder: Path, write: Callable[[Path], None]) -> None: ...


@runtime_checkable
class Trainer(Protocol):
    """How the network learns. It sees the pipeline's phases and the scene's protocol only."""

    budget: Budget
    env_steps_per_update: int
    #: The metric an architect follows when the scene has no error of its own (lower: better).
    tracked_loss: str

    def plan(self, total_steps: int) -> None: ...

    def network_changed(self, change: NetworkChange) -> None:
        """Follow a replaced network (the architect grew or shrank it): carry the optimiser's
        state over and rebuild whatever was derived from the old module."""
        ...

    def step(self, step: int) -> Metrics: ...

    def policy(self, obs: torch.Tensor) -> torch.Tensor: ...

    def state_tensors(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]: ...

    def load_state_tensors(
        self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
    ) -> None: ...


#: The protocol each node category's implementation (or what it builds) must satisfy.
CATEGORY_PROTOCOLS: dict[str, type] = {
    "scene": SceneNode,
    "sensor": ValueNode,
    "action": ValueNode,
    "reward": ValueNode,
    "nn": NetworkSource,
    "helper": Helper,
    "trainer": Trainer,
}
