"""Single-bit flips in real network files and checkpoints: every flip in the tensor data is
refused naming the tensor, flips in the header are refused or change nothing; the CLI says so
without a traceback, and a file from before digests loads with a printed warning."""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from atrap_studio.cli.main import main
from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import NetworkFileError
from atrap_studio.core.registry import Registry
from atrap_studio.runtime.checkpoint import load_checkpoint
from atrap_studio.runtime.netfile import load_network
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.runtime.runner import Runner
from atrap_studio.runtime.safefile import read_safetensors_checked
from tests.conftest import shrink


@pytest.fixture
def run_folder(tmp_path: Path, arm_doc: GraphDocument, registry: Registry) -> Path:
    out = tmp_path / "run"
    Runner(Pipeline(shrink(arm_doc), registry), out_dir=out).run(10)
    return out


def _flips(blob: bytes, start: int, end: int, every: int) -> list[tuple[int, bytes]]:
    """Every bit of every ``every``-th byte in [start, end), and of the last byte."""
    offsets = sorted({*range(start, end, every), end - 1})
    out = []
    for offset in offsets:
        for bit in range(8):
            flipped = bytearray(blob)
            flipped[offset] ^= 1 << bit
            out.append((offset, bytes(flipped)))
    return out


def test_every_flip_in_a_checkpoints_tensor_data_is_refused(run_folder: Path) -> None:
    path = run_folder / "checkpoints" / "ckpt-00000010.atrapckpt"
    blob = path.read_bytes()
    start = 8 + struct.unpack("<Q", blob[:8])[0]
    damaged = run_folder / "damaged.atrapckpt"
    flips = _flips(blob, start, len(blob), max(1, (len(blob) - start) // 150))
    for _, data in flips:
        damaged.write_bytes(data)
        with pytest.raises(NetworkFileError, match=r"tensor '.*' does not match its digest"):
            load_checkpoint(damaged)
    assert len(flips) >= 1000


def test_flips_in_a_network_header_are_refused_or_change_nothing(run_folder: Path) -> None:
    path = run_folder / "network.atrapnet"
    blob = path.read_bytes()
    end = 8 + struct.unpack("<Q", blob[:8])[0]
    original = load_network(path).module.state_dict()
    damaged = run_folder / "damaged.atrapnet"
    refused = same = 0
    for _, data in _flips(blob, 0, end, 41):
        damaged.write_bytes(data)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a flip in the digest's own key: no digest
                loaded = load_network(damaged).module.state_dict()
        except NetworkFileError:
            refused += 1
            continue
        assert all(torch.equal(loaded[k], v) for k, v in original.items())
        same += 1
    assert refused > 0 and refused + same >= 8 * (end // 41)


def test_the_cli_refuses_a_damaged_file_without_a_traceback(
    run_folder: Path, graph: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    network = run_folder / "network.atrapnet"
    blob = bytearray(network.read_bytes())
    blob[-3] ^= 0x04
    network.write_bytes(blob)
    assert main(["info", str(network)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {network}: tensor '") and "does not match its digest" in err
    checkpoint = run_folder / "checkpoints" / "ckpt-00000010.atrapckpt"
    blob = bytearray(checkpoint.read_bytes())
    blob[len(blob) // 2] ^= 0x80
    checkpoint.write_bytes(blob)
    assert main(["run", str(graph), "--resume", str(checkpoint), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "does not match its digest" in err and "different graph" not in err


def test_a_file_from_before_digests_loads_with_a_printed_warning(
    run_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = run_folder / "network.atrapnet"
    tensors, metadata = read_safetensors_checked(path, max_bytes=1 << 30)
    save_file(tensors, str(path), metadata=metadata)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(["info", str(path)]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"warning: {path}: has no content digest")
