"""Content digests: every flipped bit in a file's tensor data or metadata is refused by name,
and files from before digests load with a warning and gain one when saved again."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import AtrapWarning, NetworkFileError
from atrap_studio.core.registry import Registry
from atrap_studio.runtime.checkpoint import load_checkpoint, save_checkpoint
from atrap_studio.runtime.digests import DIGEST_KEY, DigestRecord, metadata_digest, tensor_digest
from atrap_studio.runtime.netfile import NetManifest, PortMeaning, load_network, save_network
from atrap_studio.runtime.netjson import load_network_json, save_network_json
from atrap_studio.runtime.networks import build_module, mlp
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.safefile import read_safetensors_checked, write_safetensors_atomic
from tests.conftest import shrink

LIMIT = 1 << 24


def _network(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    manifest = NetManifest(
        architecture=mlp(9, [32, 32], 6),
        inputs=[PortMeaning(node="x", type="sensor.joint_angles", size=9)],
        outputs=[PortMeaning(node="y", type="action.joint_targets", size=6)],
    )
    module = build_module(manifest.architecture, generator=torch.Generator().manual_seed(1))
    path = tmp_path / "brain.atrapnet"
    save_network(path, module, manifest)
    return path, module


def _data_start(blob: bytes) -> int:
    (length,) = struct.unpack("<Q", blob[:8])
    return 8 + int(length)


def _without_digest(path: Path) -> None:
    """Rewrite a file as an ATRAP Studio from before digests wrote it (same tensors, same
    metadata, no digest record)."""
    tensors, metadata = read_safetensors_checked(
        path,
        max_bytes=LIMIT,
        allowed_dtypes=(torch.float32, torch.float64, torch.int64, torch.uint8),
    )
    save_file(tensors, str(path), metadata=metadata)
    assert DIGEST_KEY not in _header_metadata(path)


def _header_metadata(path: Path) -> dict[str, str]:
    blob = path.read_bytes()
    metadata: dict[str, str] = json.loads(blob[8 : _data_start(blob)])["__metadata__"]
    return metadata


def test_the_digest_is_written_and_hidden_from_readers(tmp_path: Path) -> None:
    path = tmp_path / "t.safetensors"
    write_safetensors_atomic(path, {"w": torch.ones(3)}, {"format": "x"})
    record = json.loads(_header_metadata(path)[DIGEST_KEY])
    assert record["algorithm"] == "blake3" and set(record["tensors"]) == {"w"}
    _, metadata = read_safetensors_checked(path, max_bytes=LIMIT)
    assert metadata == {"format": "x"}


def test_the_digest_key_is_reserved(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reserved"):
        write_safetensors_atomic(tmp_path / "t", {"w": torch.ones(1)}, {DIGEST_KEY: "{}"})
    assert list(tmp_path.iterdir()) == []


def test_every_single_bit_flip_in_the_weights_is_refused(tmp_path: Path) -> None:
    path, _ = _network(tmp_path)
    blob = path.read_bytes()
    start = _data_start(blob)
    damaged = tmp_path / "damaged.atrapnet"
    offsets = range(start, len(blob), max(1, (len(blob) - start) // 97))  # ~100 spread offsets
    tried = 0
    for offset in [*offsets, len(blob) - 1]:
        for bit in range(8):
            flipped = bytearray(blob)
            flipped[offset] ^= 1 << bit
            damaged.write_bytes(flipped)
            with pytest.raises(NetworkFileError) as info:
                load_network(damaged)
            message = str(info.value)
            assert message.startswith(f"{damaged}: tensor '") and "does not match its digest" in (
                message
            )
            tried += 1
    assert tried >= 800


def test_the_first_damaged_tensor_in_file_order_is_named(tmp_path: Path) -> None:
    tensors = {f"t{i}": torch.full((16_384,), float(i)) for i in range(8)}  # 8 x 64 KiB
    path = tmp_path / "big.safetensors"
    write_safetensors_atomic(path, tensors, {})
    blob = path.read_bytes()
    start = _data_start(blob)
    header = json.loads(blob[8:start])
    middle = {name: start + sum(header[name]["data_offsets"]) // 2 for name in tensors}
    damaged = tmp_path / "damaged.safetensors"
    for together in [[name] for name in tensors] + [["t6", "t2"], ["t7", "t0"]]:
        flipped = bytearray(blob)
        for name in together:
            flipped[middle[name]] ^= 0x04
        damaged.write_bytes(flipped)
        with pytest.raises(NetworkFileError) as info:
            read_safetensors_checked(damaged, max_bytes=LIMIT)
        first = min(together, key=lambda name: middle[name])
        assert f"tensor {first!r} does not match its digest" in str(info.value)
    loaded, _ = read_safetensors_checked(path, max_bytes=LIMIT)
    assert all(torch.equal(loaded[name], tensor) for name, tensor in tensors.items())


def _with_sha256_digests(path: Path) -> None:
    """Rewrite a network file as ATRAP Studio wrote it before BLAKE3: a SHA-256 record."""
    tensors, metadata = read_safetensors_checked(path, max_bytes=LIMIT)
    stored = {name: tensor.contiguous() for name, tensor in tensors.items()}
    record = DigestRecord(
        tensors={
            name: tensor_digest("F32", tuple(t.shape), t.numpy().data.cast("B"), "sha256")
            for name, t in stored.items()
        },
        metadata=metadata_digest(metadata, "sha256"),
        algorithm="sha256",
    )
    save_file(stored, str(path), metadata={**metadata, DIGEST_KEY: record.to_json()})


def test_files_with_sha256_digests_are_still_checked(tmp_path: Path) -> None:
    """Files written before BLAKE3 keep their SHA-256 record: they load without a warning, a
    flip in them is still refused by name, and saving again writes BLAKE3."""
    path, module = _network(tmp_path)
    _with_sha256_digests(path)
    assert json.loads(_header_metadata(path)[DIGEST_KEY])["algorithm"] == "sha256"
    loaded = load_network(path)  # no warning: the suite turns our warnings into errors
    assert all(
        torch.equal(a, b)
        for a, b in zip(
            loaded.module.state_dict().values(), module.state_dict().values(), strict=True
        )
    )
    blob = path.read_bytes()
    flipped = bytearray(blob)
    flipped[len(blob) - 5] ^= 0x01
    damaged = tmp_path / "damaged.atrapnet"
    damaged.write_bytes(flipped)
    with pytest.raises(NetworkFileError, match="does not match its digest"):
        load_network(damaged)
    save_network(path, loaded.module, loaded.manifest)
    assert json.loads(_header_metadata(path)[DIGEST_KEY])["algorithm"] == "blake3"


def test_a_flip_in_the_manifest_or_the_graph_text_is_refused(tmp_path: Path) -> None:
    path, _ = _network(tmp_path)
    blob = path.read_bytes()
    for marker in (b"sensor.joint_angles", b"action.joint_targets"):
        flipped = bytearray(blob)
        flipped[blob.index(marker) + 2] ^= 0x01  # still valid JSON, still a string
        path.write_bytes(flipped)
        with pytest.raises(NetworkFileError, match="does not match its digest"):
            load_network(path)


def test_a_flip_in_a_tensor_name_is_refused(tmp_path: Path) -> None:
    path, _ = _network(tmp_path)
    blob = path.read_bytes()
    flipped = bytearray(blob)
    flipped[blob.index(b'"2.weight"') + 1] ^= 0x08  # "2.weight" -> ":.weight"
    path.write_bytes(flipped)
    with pytest.raises(NetworkFileError, match="not those its digests cover"):
        load_network(path)


def test_every_flip_in_the_digest_records_own_name_is_refused(tmp_path: Path) -> None:
    """A flipped name would hide the record, and the file would load as one from before
    digests (unchecked, with a warning); the record is recognised under any name."""
    path, _ = _network(tmp_path)
    blob = path.read_bytes()
    start = blob.index(f'"{DIGEST_KEY}"'.encode()) + 1
    for offset in range(start, start + len(DIGEST_KEY)):
        for bit in range(8):
            flipped = bytearray(blob)
            flipped[offset] ^= 1 << bit
            path.write_bytes(flipped)
            with pytest.raises(NetworkFileError):
                load_network(path)


def test_a_file_without_digests_loads_with_a_warning_and_gains_one(tmp_path: Path) -> None:
    path, module = _network(tmp_path)
    _without_digest(path)
    with pytest.warns(AtrapWarning, match="has no content digest"):
        loaded = load_network(path)
    x = torch.randn(8, 9, generator=torch.Generator().manual_seed(0))
    assert torch.equal(loaded.module(x), module(x))
    save_network(path, loaded.module, loaded.manifest)
    assert DIGEST_KEY in _header_metadata(path)
    load_network(path)  # no warning: the suite turns our warnings into errors


def test_a_damaged_checkpoint_is_refused_as_damaged(
    tmp_path: Path, arm_doc: GraphDocument, registry: Registry
) -> None:
    pipeline = Pipeline(shrink(arm_doc), registry, seed=0)
    path = tmp_path / "ckpt.atrapckpt"
    save_checkpoint(path, pipeline, step=1, env_steps=1, elapsed_s=0.0)
    assert load_checkpoint(path).step == 1
    blob = path.read_bytes()
    start = _data_start(blob)
    for offset in range(start, len(blob), max(1, (len(blob) - start) // 40)):
        flipped = bytearray(blob)
        flipped[offset] ^= 0x10
        path.write_bytes(flipped)
        with pytest.raises(NetworkFileError, match=r"tensor '(network|trainer|scene)/.*digest"):
            load_checkpoint(path)
    flipped = bytearray(blob)
    flipped[blob.index(b"joint_angles") + 1] ^= 0x01  # the graph text in the run record
    path.write_bytes(flipped)
    with pytest.raises(NetworkFileError, match=r"metadata .* does not match its digest"):
        load_checkpoint(path)


def test_a_changed_value_in_a_json_export_is_refused_by_name(tmp_path: Path) -> None:
    path, _ = _network(tmp_path)
    exported = tmp_path / "brain.json"
    save_network_json(exported, load_network(path))
    data = json.loads(exported.read_text())
    data["parameters"]["2.bias"]["values"][3] += 0.5
    exported.write_text(json.dumps(data))
    with pytest.raises(NetworkFileError, match=r"parameter '2\.bias' does not match its digest"):
        load_network_json(exported)
    del data["digests"]  # as exported before digests: read with a warning
    exported.write_text(json.dumps(data))
    with pytest.warns(AtrapWarning, match="has no content digest"):
        load_network_json(exported)
