"""The `.atrapnet` network file: safetensors weights plus a JSON manifest that says what they mean.

The manifest carries the architecture as data and the meaning of every input and output, so
a network received from someone else is rebuilt through the NN Factory's allow-list and wired
to the right sensors and actions; nothing in the file is ever executed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from atrap_studio.core.errors import AtrapError, NetworkFileError
from atrap_studio.runtime.networks import Architecture, build_module
from atrap_studio.runtime.provenance import Provenance, SceneVariant, Text
from atrap_studio.runtime.safefile import (
    MAX_HEADER_BYTES,
    all_finite,
    open_safetensors,
    write_safetensors_atomic,
)

FORMAT = "atrapnet"
VERSION: Final = 2  # 2: typed provenance and the graph the network was trained with
SUFFIX = ".atrapnet"
MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_PARAMETERS = 50_000_000

MAX_GRAPH_CHARS = 2 * 1024 * 1024
_MAX_MANIFEST_BYTES = MAX_HEADER_BYTES // 2  # leaves room for the tensor entries in the header


class PortMeaning(BaseModel):
    """What one slice of the input or output vector means: the graph node that fills or reads it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    node: Text = Field(min_length=1)
    type: Text = Field(min_length=1)
    size: Annotated[int, Field(strict=True, ge=1)]
    props: dict[str, Any] = {}


