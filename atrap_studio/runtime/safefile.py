"""Atomic safetensors writes and guarded safetensors reads, for network and checkpoint files.

Files arrive from other people's machines: the header is parsed and checked here before
safetensors sees the data, so a hostile or damaged file is refused with a message that says
what is wrong instead of allocating gigabytes or failing deep inside a library.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import secrets
import struct
from collections.abc import Collection, Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as _load_bytes
from safetensors.torch import save_file as _save_file

from atrap_studio.core.errors import NetworkFileError
from atrap_studio.runtime.digests import (
    DIGEST_KEY,
    DigestRecord,
    check_names,
    first_damaged,
    metadata_digest,
    split_record,
    tensor_digest,
    warn_undigested,
)

MAX_HEADER_BYTES = 16 * 1024 * 1024

_DTYPE_NAMES: dict[torch.dtype, str] = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}
_ITEM_BYTES: dict[str, int] = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
}
_PICKLE_HINT = "this looks like a pickle/torch.save file; ATRAP never unpickles"


@dataclass(frozen=True)
class TensorInfo:
    """One tensor as the file's header declares it; offsets count from the start of the data."""

    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


def write_safetensors_atomic(
    path: str | os.PathLike[str],
    tensors: Mapping[str, torch.Tensor],
    metadata: Mapping[str, str],
) -> None:
    """Write tensors and metadata so that `path` is either the old file or the whole new one.

    Tensors are copied to contiguous CPU memory (safetensors refuses shared storage), their
    digests and the metadata's are added to the metadata (see :mod:`digests`), and the file is
    written to a temporary file beside `path`, flushed to disk and renamed over `path`.

    Raises:
        TypeError: a name or metadata entry that is not a string, or a value that is not a tensor.
        ValueError: the metadata uses the reserved digest key.
        OSError: the file cannot be written (a full disk, a read-only folder), naming ``path``;
            the previous file at ``path``, if any, is left as it was.
    """
    target = Path(path)
    prepared: dict[str, torch.Tensor] = {}
    for name, tensor in tensors.items():
        if not isinstance(name, str) or not isinstance(tensor, torch.Tensor):
            raise TypeError(f"tensor entries must map str to torch.Tensor, got {name!r}")
        prepared[name] = tensor.detach().to(
            device="cpu", memory_format=torch.contiguous_format, copy=True
        )
    meta = dict(metadata)
    for key, value in meta.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"metadata must map str to str, got {key!r}: {type(value).__name__}")
    if DIGEST_KEY in meta:
        raise ValueError(f"the metadata key {DIGEST_KEY!r} is reserved for the content digest")
    record = DigestRecord(
        tensors={name: _digest_of(tensor) for name, tensor in prepared.items()},
        metadata=metadata_digest(meta),
    )
    meta[DIGEST_KEY] = record.to_json()
    temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        # O_EXCL: never follow or reuse someone else's file; mode 0o666 lets the umask decide.
        os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as exc:
        raise _named(exc, target) from None
    try:
        _save_file(prepared, os.fspath(temp), metadata=meta)
        with open(temp, "r+b") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException as exc:
        with suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError | SafetensorError):
            raise _named(exc, target) from None
        raise
    _fsync_directory(target.parent)


def _named(exc: OSError | SafetensorError, target: Path) -> OSError:
    """The error of a failed write as an OSError naming the file asked for, not our temp file
    (safetensors reports a full disk as a SafetensorError carrying the OS error number)."""
    if isinstance(exc, OSError):
        return OSError(exc.errno, exc.strerror or str(exc), os.fspath(target))
    found = re.search(r"os error (\d+)", str(exc))
    number = int(found.group(1)) if found else errno.EIO
    return OSError(number, os.strerror(number), os.fspath(target))


