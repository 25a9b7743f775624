"""Writing a network in the format a file name asks for: one place for the CLI and the editor."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from atrap_studio.core.errors import AtrapError
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import write_bytes_atomic
from atrap_studio.runtime.netfile import SUFFIX, LoadedNetwork, NetManifest

#: What each suffix writes, as the user would call it.
FORMATS: dict[str, str] = {
    ".json": "readable JSON",
    ".html": "a web page that runs the policy",
    ".onnx": "ONNX, for other runtimes",
    SUFFIX: "an ATRAP network file",
}


def export_network(
    source: Path,
    network: LoadedNetwork,
    target: Path,
    registry: Registry,
    suffix: str | None = None,
) -> str:
    """Write ``network`` (read from ``source``) to ``target`` in the format ``suffix`` names
    (one of FORMATS; by default the target's own suffix).

    Returns what was written, in words.

    Raises:
        AtrapError: an unknown suffix, or a network the format cannot hold (a web page shows
            robot arms and tank arenas only); nothing is written then.
    """
    suffix = (suffix or target.suffix).lower()
    if suffix == ".json":
        from atrap_studio.runtime.netjson import save_network_json

        save_network_json(target, network)
    elif suffix == ".onnx":
        from atrap_studio.runtime.onnx_export import save_network_onnx

        save_network_onnx(target, network)
    elif suffix == ".html":
        write_web_page(source, network, target, registry)
    elif suffix == SUFFIX:
        if source.resolve() != target.resolve():  # whole or not at all, as every file we write
            write_bytes_atomic(source.read_bytes(), target)
    else:
        known = ", ".join(FORMATS)
        raise AtrapError(f"{target.name}: unknown format {suffix or '(none)'}; use {known}")
    return FORMATS[suffix]


#: Snapshot kinds a web page can draw (its scene is re-implemented in JavaScript). The arm's
#: page is the runtime's own; a scene plug-in's page lives in its folder and is imported, as
#: node implementations are, only when one is written.
WEB_PAGES: dict[str, str] = {
    "arm": "atrap_studio.runtime.webpage:write_arm_page",
    "tank_arena": "atrap_studio.nodes.scenes.tanks.webpage:write_tank_page",
}


def write_web_page(source: Path, network: LoadedNetwork, target: Path, registry: Registry) -> None:
    """Write the web page of the scene ``network`` was trained in (its provenance names it).

    Raises:
        AtrapError: no scene, one without a page, or a network or scene the page cannot run;
            nothing is written then.
    """
    scene, kind, props = _scene_of(source, network.manifest, registry)
    if kind not in WEB_PAGES:
        raise AtrapError(
            f"{source}: the web page draws scenes of kind {', '.join(WEB_PAGES)}, and this "
            f"network was trained in {scene} (kind '{kind}'); export it as JSON or ONNX instead"
        )
    module_name, _, name = WEB_PAGES[kind].partition(":")
    writer = getattr(importlib.import_module(module_name), name)
    try:
        writer(target, network, props)
    except (ValueError, TypeError) as exc:  # sizes, sensors or values the page cannot use
        raise AtrapError(f"{source}: cannot be shown on a web page: {exc}") from None


def _scene_of(
    source: Path, manifest: NetManifest, registry: Registry
) -> tuple[str, str, dict[str, Any]]:
    """The scene a network was trained in: its type, snapshot kind and checked properties."""
    scene = manifest.provenance.scene
    spec = registry.get(scene.type) if scene is not None else None
    if scene is None or spec is None:
        found = "no scene" if scene is None else f"the unknown scene {scene.type!r}"
        raise AtrapError(
            f"{source}: the web page draws robot arms and tank arenas, and this file names "
            f"{found}; export it as JSON or ONNX instead"
        )
    props = spec.resolved_props(scene.props)
    for prop in spec.props:
        problem = prop.check(props[prop.name])
        if problem:
            raise AtrapError(f"{source}: the scene's property {prop.name!r}: {problem[1]}")
    try:
        kind = spec.outcome(props).snapshot if spec.outcome is not None else "none"
    except ValueError as exc:
        raise AtrapError(f"{source}: its scene {scene.type} cannot be set up: {exc}") from None
    return scene.type, kind, props
