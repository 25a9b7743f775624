"""What a node implementation is given when a run compiles its graph."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from atrap_studio.core.specs import NodeSpec


@dataclass(frozen=True)
class Command:
    """A command from an action node to a scene, e.g. ``joint_targets`` in radians (N, J).

    ``seat`` is which of the scene's bodies it drives, where several agents learn in one scene
    (the tank arena's 0, blue, or 1, red); scenes with one body ignore it.
    """

    kind: str
    values: torch.Tensor
    seat: int = 0


@dataclass(frozen=True)
class NodeContext:
    """Everything a node implementation may know about its place in the graph.

    Attributes:
        id: the node's id in the graph.
        spec: its spec.
        props: its properties, defaults filled in.
        inputs: shape arriving at each of its linked inputs (from validation's inference).
        outputs: shape of each of its outputs, where known.
        facts: what the scene declares about itself.
        seed: the run's seed for this node (derived from the trainer's seed or ``--seed``).
        device: where tensors live.
        folder: where relative file names in properties are read from (the graph's folder).
    """

    id: str
    spec: NodeSpec
    props: dict[str, Any]
    inputs: dict[str, tuple[int, ...]]
    outputs: dict[str, tuple[int, ...]]
    facts: dict[str, Any]
    seed: int
    device: torch.device
    folder: Path = Path()

    def generator(self, salt: int = 0) -> torch.Generator:
        """A generator seeded from the run's seed, this node's id and ``salt``.

        Independent streams per node keep a run reproducible when nodes are added elsewhere.
        """
        generator = torch.Generator(device=self.device)
        generator.manual_seed(derive_seed(self.seed, self.id, salt))
        return generator


def derive_seed(seed: int, name: str, salt: int = 0) -> int:
    """A stable 63-bit seed from a base seed and a name (not Python's randomised hash)."""
    digest = hashlib.blake2b(f"{seed}/{name}/{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & (2**63 - 1)
