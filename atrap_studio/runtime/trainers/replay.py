"""A replay buffer of transitions for off-policy trainers, kept as preallocated tensors.

A ring: the newest transitions overwrite the oldest once it is full. Whole batches from every
scene instance go in at once, and minibatches come out by index from the trainer's own
generator, so a seeded run and a resumed one draw the same samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

FIELDS = ("obs", "action", "reward", "next_obs", "terminal")


@dataclass(frozen=True)
class Batch:
    """Transitions: state, action taken, reward, the state after, and whether that ended
    the task (a time-limit cut is not an end: the state after still has a value)."""

    obs: Tensor
    action: Tensor
    reward: Tensor
    next_obs: Tensor
    terminal: Tensor


class ReplayBuffer:
    def __init__(self, capacity: int, obs_size: int, actions: int, device: torch.device) -> None:
        self.capacity = capacity
        self.size = 0
        self.position = 0
        self.data = {
            "obs": torch.zeros(capacity, obs_size, device=device),
            "action": torch.zeros(capacity, actions, device=device),
            "reward": torch.zeros(capacity, device=device),
            "next_obs": torch.zeros(capacity, obs_size, device=device),
            "terminal": torch.zeros(capacity, dtype=torch.bool, device=device),
        }

    def add(self, batch: Batch) -> None:
        """Store a batch of transitions (rows), wrapping around when full."""
        rows = batch.obs.shape[0]
        if rows <= self.capacity:  # at most two runs of rows: copies into slices
            first = min(rows, self.capacity - self.position)
            for name in FIELDS:
                values = getattr(batch, name).detach()
                self.data[name][self.position : self.position + first] = values[:first]
                self.data[name][: rows - first] = values[first:]
        else:  # more than it holds: each row where it falls, the last ones kept
            index = (self.position + torch.arange(rows, device=batch.obs.device)) % self.capacity
            for name in FIELDS:
                self.data[name][index] = getattr(batch, name).detach().to(self.data[name].dtype)
        self.position = (self.position + rows) % self.capacity
        self.size = min(self.capacity, self.size + rows)

    def sample(self, count: int, generator: torch.Generator) -> Batch:
        index = torch.randint(self.size, (count,), generator=generator, device=generator.device)
        index = index.to(self.data["obs"].device)
        return Batch(**{name: self.data[name].index_select(0, index) for name in FIELDS})

    # -- checkpoint state: only the filled rows travel ---------------------------------------

    def state_tensors(self) -> tuple[dict[str, Tensor], dict[str, Any]]:
        tensors = {name: self.data[name][: self.size].clone() for name in FIELDS}
        tensors["terminal"] = tensors["terminal"].to(torch.uint8)  # checkpoints hold no bools
        return tensors, {"size": self.size, "position": self.position}

    def load_state_tensors(self, tensors: dict[str, Tensor], meta: dict[str, Any]) -> None:
        size, position = int(meta["size"]), int(meta["position"])
        if not (0 <= size <= self.capacity and 0 <= position < max(1, self.capacity)):
            raise ValueError(
                f"the replay buffer holds {size:,} transitions at {position:,}, "
                f"which does not fit its capacity of {self.capacity:,}"
            )
        for name in FIELDS:
            stored = tensors[name]
            if stored.shape[0] != size or stored.shape[1:] != self.data[name].shape[1:]:
                raise ValueError(
                    f"the replay buffer's '{name}' has shape {tuple(stored.shape)}, "
                    f"not {(size, *self.data[name].shape[1:])}"
                )
            self.data[name][:size] = stored.to(self.data[name].dtype)
        self.size, self.position = size, position