class NetManifest(BaseModel):
    """Everything about a network except its weights; stored as JSON in the file's metadata."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["atrapnet"] = "atrapnet"
    version: Literal[2] = VERSION
    architecture: Architecture
    inputs: list[PortMeaning]
    outputs: list[PortMeaning]
    training: dict[str, Any] = {}
    provenance: Provenance = Provenance()
    #: The graph file (YAML text) the network was trained with, so a receiver can rebuild its
    #: scene; parsed only through the strict graph loader, never executed.
    graph: str = Field(default="", max_length=MAX_GRAPH_CHARS)

    @model_validator(mode="after")
    def _ports_cover_architecture(self) -> NetManifest:
        for side, ports, width in (
            ("inputs", self.inputs, self.architecture.inputs),
            ("outputs", self.outputs, self.architecture.outputs),
        ):
            total = sum(port.size for port in ports)
            if total != width:
                terms = " + ".join(f"{p.node} {p.size}" for p in ports) or "nothing"
                raise ValueError(
                    f"the {side} sizes sum to {total} ({terms}) but the architecture has "
                    f"{width} {side}"
                )
        return self


@dataclass(frozen=True)
class LoadedNetwork:
    """A network read from a file: the rebuilt module and the manifest that describes it."""

    module: torch.nn.Sequential
    manifest: NetManifest


def save_network(
    path: str | os.PathLike[str], module: torch.nn.Module, manifest: NetManifest
) -> None:
    """Write a network file atomically.

    Raises:
        ValueError: the module does not match the manifest's architecture, holds non-float32
            or non-finite weights, or the manifest is too large: a file that could not be
            loaded again is never written.
    """
    if manifest.version != VERSION:
        raise ValueError(
            f"this ATRAP Studio writes format version {VERSION}, not {manifest.version}"
        )
    state = module.state_dict()
    problems = _shape_problems(
        manifest.architecture.parameter_shapes(),
        {name: tuple(tensor.shape) for name, tensor in state.items()},
    )
    if problems:
        raise ValueError("the module does not match the manifest's architecture: " + problems)
    for name, tensor in state.items():
        if tensor.dtype != torch.float32:
            raise ValueError(f"parameter {name!r} is {tensor.dtype}; network files hold float32")
        if not all_finite(tensor):
            raise ValueError(f"parameter {name!r} holds NaN or infinite values")
    manifest_json = manifest.model_dump_json()
    if len(manifest_json.encode("utf-8")) > _MAX_MANIFEST_BYTES:
        raise ValueError(f"the manifest is over {_MAX_MANIFEST_BYTES} bytes as JSON")
    metadata = {"format": FORMAT, "version": str(VERSION), "manifest": manifest_json}
    write_safetensors_atomic(path, state, metadata)


def load_network(path: str | os.PathLike[str]) -> LoadedNetwork:
    """Read, check and rebuild a network file.

    Every check that depends only on the header (format, version, manifest, parameter count,
    names and shapes) runs before the weights are read or any module is built, so a file that
    claims a giant network costs nothing; the module is built while the weights' digests are
    checked, and receives them only once they matched.

    Raises:
        NetworkFileError: for every way the file can be wrong; nothing else escapes.
    """
    where = os.fspath(path)
    try:
        return _load(where)
    except NetworkFileError:
        raise
    except Exception as exc:  # a bad file must never surface as a traceback
        raise NetworkFileError(
            f"{where}: could not be read as a network: {type(exc).__name__}: {exc}"
        ) from exc


def describe(manifest: NetManifest) -> str:
    """A few human lines: the architecture, what goes in and out, how it was trained."""
    arch = manifest.architecture
    path = str(arch.inputs)
    for layer in arch.layers:
        path += f" → {layer.out_features}" if layer.kind == "linear" else f" {layer.kind}"
    lines = [f"network: {path} ({arch.parameter_count():,} parameters)"]
    for side, ports in (("inputs", manifest.inputs), ("outputs", manifest.outputs)):
        parts = ", ".join(f"{p.node} ({p.type}, {p.size})" for p in ports)
        lines.append(f"{side}: {parts}")
    if manifest.training:
        lines.append("training: " + _summary(manifest.training))
    lines.extend(_provenance_lines(manifest.provenance))
    return "\n".join(lines)


def _provenance_lines(made: Provenance) -> list[str]:
    lines = []
    who = f" by {made.trained_by}" if made.trained_by else ""
    when = f" on {made.created}" if made.created else ""
    lines.append(f"made: {made.origin}{who}{when} (ATRAP Studio {made.atrap_version or '?'})")
    if made.scene is not None:
        variant = f", {made.variant}" if made.variant else ""
        lines.append(f"scene: {made.scene.type}{variant} (graph {made.graph_name!r})")
    for parent in made.parents:
        by = f" by {parent.trained_by}" if parent.trained_by else ""
        lines.append(f"parent: {parent.name or '?'} ({parent.sha256[:12]}){by}")
    return lines


def _summary(values: dict[str, Any], limit: int = 8) -> str:
    parts = []
    for key, value in list(values.items())[:limit]:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        text = text if len(text) <= 60 else text[:57] + "..."
        parts.append(f"{key} {text}")
    if len(values) > limit:
        parts.append(f"... ({len(values) - limit} more)")
    return ", ".join(parts)


def _load(where: str) -> LoadedNetwork:
    header = open_safetensors(where, max_bytes=MAX_FILE_BYTES, allowed_dtypes=(torch.float32,))
    manifest = _manifest_from_metadata(where, header.metadata)
    arch = manifest.architecture
    count = arch.parameter_count()
    if count > MAX_PARAMETERS:
        raise NetworkFileError(
            f"{where}: the manifest claims {count:,} parameters, over the limit of "
            f"{MAX_PARAMETERS:,}"
        )
    expected = arch.parameter_shapes()
    problems = _shape_problems(expected, {name: i.shape for name, i in header.infos.items()})
    if problems:
        raise NetworkFileError(f"{where}: the weights do not match the manifest: {problems}")
    tensors = header.read_tensors()
    # Its values are overwritten by load_state_dict; a fixed cheap init keeps loading repeatable.
    module = build_module(arch, init="default", generator=torch.Generator().manual_seed(0))
    module.load_state_dict(tensors, strict=True)
    return LoadedNetwork(module=module, manifest=manifest)


def _manifest_from_metadata(where: str, metadata: dict[str, str]) -> NetManifest:
    file_format = metadata.get("format")
    if file_format is None:
        raise NetworkFileError(
            f"{where}: not an ATRAP network file: its metadata names no format "
            "(a safetensors file from another program?)"
        )
    if file_format != FORMAT:
        raise NetworkFileError(
            f"{where}: not an ATRAP network file: its format is {file_format!r}, "
            f"expected {FORMAT!r}"
        )
    version = _version(where, metadata.get("version"))
    raw = metadata.get("manifest")
    if raw is None:
        raise NetworkFileError(f"{where}: the file has no manifest in its metadata")
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise NetworkFileError(
            f"{where}: the manifest is not valid JSON ({exc.msg} at line {exc.lineno} "
            f"column {exc.colno})"
        ) from exc
    except RecursionError as exc:
        raise NetworkFileError(f"{where}: the manifest is nested too deeply") from exc
    if not isinstance(document, dict):
        raise NetworkFileError(f"{where}: the manifest is not a JSON object")
    if document.get("version", version) != version or document.get("format", FORMAT) != FORMAT:
        raise NetworkFileError(
            f"{where}: the manifest's format/version ({document.get('format')!r}, "
            f"{document.get('version')!r}) disagree with the file's ({FORMAT!r}, {version})"
        )
    return manifest_from_dict(document, where, version)


def manifest_from_dict(document: dict[str, Any], where: str, version: int = 1) -> NetManifest:
    """Validate a manifest, migrating older versions (dict to dict) first; ``version`` is
    the container's, for a manifest that does not say its own.

    Raises:
        NetworkFileError: naming the file and the first problems.
    """
    version = document.get("version", version)
    if version == 1:
        document = _migrate_v1(document)
    elif version != VERSION:
        raise NetworkFileError(
            f"{where}: unknown manifest version {version!r} (this ATRAP Studio reads 1 to "
            f"{VERSION})"
        )
    try:
        return NetManifest.model_validate(document)
    except ValidationError as exc:
        raise NetworkFileError(f"{where}: the manifest is not valid: {_issues(exc)}") from exc


def _migrate_v1(document: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept provenance as a free mapping with the graph's name and the scene."""
    old = document.get("provenance") or {}
    old = old if isinstance(old, dict) else {}
    try:
        scene: dict[str, Any] | None = SceneVariant.model_validate(old.get("scene")).model_dump()
    except ValidationError:
        scene = None
    provenance = {
        "atrap_version": str(old.get("atrap_version", ""))[:500],
        "graph_name": str(old.get("graph", ""))[:500],
        "scene": scene,
    }
    return {**document, "version": VERSION, "provenance": provenance}


