"""One owner of the trained network: its module, its architecture and a revision number.

A network that grows or shrinks while it trains is replaced by a new module. Everything that
holds it (the trainer and its optimiser, the pipeline's phases, a self-playing scene, the
checkpoint writer) must follow at once, so nobody keeps the network itself: they read it from
here, and those that hold state derived from it subscribe and are told of each replacement
(the Subject/Observer pair the architect needs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from atrap_studio.runtime.architect.surgery import StateMap
from atrap_studio.runtime.networks import Architecture


@dataclass(frozen=True)
class NetworkChange:
    """One replacement of the network, as its subscribers are told of it.

    Attributes:
        revision: the owner's revision after the change (1 for the first change).
        architecture: the new architecture.
        module: the new module (already on the old one's device).
        state_map: where each new parameter came from in the old module (an empty map when
            the module was rebuilt from a checkpoint: its state is loaded after).
        description: one line for people, e.g. "widened hidden layer 0 from 8 to 10: ...".
    """

    revision: int
    architecture: Architecture
    module: torch.nn.Sequential
    state_map: StateMap
    description: str


Subscriber = Callable[[NetworkChange], None]


class NetworkOwner:
    """Holds the network; :meth:`replace` swaps it and tells every subscriber, in order."""

    def __init__(self, architecture: Architecture, module: torch.nn.Sequential) -> None:
        self.architecture = architecture
        self.module = module
        #: The architecture's parameter count, kept with it (read after every update).
        self.parameters = architecture.parameter_count()
        self.revision = 0
        #: Each change's description, oldest first (the growth history a network file keeps).
        self.history: list[str] = []
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        """Call ``subscriber`` after every replacement (in the order of subscription)."""
        self._subscribers.append(subscriber)

    def replace(
        self,
        architecture: Architecture,
        module: torch.nn.Sequential,
        state_map: StateMap,
        description: str,
    ) -> NetworkChange:
        """Make ``module`` the network and tell the subscribers.

        Raises:
            ValueError: the module's parameters are not on the old module's device (the trainer
                would fail on the next update, far from the cause).
        """
        device = _device(self.module)
        if device is not None and _device(module) not in (None, device):
            raise ValueError(f"the new network is on {_device(module)}, the old one on {device}")
        self.architecture, self.module = architecture, module
        self.parameters = architecture.parameter_count()
        self.revision += 1
        self.history.append(description)
        change = NetworkChange(self.revision, architecture, module, state_map, description)
        for subscriber in self._subscribers:
            subscriber(change)
        return change

    def rebuild(self, architecture: Architecture, module: torch.nn.Sequential) -> NetworkChange:
        """Replace the network by one of another shape whose weights (and every subscriber's
        state) are loaded after: resuming a checkpoint taken after changes."""
        empty = StateMap(old=dict(self.module.named_parameters()), origins={})
        return self.replace(architecture, module, empty, "rebuilt from a checkpoint")


def _device(module: torch.nn.Module) -> torch.device | None:
    first = next(module.parameters(), None)
    return first.device if first is not None else None
