"""Content digests for safetensors files: one per tensor, one for the metadata.

The safetensors header checks catch truncation and broken structure, but not a flipped bit in
the weights: the numbers are still numbers, and a network that answers differently looks like
a healthy one. Every file we write therefore records a SHA-256 digest of each tensor (its
dtype, shape and bytes) and of all other metadata (the manifest, the graph text, the run
record) under :data:`DIGEST_KEY`; every read checks them before anything is used, so a
mismatch names the file and the damaged tensor.

Hashing is SHA-256 through OpenSSL (about 0.65 ms per MB here, with the CPU's SHA
instructions; SHA-1 was 6% faster, SHA-512 and BLAKE2b twice as slow), and every byte must be
hashed to refuse every flip, so the check costs that CPU time whatever is done. What can be
saved is waiting for it: see :func:`start_check`. Tensors are handed out only after it passed.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import warnings
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass

from atrap_studio.core.errors import AtrapWarning, NetworkFileError

#: The metadata entry holding the digests (reserved: callers may not write it themselves).
DIGEST_KEY = "atrap_digest"
ALGORITHM = "sha256"
#: Less data than this is checked on the calling thread: handing it over would cost more.
BACKGROUND_MIN_BYTES = 128 * 1024
#: A worker hashing slower than this is taken to be held up (SHA-256 runs at about 1,500 MB/s
#: here, and at 300 or more without SHA instructions): its tensor is hashed again, not waited for.
PATIENT_BYTES_PER_S = 250e6

#: How every record begins (its keys are sorted): found under another name, the name was damaged.
_RECORD_START = '{"algorithm":'

#: One tensor's stored bytes as the digest covers them: name, dtype, shape, bytes.
StoredTensor = tuple[str, str, tuple[int, ...], memoryview]


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
        if any(value.startswith(_RECORD_START) for value in rest.values()):
            raise NetworkFileError(
                f"{where}: its content digest record is stored under a damaged name: the file "
                "was damaged after it was written"
            )
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


def start_check(record: DigestRecord, stored: Sequence[StoredTensor]) -> Callable[[], str | None]:
    """Start comparing stored tensors with their digests; the returned call finishes the check.

    Its answer is the name of the first damaged tensor in file order, or ``None``; the caller
    must have it before it uses any tensor. Large data is shared out, a tensor at a time,
    between a worker thread that starts at once (OpenSSL releases the GIL while it hashes) and
    the caller, who hashes what the worker has not taken when it asks for the answer (from the
    other end of the file), then waits for the one tensor the worker may be busy with, unless
    the worker is held up. So where a core is free the worker checks the file while the caller
    builds the module or parses the graph, and where none is (a busy machine) the caller does
    the work itself instead of waiting for a worker that got no core; at worst it hashes one
    tensor twice. (Before, the caller waited for the worker to check the whole file.)
    """
    check = _SharedCheck(record, stored)
    worker = _worker() if sum(len(data) for *_, data in stored) >= BACKGROUND_MIN_BYTES else None
    if worker is not None:
        worker.submit(check.run)
    return check.answer


class _SharedCheck:
    """One file's tensors, each checked by the thread that takes it first (see start_check)."""

    def __init__(self, record: DigestRecord, stored: Sequence[StoredTensor]) -> None:
        self._record = record
        self._stored = list(stored)
        self._todo = deque(range(len(self._stored)))  # pop and popleft are atomic
        self._matched: list[bool | None] = [None] * len(self._stored)
        self._finished = threading.Condition()

    def run(self) -> None:
        """The worker's part: tensors from the start of the file until none is left."""
        with suppress(IndexError):
            while True:
                self._check(self._todo.popleft())

    def answer(self) -> str | None:
        """The caller's part: tensors from the end, then the one the worker is hashing, if any:
        waited for as long as hashing it at PATIENT_BYTES_PER_S would take, else hashed here."""
        with suppress(IndexError):
            while True:
                self._check(self._todo.pop())
        busy = sum(len(self._stored[i][3]) for i, ok in enumerate(self._matched) if ok is None)
        with self._finished:
            self._finished.wait_for(lambda: None not in self._matched, busy / PATIENT_BYTES_PER_S)
        for index, matched in enumerate(self._matched):
            if matched is None:
                self._check(index)
        return next((self._stored[i][0] for i, ok in enumerate(self._matched) if not ok), None)

    def _check(self, index: int) -> None:
        name, dtype, shape, data = self._stored[index]
        matched = tensor_digest(dtype, shape, data) == self._record.tensors[name]
        with self._finished:
            self._matched[index] = matched
            self._finished.notify_all()


_pool: ThreadPoolExecutor | None = None


def _worker() -> ThreadPoolExecutor | None:
    """The digest thread, made on first use; ``None`` with a single CPU, where it gains nothing."""
    global _pool
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if _pool is None and (cpus or 1) > 1:
        _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="atrap-digest")
    return _pool


def _forget_worker() -> None:
    """A forked child has no threads but the one that forked: it makes its own worker."""
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_worker)


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