def check_fits(
    where: str, have: NetManifest, inputs: list[PortMeaning], outputs: list[PortMeaning]
) -> None:
    """Refuse a network whose inputs or outputs mean something else than a graph's
    (``inputs`` and ``outputs`` as ``Pipeline.meanings`` gives them).

    Raises:
        AtrapError: naming what the network reads and drives against what the graph gives.
    """

    def signature(meanings: list[PortMeaning]) -> list[tuple[str, int]]:
        return [(m.type, m.size) for m in meanings]

    problems = []
    if signature(have.inputs) != signature(inputs):
        problems.append(f"it reads {signature(have.inputs)}, the graph gives {signature(inputs)}")
    if signature(have.outputs) != signature(outputs):
        problems.append(
            f"it drives {signature(have.outputs)}, the graph expects {signature(outputs)}"
        )
    if problems:
        raise AtrapError(f"{where} does not fit this graph: " + "; ".join(problems))


def _version(where: str, raw: str | None) -> int:
    if raw is None:
        raise NetworkFileError(f"{where}: the file's metadata has no format version")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise NetworkFileError(f"{where}: the format version {raw!r} is not a whole number")
    version = int(raw)
    if version > VERSION:
        raise NetworkFileError(
            f"{where}: made by a newer ATRAP Studio (format version {version}, this one reads "
            f"up to {VERSION}); update ATRAP Studio to open it"
        )
    if version < 1:
        raise NetworkFileError(f"{where}: unknown format version {version}")
    return version


def _issues(exc: ValidationError, limit: int = 5) -> str:
    errors = exc.errors()
    parts = []
    for error in errors[:limit]:
        location = ".".join(["manifest", *(str(part) for part in error["loc"])])
        parts.append(f"{location}: {error['msg']}")
    if len(errors) > limit:
        parts.append(f"and {len(errors) - limit} more")
    return "; ".join(parts)


def _shape_problems(
    expected: dict[str, tuple[int, ...]], actual: dict[str, tuple[int, ...]]
) -> str:
    """Missing, unexpected and mis-shaped tensor names, as one readable line ("" when none)."""
    problems = []
    missing = [name for name in expected if name not in actual]
    unexpected = [name for name in actual if name not in expected]
    if missing:
        problems.append("missing " + ", ".join(missing))
    if unexpected:
        problems.append("unexpected " + ", ".join(sorted(unexpected)[:20]))
    for name, shape in expected.items():
        if name in actual and tuple(actual[name]) != shape:
            problems.append(f"{name} is {list(actual[name])}, expected {list(shape)}")
    return "; ".join(problems)
