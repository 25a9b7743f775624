"""Atomic safetensors writes and the guarded reader: round trips and every refusal."""

from __future__ import annotations

import io
import json
import pickle
import struct
from pathlib import Path

import pytest
import torch

import atrap_studio.runtime.safefile as safefile
from atrap_studio.core.errors import AtrapError, NetworkFileError
from atrap_studio.runtime.safefile import (
    MAX_HEADER_BYTES,
    all_finite,
    open_safetensors,
    read_safetensors_checked,
    write_safetensors_atomic,
)

LIMIT = 1 << 20


def _tensors() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {"a.weight": torch.randn(4, 3, generator=g), "a.bias": torch.randn(4, generator=g)}


def _raw(path: Path, header: object, data: bytes = b"") -> Path:
    """A file with a hand-written header: the only way to produce some malformed files."""
    text = json.dumps(header).encode() if not isinstance(header, bytes) else header
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
    return path


def _refused(path: Path, *words: str, **kwargs: object) -> str:
    with pytest.raises(NetworkFileError) as info:
        read_safetensors_checked(path, max_bytes=kwargs.pop("max_bytes", LIMIT), **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    message = message.removeprefix(f"{path}: ")  # the words must be in the problem, not the path
    for word in words:
        assert word in message
    return message


def test_error_is_an_atrap_error() -> None:
    assert issubclass(NetworkFileError, AtrapError)


def test_round_trip_is_bit_exact(tmp_path: Path) -> None:
    path = tmp_path / "t.safetensors"
    tensors = _tensors()
    tensors["odd"] = torch.tensor([float("1e-45"), -0.0, 3.4e38])  # subnormal, signed zero
    write_safetensors_atomic(path, tensors, {"format": "x", "note": "é"})
    loaded, metadata = read_safetensors_checked(path, max_bytes=LIMIT)
    assert metadata == {"format": "x", "note": "é"}
    assert set(loaded) == set(tensors)
    for name, tensor in tensors.items():
        assert loaded[name].dtype == tensor.dtype
        assert torch.equal(loaded[name].view(torch.int32), tensor.view(torch.int32))


def test_round_trip_other_dtypes_and_layouts(tmp_path: Path) -> None:
    path = tmp_path / "t.safetensors"
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    tensors = {
        "transposed": base.T,  # not contiguous
        "shared": base[0],  # shares storage with "transposed"
        "rng": torch.random.get_rng_state(),
        "step": torch.tensor([42], dtype=torch.int64),
        "empty": torch.zeros(0, 5),
    }
    write_safetensors_atomic(path, tensors, {})
    loaded, metadata = read_safetensors_checked(
        path, max_bytes=LIMIT, allowed_dtypes=(torch.float32, torch.uint8, torch.int64)
    )
    assert metadata == {}
    for name, tensor in tensors.items():
        assert torch.equal(loaded[name], tensor)


def test_loaded_tensors_do_not_alias_the_file(tmp_path: Path) -> None:
    path = tmp_path / "t.safetensors"
    write_safetensors_atomic(path, _tensors(), {})
    loaded, _ = read_safetensors_checked(path, max_bytes=LIMIT)
    path.write_bytes(b"\xff" * path.stat().st_size)  # overwrite in place
    assert torch.equal(loaded["a.bias"], _tensors()["a.bias"])


def test_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "t.safetensors"
    for _ in range(3):
        write_safetensors_atomic(path, _tensors(), {})
    assert [p.name for p in tmp_path.iterdir()] == ["t.safetensors"]


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t.safetensors"
    write_safetensors_atomic(path, _tensors(), {"v": "old"})
    before = path.read_bytes()
    with pytest.raises(TypeError):
        write_safetensors_atomic(path, {"a": "not a tensor"}, {})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        write_safetensors_atomic(path, _tensors(), {"v": 1})  # type: ignore[dict-item]

    def half_write(tensors: object, filename: str, metadata: object = None) -> None:
        Path(filename).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(safefile, "_save_file", half_write)
    with pytest.raises(OSError, match="disk full"):
        write_safetensors_atomic(path, _tensors(), {"v": "new"})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.safetensors"]


def test_header_only_read(tmp_path: Path) -> None:
    path = tmp_path / "t.safetensors"
    write_safetensors_atomic(path, _tensors(), {"k": "v"})
    header = open_safetensors(path, max_bytes=LIMIT)
    infos, metadata = header.infos, header.metadata
    assert metadata == {"k": "v"}
    assert {n: (i.dtype, i.shape) for n, i in infos.items()} == {
        "a.weight": ("F32", (4, 3)),
        "a.bias": ("F32", (4,)),
    }


def test_missing_file(tmp_path: Path) -> None:
    _refused(tmp_path / "nope.atrapnet", "no such file")


def test_directory(tmp_path: Path) -> None:
    _refused(tmp_path, "not a regular file")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "e.atrapnet"
    path.write_bytes(b"")
    _refused(path, "empty")


def test_over_max_bytes(tmp_path: Path) -> None:
    path = tmp_path / "t.safetensors"
    write_safetensors_atomic(path, _tensors(), {})
    _refused(path, "over the limit of 100 bytes", max_bytes=100)


@pytest.mark.parametrize("keep", [3, 20, -1])
def test_truncated_file(tmp_path: Path, keep: int) -> None:
    path = tmp_path / "t.safetensors"
    write_safetensors_atomic(path, _tensors(), {})
    path.write_bytes(path.read_bytes()[:keep])
    message = _refused(path)
    assert any(w in message for w in ("truncated", "past the end"))


def test_header_length_past_the_end(tmp_path: Path) -> None:
    path = tmp_path / "t.safetensors"
    path.write_bytes(struct.pack("<Q", 1000) + b"{}")
    _refused(path, "header length 1000 reaches past the end of the file (10 bytes)")


def test_header_length_over_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "t.safetensors"
    path.write_bytes(struct.pack("<Q", MAX_HEADER_BYTES + 8) + b"{}")
    _refused(path, "over the limit")


@pytest.mark.parametrize("header", [b"not json", b"\xff\xfe{}", b"{", b'{"a": 1, "a": 2}'])
def test_header_not_json(tmp_path: Path, header: bytes) -> None:
    _refused(_raw(tmp_path / "t.safetensors", header), "not valid JSON")


def test_header_not_an_object(tmp_path: Path) -> None:
    _refused(_raw(tmp_path / "t.safetensors", [1, 2]), "not a JSON object")


def test_metadata_not_strings(tmp_path: Path) -> None:
    _refused(_raw(tmp_path / "t.safetensors", {"__metadata__": {"a": 1}}), "__metadata__")


def test_two_gigabyte_tensor_in_a_tiny_file(tmp_path: Path) -> None:
    claim = {"w": {"dtype": "F32", "shape": [536_870_912], "data_offsets": [0, 2**31]}}
    path = _raw(tmp_path / "t.safetensors", claim, b"\0" * 16)
    _refused(path, "'w'", "falls outside the file's 16 bytes of data")


def test_shape_disagrees_with_data_range(tmp_path: Path) -> None:
    claim = {"w": {"dtype": "F32", "shape": [536_870_912], "data_offsets": [0, 16]}}
    path = _raw(tmp_path / "t.safetensors", claim, b"\0" * 16)
    _refused(path, "'w'", "needs 2147483648 bytes but its data range holds 16 bytes")


def test_overlapping_tensors(tmp_path: Path) -> None:
    claim = {
        "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
    }
    _refused(_raw(tmp_path / "t.safetensors", claim, b"\0" * 12), "overlap or leave gaps")


@pytest.mark.parametrize(
    "entry",
    [
        {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]},
        {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]},
        {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]},
        {"dtype": "F32", "shape": [1]},
        {"dtype": "Q4", "shape": [1], "data_offsets": [0, 4]},
        "F32",
    ],
)
def test_malformed_tensor_entries(tmp_path: Path, entry: object) -> None:
    _refused(_raw(tmp_path / "t.safetensors", {"w": entry}, b"\0" * 4), "'w'")