@dataclass(frozen=True)
class SafetensorsHeader:
    """A file whose header passed every check that needs no tensor data.

    Lets a caller refuse a file by its metadata (format, version, shapes) before the weights
    are read, then read them with :meth:`read_tensors`.
    """

    where: str
    size: int
    #: The 8 length bytes and the header, as read: the data read must start with them.
    head: bytes
    infos: dict[str, TensorInfo]
    #: The metadata without the digest record, as the file's writer gave it.
    metadata: dict[str, str]
    record: DigestRecord | None
    allowed_dtypes: tuple[torch.dtype, ...] | None

    def read_tensors(self, *, require_finite: bool = True) -> dict[str, torch.Tensor]:
        """Read the whole file and hand out its tensors once their digests matched; checked
        for dtype and, if ``require_finite``, for NaN and infinity.

        A file without digests (written before they existed) is read with an
        :class:`AtrapWarning`.

        Raises:
            NetworkFileError: naming the file and the damaged tensor or the problem, or the
            file cannot be read or changed since its header was read.
        """
        where = self.where
        try:
            with open(where, "rb") as handle:
                data = handle.read(self.size + 1)
        except OSError as exc:
            raise NetworkFileError(f"{where}: cannot be read: {exc.strerror or exc}") from exc
        if len(data) != self.size or not data.startswith(self.head):
            raise NetworkFileError(f"{where}: the file changed while it was being read")
        if self.record is None:
            warn_undigested(where)
        else:
            body = memoryview(data)[len(self.head) :]
            stored = [
                (name, info.dtype, info.shape, body[info.begin : info.end])
                for name, info in sorted(self.infos.items(), key=lambda item: item[1].begin)
            ]
            damaged = first_damaged(self.record, stored)
            if damaged is not None:
                raise NetworkFileError(
                    f"{where}: tensor {damaged!r} does not match its digest: its data was "
                    "damaged after the file was written (a bad disk, copy or download); use "
                    "another copy"
                )
        try:
            tensors = _load_bytes(data)
        except (SafetensorError, ValueError, RuntimeError, TypeError) as exc:
            raise NetworkFileError(f"{where}: safetensors could not load the data: {exc}") from exc
        if set(tensors) != set(self.infos):
            raise NetworkFileError(
                f"{where}: the loaded tensors differ from those the header lists"
            )
        allowed_dtypes = self.allowed_dtypes
        allowed = None if allowed_dtypes is None else {_DTYPE_NAMES.get(d) for d in allowed_dtypes}
        for name, tensor in tensors.items():
            if allowed is not None and _DTYPE_NAMES.get(tensor.dtype) not in allowed:
                raise NetworkFileError(f"{where}: tensor {name!r} loaded as {tensor.dtype}")
            if require_finite and tensor.is_floating_point() and not all_finite(tensor):
                bad = int((~torch.isfinite(tensor)).sum())
                raise NetworkFileError(
                    f"{where}: tensor {name!r} holds {bad} non-finite value(s) (NaN or "
                    "infinity); the file is damaged or was saved from a diverged run"
                )
        return tensors


def open_safetensors(
    path: str | os.PathLike[str],
    *,
    max_bytes: int,
    allowed_dtypes: Collection[torch.dtype] | None = None,
) -> SafetensorsHeader:
    """Check a file's structure, its metadata against its digest and its declared dtypes,
    reading the header only.

    Refused: a missing, empty or irregular file, one over `max_bytes`, a pickle or zip file, a
    header that is too long, not JSON or not an object, tensors whose data range falls outside
    the file, overlaps or disagrees with shape times dtype size, metadata that does not match
    its digest, tensor names other than those the digests cover, dtypes outside
    `allowed_dtypes` (any dtype when ``None``).

    Raises:
        NetworkFileError: naming the file and the problem.
    """
    where = os.fspath(path)
    size = _checked_size(where, max_bytes)
    try:
        with open(where, "rb") as handle:
            first = handle.read(8)
            length = _header_length(where, first, size)
            head = first + handle.read(length)
    except OSError as exc:
        raise NetworkFileError(f"{where}: cannot be read: {exc.strerror or exc}") from exc
    if len(head) != 8 + length:
        raise NetworkFileError(f"{where}: the file changed while it was being read")
    infos, metadata = _parse_header(where, head, size)
    record, metadata = split_record(where, metadata)
    if record is not None:
        check_names(where, record, set(infos))
    _check_dtypes(where, infos, allowed_dtypes)
    return SafetensorsHeader(
        where=where,
        size=size,
        head=head,
        infos=infos,
        metadata=metadata,
        record=record,
        allowed_dtypes=None if allowed_dtypes is None else tuple(allowed_dtypes),
    )


