"""Against client drift: what a peer adds to its own objective while it trains a round.

Peers that each see one region of the world pull the crowd's network apart within a round
(their updates average badly). Two remedies from the literature, both as terms on the
gradient, so that they work with any trainer that learns by backpropagation, unchanged:

* **FedProx** (Li et al., 2020): the local objective gains ``mu/2 * ||w - w_global||^2``,
  so every gradient gains ``mu * (w - w_global)``: a pull back towards the network the
  aggregator sent.
* **SCAFFOLD** (Karimireddy et al., 2020): every gradient gains ``c - c_i``, the aggregator's
  control variate (the crowd's average gradient) minus the peer's own (its average gradient
  last round), which steers each peer's steps towards the crowd's direction. Our trainers use
  Adam, for which the paper's step-size estimate of ``c_i`` has no meaning; a peer's new
  control variate is the mean of the raw gradients of its round instead. The peer keeps
  ``c_i`` between rounds (Flower's context state) and sends its change; the aggregator adds
  the mean change to ``c``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

#: The message record that carries the aggregator's control variate, and peers' changes.
CONTROL_KEY = "control"
#: The config key of the control variate's digests (as DIGESTS_KEY for the network).
CONTROL_DIGESTS_KEY = "control-digests"
#: Where a peer keeps its own control variate between rounds (its context's state).
STATE_KEY = "scaffold-control"


@dataclass(frozen=True)
class LocalTerms:
    """What a peer adds to each gradient: FedProx's pull (``prox_mu``) and/or SCAFFOLD."""

    prox_mu: float = 0.0
    scaffold: bool = False

    @classmethod
    def from_settings(cls, settings: Any) -> LocalTerms:
        """From a crowd run's settings (``prox-mu``, ``scaffold``), checked: a peer runs them
        for someone else."""
        mu = float(settings.get("prox-mu", 0.0))
        if not 0.0 <= mu <= 1e3:
            raise ValueError(f"prox-mu is {mu}; it must be between 0 and 1000")
        return cls(mu, bool(int(settings.get("scaffold", 0))))


def parameter_shapes(network: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    """The shapes of what a control variate covers: the trained parameters (no buffers)."""
    return {n: tuple(p.shape) for n, p in network.named_parameters() if p.requires_grad}


def zero_control(network: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: torch.zeros_like(p) for n, p in network.named_parameters() if p.requires_grad}


class CorrectedGradients:
    """While active, every gradient of ``network``'s parameters gains the local terms: FedProx's
    ``mu * (w - anchor)`` and SCAFFOLD's ``correction`` (``c - c_i``). It also sums the raw
    gradients, whose mean is SCAFFOLD's new ``c_i``. Gradient hooks act before the trainer's
    clipping and optimiser, exactly as a term of the loss would."""

    def __init__(
        self,
        network: torch.nn.Module,
        *,
        mu: float = 0.0,
        correction: dict[str, torch.Tensor] | None = None,
    ) -> None:
        self.params = {n: p for n, p in network.named_parameters() if p.requires_grad}
        self.mu = mu
        self.anchor = {n: p.detach().clone() for n, p in self.params.items()} if mu else {}
        self.correction = correction or {}
        self.sums = {n: torch.zeros_like(p) for n, p in self.params.items()}
        self.counts = dict.fromkeys(self.params, 0)
        self._handles: list[Any] = []

    def __enter__(self) -> CorrectedGradients:
        for name, param in self.params.items():
            self._handles.append(param.register_hook(self._hook(name, param)))  # type: ignore[no-untyped-call]
        return self

    def __exit__(self, *_: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _hook(self, name: str, param: torch.nn.Parameter) -> Any:
        def corrected(grad: torch.Tensor) -> torch.Tensor:
            self.sums[name] += grad.detach()
            self.counts[name] += 1
            extra = grad
            if self.mu:
                extra = extra + self.mu * (param.detach() - self.anchor[name])
            if name in self.correction:
                extra = extra + self.correction[name]
            return extra

        return corrected

    def mean_gradients(self) -> dict[str, torch.Tensor]:
        """The mean raw gradient of each parameter over the steps taken (zero if none)."""
        return {n: s / max(1, self.counts[n]) for n, s in self.sums.items()}