def test_disallowed_dtype(tmp_path: Path) -> None:
    path = tmp_path / "t.safetensors"
    write_safetensors_atomic(path, {"w": torch.zeros(3, dtype=torch.float64)}, {})
    _refused(path, "'w'", "dtype F64", "F32")
    loaded, _ = read_safetensors_checked(path, max_bytes=LIMIT, allowed_dtypes=(torch.float64,))
    assert loaded["w"].dtype == torch.float64


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_values(tmp_path: Path, value: float) -> None:
    path = tmp_path / "t.safetensors"
    write_safetensors_atomic(path, {"ok": torch.zeros(2), "bad": torch.tensor([1.0, value])}, {})
    _refused(path, "'bad'", "non-finite")
    loaded, _ = read_safetensors_checked(path, max_bytes=LIMIT, require_finite=False)
    assert not torch.isfinite(loaded["bad"]).all()


def test_finiteness_only_applies_to_floats(tmp_path: Path) -> None:
    path = tmp_path / "t.safetensors"
    write_safetensors_atomic(path, {"n": torch.tensor([-1, 2**40])}, {})
    loaded, _ = read_safetensors_checked(path, max_bytes=LIMIT, allowed_dtypes=(torch.int64,))
    assert loaded["n"].tolist() == [-1, 2**40]


@pytest.mark.parametrize("protocol", [0, 1, 2, 4, 5])
def test_pickle_file_is_refused_as_pickle(tmp_path: Path, protocol: int) -> None:
    path = tmp_path / "evil.atrapnet"
    path.write_bytes(pickle.dumps({"weights": [1.0, 2.0] * 10}, protocol=protocol))
    _refused(path, "pickle/torch.save", "never unpickles")


@pytest.mark.parametrize("legacy", [False, True])
def test_torch_save_file_is_refused_as_pickle(tmp_path: Path, legacy: bool) -> None:
    buffer = io.BytesIO()
    torch.save(_tensors(), buffer, _use_new_zipfile_serialization=not legacy)
    path = tmp_path / "model.atrapnet"
    path.write_bytes(buffer.getvalue())
    _refused(path, "pickle/torch.save", "never unpickles")
    with pytest.raises(NetworkFileError, match="never unpickles"):
        open_safetensors(path, max_bytes=LIMIT)


def test_trailing_bytes_after_the_tensors(tmp_path: Path) -> None:
    claim = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
    _refused(_raw(tmp_path / "t.safetensors", claim, b"\0" * 12), "cover 8 bytes", "holds 12")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("size", [1, 7, 16, 33, 4097])
def test_all_finite_finds_any_bad_value(dtype: torch.dtype, size: int) -> None:
    assert all_finite(torch.zeros(0, 3, dtype=dtype))
    values = torch.randn(size, generator=torch.Generator().manual_seed(size)).to(dtype)
    assert all_finite(values)
    for position in {0, size // 2, size - 1}:
        for bad in (float("nan"), float("inf"), float("-inf")):
            damaged = values.clone()
            damaged[position] = bad
            assert not all_finite(damaged)
