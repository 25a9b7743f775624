"""Content digests for safetensors files: one per tensor, one for the metadata.

The safetensors header checks catch truncation and broken structure, but not a flipped bit in
the weights: the numbers are still numbers, and a network that answers differently looks like
a healthy one. Every file we write therefore records a SHA-256 digest of each tensor (its
dtype, shape and bytes) and of all other metadata (the manifest, the graph text, the run
record) under :data:`DIGEST_KEY`; every read checks them before anything is used, so a
mismatch names the file and the damaged tensor.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

from atrap_studio.core.errors import AtrapWarning, NetworkFileError

#: The metadata entry holding the digests (reserved: callers may not write it themselves).
DIGEST_KEY = "atrap_digest"
ALGORITHM = "sha256"


@dataclass(frozen=True)
class DigestRecord:
    """The digests a file declares: one per tensor name, one for the rest of its metadata."""

    tensors: dict[str, str]
    metadata: str

    def to_json(self) -> str:
        return json.dumps(
            {"algorithm": ALGORITHM, "metadata": self.metadata, "tensors": self.tensors},
            sort_keys=True,
            separators=(",", ":"),
        )


def tensor_digest(dtype: str, shape: tuple[int, ...], data: bytes | memoryview) -> str:
    """The digest of one tensor as stored: dtype and shape are covered as well as the bytes."""
    digest = hashlib.sha256()
    digest.update(f"{dtype}{list(shape)}".encode("ascii"))
    digest.update(data)
    return digest.hexdigest()


def metadata_digest(metadata: Mapping[str, str]) -> str:
    """The digest of every metadata entry but the digest record, in a canonical JSON form."""
    text = json.dumps(
        {k: v for k, v in metadata.items() if k != DIGEST_KEY},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
        return None, rest
    record = _parse_record(where, raw)
    if metadata_digest(rest) != record.metadata:
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
    if not isinstance(data, dict) or data.get("algorithm") != ALGORITHM:
        found = data.get("algorithm") if isinstance(data, dict) else None
        raise NetworkFileError(f"{problem} or uses an unknown algorithm ({found!r})")
    tensors, meta = data.get("tensors"), data.get("metadata")
    if (
        not isinstance(tensors, dict)
        or not all(isinstance(v, str) for v in tensors.values())
        or not isinstance(meta, str)
    ):
        raise NetworkFileError(f"{problem} (wrong structure)")
    return DigestRecord(tensors=tensors, metadata=meta)
