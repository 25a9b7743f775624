"""A network as plain, readable JSON: the manifest and every weight as nested lists.

For people and programs that cannot read safetensors (a web page, another language). Reading
JSON back is as careful as reading an ``.atrapnet``: size and parameter limits first, then the
manifest, then every tensor's name, shape and finiteness, before a module is built. Like the
``.atrapnet``, the file carries digests of the manifest and of each parameter's float32 bytes,
so that a changed digit is refused by name rather than imported as a different network: SHA-256,
not the ``.atrapnet``'s BLAKE3, since the programs this file is for all have SHA-256 at hand
(a browser's ``crypto.subtle`` among them), and JSON is parsed far slower than either hashes.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Final

import torch

from atrap_studio.core.errors import NetworkFileError
from atrap_studio.core.yaml_io import write_text_atomic
from atrap_studio.runtime.digests import tensor_digest, warn_undigested
from atrap_studio.runtime.netfile import MAX_PARAMETERS, LoadedNetwork, manifest_from_dict
from atrap_studio.runtime.networks import build_module

FORMAT: Final = "atrapnet-json"
VERSION: Final = 1
#: JSON spends ~12 bytes a weight: the largest network file's worth, and a little more.
MAX_JSON_BYTES: Final = 1024 * 1024 * 1024
JSON_ALGORITHM: Final = "sha256"


def network_to_json(network: LoadedNetwork) -> dict[str, Any]:
    """The network as JSON-ready data: format, manifest, and each parameter's shape and values."""
    state = network.module.state_dict()
    manifest = network.manifest.model_dump(mode="json")
    return {
        "format": FORMAT,
        "version": VERSION,
        "manifest": manifest,
        "parameters": {
            name: {"shape": list(tensor.shape), "values": tensor.tolist()}
            for name, tensor in state.items()
        },
        "digests": {
            "algorithm": JSON_ALGORITHM,
            "manifest": _manifest_digest(manifest),
            "parameters": {name: _digest(tensor) for name, tensor in state.items()},
        },
    }


def save_network_json(path: str | os.PathLike[str], network: LoadedNetwork) -> None:
    """Write the JSON form atomically (float32 values written as the shortest exact decimals)."""
    write_text_atomic(json.dumps(network_to_json(network), separators=(",", ":")), path)


def load_network_json(path: str | os.PathLike[str]) -> LoadedNetwork:
    """Read, check and rebuild a network from its JSON form.

    Raises:
        NetworkFileError: for every way the file can be wrong, naming the file and the place.
    """
    where = os.fspath(path)
    try:
        size = Path(where).stat().st_size
        if size > MAX_JSON_BYTES:
            raise NetworkFileError(f"{where}: {size / 1e6:.0f} MB is over the JSON size limit")
        with open(where, encoding="utf-8") as handle:
            data = json.load(handle, parse_constant=_refuse_constant)
        return network_from_json(data, where)
    except NetworkFileError:
        raise
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise NetworkFileError(f"{where}: could not be read as JSON: {exc}") from None


def network_from_json(data: Any, where: str = "<json>") -> LoadedNetwork:
    """Check JSON data against its own manifest and rebuild the network it describes."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise NetworkFileError(f"{where}: not an ATRAP network in JSON (format {found!r})")
    if data.get("version") != VERSION:
        raise NetworkFileError(
            f"{where}: JSON network version {data.get('version')!r}; this ATRAP Studio reads "
            f"version {VERSION}"
        )
    raw_manifest = data.get("manifest")
    if not isinstance(raw_manifest, dict):
        raise NetworkFileError(f"{where}: the manifest is missing or not an object")
    manifest = manifest_from_dict(raw_manifest, where)
    count = manifest.architecture.parameter_count()
    if count > MAX_PARAMETERS:
        raise NetworkFileError(
            f"{where}: the manifest claims {count:,} parameters, over the limit of "
            f"{MAX_PARAMETERS:,}"
        )
    parameters = data.get("parameters")
    expected = manifest.architecture.parameter_shapes()
    if not isinstance(parameters, dict) or set(parameters) != set(expected):
        names = sorted(parameters) if isinstance(parameters, dict) else parameters
        raise NetworkFileError(
            f"{where}: parameters {names!r} do not match the architecture's {sorted(expected)}"
        )
    tensors = {}
    for name, shape in expected.items():
        entry = parameters[name]
        if not isinstance(entry, dict) or tuple(entry.get("shape", ())) != tuple(shape):
            raise NetworkFileError(f"{where}: parameter {name!r} should have shape {list(shape)}")
        tensors[name] = _tensor(entry.get("values"), shape, f"{where}: parameter {name!r}")
    _check_digests(where, data.get("digests"), raw_manifest, tensors)
    module = build_module(manifest.architecture, init="default", generator=torch.Generator())
    module.load_state_dict(tensors, strict=True)
    return LoadedNetwork(module=module, manifest=manifest)


def _digest(tensor: torch.Tensor) -> str:
    flat = tensor.detach().to(dtype=torch.float32, device="cpu").contiguous().reshape(-1)
    data = flat.view(torch.uint8).numpy().data
    return tensor_digest("F32", tuple(tensor.shape), data, JSON_ALGORITHM)


def _manifest_digest(manifest: dict[str, Any]) -> str:
    text = json.dumps(manifest, sort_keys=True).encode("utf-8")
    return tensor_digest("JSON", (), text, JSON_ALGORITHM)


def _check_digests(
    where: str, digests: Any, manifest: dict[str, Any], tensors: dict[str, torch.Tensor]
) -> None:
    """Refuse a manifest or parameter whose digest differs; warn for a file without digests."""
    if digests is None:
        warn_undigested(where)
        return
    if (
        not isinstance(digests, dict)
        or digests.get("algorithm") != JSON_ALGORITHM
        or not isinstance(digests.get("parameters"), dict)
        or set(digests["parameters"]) != set(tensors)
    ):
        raise NetworkFileError(f"{where}: its 'digests' entry is damaged or of an unknown kind")
    if digests.get("manifest") != _manifest_digest(manifest):
        raise NetworkFileError(
            f"{where}: its manifest does not match its digest: the file was changed after it "
            "was exported"
        )
    for name, tensor in tensors.items():
        if digests["parameters"][name] != _digest(tensor):
            raise NetworkFileError(
                f"{where}: parameter {name!r} does not match its digest: its values were "
                "changed after the file was exported"
            )


def _tensor(values: Any, shape: tuple[int, ...], where: str) -> torch.Tensor:
    flat: list[float] = []
    _flatten(values, shape, flat, where)
    tensor = torch.tensor(flat, dtype=torch.float32).reshape(shape)
    if not bool(torch.isfinite(tensor).all()):
        raise NetworkFileError(f"{where} holds a value too large for float32")
    return tensor


def _flatten(values: Any, shape: tuple[int, ...], out: list[float], where: str) -> None:
    """Append nested lists of numbers of exactly ``shape`` to ``out`` (no bools, no text)."""
    if not shape:
        if isinstance(values, bool) or not isinstance(values, int | float):
            raise NetworkFileError(f"{where}: {values!r} is not a number")
        if not math.isfinite(values):
            raise NetworkFileError(f"{where}: holds NaN or an infinite value")
        out.append(float(values))
        return
    if not isinstance(values, list) or len(values) != shape[0]:
        raise NetworkFileError(f"{where}: expected a list of {shape[0]} at this depth")
    for item in values:
        _flatten(item, shape[1:], out, where)


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number a network may hold")