def declares_digests(path: str | os.PathLike[str], *, max_bytes: int) -> bool:
    """Whether a file carries a digest record, from its header alone.

    For messages about a file that was read but does not fit: an intact file (its digests
    matched) is another graph's or version's; one without digests may just as well be damaged.
    ``False`` when the header cannot be read again.
    """
    where = os.fspath(path)
    try:
        size = _checked_size(where, max_bytes)
        with open(where, "rb") as handle:
            first = handle.read(8)
            header = first + handle.read(_header_length(where, first, size))
        return DIGEST_KEY in _parse_header(where, header, size)[1]
    except (OSError, NetworkFileError):
        return False


def read_safetensors_checked(
    path: str | os.PathLike[str],
    *,
    max_bytes: int,
    allowed_dtypes: Collection[torch.dtype] = (torch.float32,),
    require_finite: bool = True,
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Load a safetensors file after checking that it is one and that it is sane.

    Every check of :func:`open_safetensors`, then the tensor data against its digests before
    safetensors parses any, then non-finite floating values if `require_finite`. A file without
    digests (written before they existed) is read with an :class:`AtrapWarning`. The data is
    read once into memory, so every check sees the same bytes the tensors come from, and the
    tensors share no memory with the file.

    Returns:
        The tensors by name and the metadata (empty when the file has none), without the
        digest record.

    Raises:
        NetworkFileError: naming the file and the problem.
    """
    header = open_safetensors(path, max_bytes=max_bytes, allowed_dtypes=allowed_dtypes)
    return header.read_tensors(require_finite=require_finite), header.metadata


def _digest_of(tensor: torch.Tensor) -> str:
    """The digest of a contiguous CPU tensor's bytes exactly as safetensors writes them."""
    name = _DTYPE_NAMES.get(tensor.dtype)
    if name is None:
        raise TypeError(f"tensors of dtype {tensor.dtype} cannot be stored")
    raw = tensor.reshape(-1).view(torch.uint8).numpy()
    return tensor_digest(name, tuple(tensor.shape), raw.data)


def all_finite(tensor: torch.Tensor) -> bool:
    """Whether a floating tensor holds no NaN or infinity.

    NaN and infinities propagate to the minimum or maximum, and one aminmax pass is several
    times faster than `torch.isfinite(t).all()` on CPU.
    """
    if tensor.numel() == 0:
        return True
    low, high = torch.aminmax(tensor.detach().reshape(-1))
    return math.isfinite(float(low)) and math.isfinite(float(high))


def _checked_size(where: str, max_bytes: int) -> int:
    try:
        stat = os.stat(where)
    except FileNotFoundError as exc:
        raise NetworkFileError(f"{where}: no such file") from exc
    except OSError as exc:
        raise NetworkFileError(f"{where}: cannot be read: {exc.strerror or exc}") from exc
    if not os.path.isfile(where):
        raise NetworkFileError(f"{where}: not a regular file")
    if stat.st_size == 0:
        raise NetworkFileError(f"{where}: the file is empty")
    if stat.st_size > max_bytes:
        raise NetworkFileError(
            f"{where}: the file is {stat.st_size} bytes, over the limit of {max_bytes} bytes"
        )
    return stat.st_size


def _looks_pickled(first: bytes) -> bool:
    """Pickle and zip magic: only consulted once a file has failed as safetensors."""
    if first.startswith((b"PK\x03\x04", b"PK\x05\x06")):  # torch.save's zip container
        return True
    if len(first) >= 2 and first[0] == 0x80 and 1 <= first[1] <= 5:  # pickle protocol 2+
        return True
    return first[:2] in (b"(d", b"(l", b"(t", b"(i", b"}q", b"]q", b"(c")  # protocols 0 and 1


def _header_length(where: str, first: bytes, size: int) -> int:
    """The header length from the first 8 bytes, checked against the file size."""
    if len(first) < 8:
        if _looks_pickled(first):
            raise NetworkFileError(f"{where}: {_PICKLE_HINT}")
        raise NetworkFileError(
            f"{where}: truncated: {size} bytes, too short for a safetensors file "
            "(which starts with an 8-byte header length)"
        )
    (length,) = struct.unpack("<Q", first)
    problem = ""
    if length > MAX_HEADER_BYTES:
        problem = f"the header length {length} is over the limit of {MAX_HEADER_BYTES} bytes"
    elif 8 + length > size:
        problem = (
            f"the header length {length} reaches past the end of the file ({size} bytes): "
            "the file is truncated or not a safetensors file"
        )
    if problem:
        if _looks_pickled(first):
            raise NetworkFileError(f"{where}: {_PICKLE_HINT}")
        raise NetworkFileError(f"{where}: {problem}")
    return int(length)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        raise ValueError(f"duplicate key(s) {', '.join(map(repr, duplicates))}")
    return dict(pairs)


def _parse_header(
    where: str, head: bytes, size: int
) -> tuple[dict[str, TensorInfo], dict[str, str]]:
    """Parse and check the JSON header; `head` is the 8 length bytes plus the header."""
    if _looks_pickled(head[:8]) and head[8:9] != b"{":
        raise NetworkFileError(f"{where}: {_PICKLE_HINT}")
    try:
        header = json.loads(head[8:].decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise NetworkFileError(f"{where}: the header is not valid JSON ({exc})") from exc
    if not isinstance(header, dict):
        raise NetworkFileError(f"{where}: the header is not a JSON object")
    metadata: dict[str, str] = {}
    raw_metadata = header.pop("__metadata__", None)
    if raw_metadata is not None:
        if not isinstance(raw_metadata, dict) or not all(
            isinstance(v, str) for v in raw_metadata.values()
        ):
            raise NetworkFileError(f"{where}: the header's __metadata__ is not a string map")
        metadata = raw_metadata
    data_size = size - len(head)
    infos = {name: _tensor_info(where, name, entry, data_size) for name, entry in header.items()}
    _check_tiling(where, infos, data_size)
    return infos, metadata


def _tensor_info(where: str, name: str, entry: object, data_size: int) -> TensorInfo:
    def refuse(problem: str) -> NetworkFileError:
        return NetworkFileError(f"{where}: tensor {name!r}: {problem}")

    if not isinstance(entry, dict):
        raise refuse("its header entry is not an object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in _ITEM_BYTES:
        raise refuse(f"unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(_is_count(dim) for dim in shape):
        raise refuse(f"shape {shape!r} is not a list of non-negative integers")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(_is_count(o) for o in offsets)
        or offsets[0] > offsets[1]
    ):
        raise refuse(f"data_offsets {offsets!r} is not a [begin, end] pair")
    begin, end = offsets
    if end > data_size:
        raise refuse(
            f"its declared data range [{begin}, {end}) falls outside the file's "
            f"{data_size} bytes of data: the file is truncated or damaged"
        )
    declared = math.prod(shape) * _ITEM_BYTES[dtype]
    if declared != end - begin:
        raise refuse(
            f"shape {shape} of {dtype} needs {declared} bytes but its data range holds "
            f"{end - begin} bytes"
        )
    return TensorInfo(dtype=dtype, shape=tuple(shape), begin=begin, end=end)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_tiling(where: str, infos: Mapping[str, TensorInfo], data_size: int) -> None:
    """Tensors must cover the data exactly, without overlaps or gaps, as safetensors requires."""
    position = 0
    for name, info in sorted(infos.items(), key=lambda item: (item[1].begin, item[1].end)):
        if info.begin != position:
            raise NetworkFileError(
                f"{where}: tensor {name!r} starts at data byte {info.begin}, expected "
                f"{position}: tensors overlap or leave gaps"
            )
        position = info.end
    if position != data_size:
        raise NetworkFileError(
            f"{where}: the tensors cover {position} bytes but the file holds {data_size} bytes "
            "of data"
        )


def _check_dtypes(
    where: str, infos: Mapping[str, TensorInfo], allowed_dtypes: Collection[torch.dtype] | None
) -> None:
    if allowed_dtypes is None:
        return
    allowed = {_DTYPE_NAMES[d] for d in allowed_dtypes if d in _DTYPE_NAMES}
    for name, info in infos.items():
        if info.dtype not in allowed:
            raise NetworkFileError(
                f"{where}: tensor {name!r} has dtype {info.dtype}; this file may only hold "
                f"{', '.join(sorted(allowed))}"
            )


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); not all systems allow opening a directory."""
    if os.name != "posix":
        return
    with suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
