"""Where a network comes from: who trained it, on which scene variant, from which parents.

A network file travels between people; its provenance lets a receiver see what it is before
using it, and lets merging tell networks that grew from one initialisation (which may be
averaged) from networks that merely share a shape (which may not).
"""

from __future__ import annotations

import getpass
import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

Digest = Annotated[str, Field(pattern=r"^[0-9a-f]{16,64}$")]
#: Text from a file: bounded, and without control characters (it is printed to terminals).
Text = Annotated[str, Field(max_length=500, pattern=r"^[^\x00-\x1f\x7f-\x9f]*$")]
MAX_PARENTS = 64

#: How a network came to be.
Origin = Literal["trained", "imported", "merged-average", "merged-distill", "crowd"]


class SceneVariant(BaseModel):
    """The scene a network was trained in: its node type and properties."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Text
    props: dict[str, Any] = {}


class ParentRef(BaseModel):
    """A network this one was made from, identified by the SHA-256 of its file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha256: Digest
    name: Text = ""
    trained_by: Text = ""
    variant: Text = ""


class Provenance(BaseModel):
    """Who made a network, when, how, on what, and from which parents.

    Attributes:
        lineage: digest of the initial weights the network grew from; equal lineages mean a
            common initialisation (the condition for averaging to make sense).
        variant: a short human label of the scene variant, e.g. "region 2 of 4".
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    atrap_version: Text = ""
    origin: Origin = "trained"
    trained_by: Text = ""
    created: Text = ""
    graph_name: Text = ""
    scene: SceneVariant | None = None
    variant: Text = ""
    lineage: Digest | None = None
    parents: list[ParentRef] = Field(default=[], max_length=MAX_PARENTS)


def author() -> str:
    """The name networks are signed with: ``ATRAP_AUTHOR``, else the login name."""
    name = os.environ.get("ATRAP_AUTHOR", "").strip()
    if name:
        return name[:200]
    try:
        return getpass.getuser()[:200]
    except (KeyError, OSError):  # no login name (some containers)
        return ""


def now() -> str:
    """The current UTC time, ISO 8601, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def weights_digest(module: torch.nn.Module) -> str:
    """A digest of a module's parameters (names, shapes and bytes), 32 hex characters."""
    digest = hashlib.blake2b(digest_size=16)
    for name, tensor in module.state_dict().items():
        digest.update(f"{name}:{list(tensor.shape)};".encode())
        digest.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()


def file_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes: the identity of a shared network."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parent_of(path: str | os.PathLike[str], provenance: Provenance) -> ParentRef:
    """The reference a child network keeps to the file it was made from."""
    return ParentRef(
        sha256=file_digest(path),
        name=Path(path).name[:500],
        trained_by=provenance.trained_by,
        variant=provenance.variant,
    )
