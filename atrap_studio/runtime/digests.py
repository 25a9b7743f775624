"""Content digests for safetensors files: one per tensor, one for the metadata.

The safetensors header checks catch truncation and broken structure, but not a flipped bit in
the weights: the numbers are still numbers, and a network that answers differently looks like
a healthy one. Every file we write therefore records a digest of each tensor (its dtype, shape
and bytes) and of all other metadata (the manifest, the graph text, the run record) under
:data:`DIGEST_KEY`; every read checks them before anything is used, so a mismatch names the
file and the damaged tensor.

Every byte must be hashed to refuse every flip, so the hash's speed is the check's cost. Files
are written with BLAKE3: 0.13 ms per MB here on one thread, against 0.54 ms for SHA-256 even
with the CPU's SHA instructions (SHA-1 0.49, BLAKE2b 1.0), which cost 13% of the arm network's
load where BLAKE3 costs about 3%. So the check runs on the loading thread, with no worker to
hide it behind. Files written with SHA-256 digests (before 2026-12-04) are still checked with it.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import blake3

from atrap_studio.core.errors import AtrapWarning, NetworkFileError

#: The metadata entry holding the digests (reserved: callers may not write it themselves).
DIGEST_KEY = "atrap_digest"
#: The hash of files written now.
ALGORITHM = "blake3"


class _Hash(Protocol):
    def update(self, data: bytes | memoryview, /) -> object: ...
    def hexdigest(self) -> str: ...


#: The hashes a record may name: SHA-256 for files written before BLAKE3 was chosen.
HASHES: dict[str, Callable[[], _Hash]] = {"blake3": blake3.blake3, "sha256": hashlib.sha256}

#: How every record begins (its keys are sorted): found under another name, the name was damaged.
_RECORD_START = '{"algorithm":'

#: One tensor's stored bytes as the digest covers them: name, dtype, shape, bytes.
StoredTensor = tuple[str, str, tuple[int, ...], memoryview]


@dataclass(frozen=True)
class DigestRecord:
    """The digests a file declares: one per tensor name, one for the rest of its metadata."""

    tensors: dict[str, str]
    metadata: str
    algorithm: str = ALGORITHM

    def to_json(self) -> str:
        return json.dumps(
            {"algorithm": self.algorithm, "metadata": self.metadata, "tensors": self.tensors},
            sort_keys=True,
            separators=(",", ":"),
        )


def tensor_digest(
    dtype: str, shape: tuple[int, ...], data: bytes | memoryview, algorithm: str = ALGORITHM
) -> str:
    """The digest of one tensor as stored: dtype and shape are covered as well as the bytes."""
    digest = HASHES[algorithm]()
    digest.update(f"{dtype}{list(shape)}".encode("ascii"))
    digest.update(data)
    return digest.hexdigest()


def metadata_digest(metadata: Mapping[str, str], algorithm: str = ALGORITHM) -> str:
    """The digest of every metadata entry but the digest record, in a canonical JSON form."""
    text = json.dumps(
        {k: v for k, v in metadata.items() if k != DIGEST_KEY},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    digest = HASHES[algorithm]()
    digest.update(text.encode("utf-8"))
    return digest.hexdigest()


def split_record(
    where: str, metadata: Mapping[str, str]
) -> tuple[DigestRecord | None, dict[str, str]]:
    """Take the digest record out of a file's metadata and check the metadata against it.

    Returns:
        The record (``None`` for a file written before digests existed) and the metadata
        without it, as the file's writer gave it.

    Raises:
        NetworkFileError: the record is malformed or the metadata does not match it.
    """
    rest = {k: v for k, v in metadata.items() if k != DIGEST_KEY}
    raw = metadata.get(DIGEST_KEY)
    if raw is None:
        if any(value.startswith(_RECORD_START) for value in rest.values()):
            raise NetworkFileError(
                f"{where}: its content digest record is stored under a damaged name: the file "
                "was damaged after it was written"
            )
        return None, rest
    record = _parse_record(where, raw)
    if metadata_digest(rest, record.algorithm) != record.metadata:
        raise NetworkFileError(
            f"{where}: its metadata (manifest, graph or run record) does not match its "
            "digest: the file was damaged after it was written"
        )
    return record, rest


def check_names(where: str, record: DigestRecord, names: set[str]) -> None:
    """Refuse a file whose tensor names differ from those its digests cover (a damaged header)."""
    if names != set(record.tensors):
        odd = sorted(names ^ set(record.tensors))[:5]
        raise NetworkFileError(
            f"{where}: its tensors {', '.join(map(repr, odd))} are not those its digests "
            "cover: the header was damaged after the file was written"
        )


def first_damaged(record: DigestRecord, stored: Sequence[StoredTensor]) -> str | None:
    """The name of the first tensor, in the order given, whose bytes differ from its digest."""
    for name, dtype, shape, data in stored:
        if tensor_digest(dtype, shape, data, record.algorithm) != record.tensors[name]:
            return name
    return None


def warn_undigested(where: str) -> None:
    """Files from before digests are read as they are, with a word that nothing vouches for them."""
    warnings.warn(
        f"{where}: has no content digest (written by an older ATRAP Studio), so damage to its "
        "weights cannot be detected; it gains one when saved again",
        AtrapWarning,
        stacklevel=3,
    )


def _parse_record(where: str, raw: str) -> DigestRecord:
    problem = f"{where}: its content digest record is damaged"
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise NetworkFileError(f"{problem} (not JSON)") from None
    if not isinstance(data, dict) or str(data.get("algorithm")) not in HASHES:
        found = data.get("algorithm") if isinstance(data, dict) else None
        raise NetworkFileError(f"{problem} or uses an unknown algorithm ({found!r})")
    tensors, meta = data.get("tensors"), data.get("metadata")
    if (
        not isinstance(tensors, dict)
        or not all(isinstance(v, str) for v in tensors.values())
        or not isinstance(meta, str)
    ):
        raise NetworkFileError(f"{problem} (wrong structure)")
    return DigestRecord(tensors=tensors, metadata=meta, algorithm=data["algorithm"])
