"""Writing a network in the format a file name asks for: one place for the CLI and the editor."""

from __future__ import annotations

from pathlib import Path

from atrap_studio.core.errors import AtrapError
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import write_bytes_atomic
from atrap_studio.ik.chain import ArmGeometry
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
            robot arms only); nothing is written then.
    """
    suffix = (suffix or target.suffix).lower()
    if suffix == ".json":
        from atrap_studio.runtime.netjson import save_network_json

        save_network_json(target, network)
    elif suffix == ".onnx":
        from atrap_studio.runtime.onnx_export import save_network_onnx

        save_network_onnx(target, network)
    elif suffix == ".html":
        from atrap_studio.runtime.webpage import write_policy_page

        geometry = arm_geometry(source, network.manifest, registry)
        try:
            write_policy_page(target, network, geometry)
        except (ValueError, TypeError) as exc:  # sizes or values the page cannot use
            raise AtrapError(f"{source}: cannot be shown on a web page: {exc}") from None
    elif suffix == SUFFIX:
        if source.resolve() != target.resolve():  # whole or not at all, as every file we write
            write_bytes_atomic(source.read_bytes(), target)
    else:
        known = ", ".join(FORMATS)
        raise AtrapError(f"{target.name}: unknown format {suffix or '(none)'}; use {known}")
    return FORMATS[suffix]


#: Snapshot kinds the web page can draw (its scene is re-implemented in JavaScript).
WEB_PAGE_KINDS = ("arm",)


def arm_geometry(source: Path, manifest: NetManifest, registry: Registry) -> ArmGeometry:
    """The arm a network was trained on, from the scene its provenance names.

    Raises:
        AtrapError: the scene is not one the web page can draw (by its snapshot kind).
    """
    scene = manifest.provenance.scene
    spec = registry.get(scene.type) if scene is not None else None
    if scene is None or spec is None:
        found = "no scene" if scene is None else f"the unknown scene {scene.type!r}"
        raise AtrapError(
            f"{source}: the web page draws robot arms, and this file names {found}; "
            "export it as JSON or ONNX instead"
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
    if kind not in WEB_PAGE_KINDS:
        raise AtrapError(
            f"{source}: the web page draws scenes of kind {', '.join(WEB_PAGE_KINDS)}, and this "
            f"network was trained in {scene.type} (kind '{kind}'); export it as JSON or ONNX "
            "instead"
        )
    try:
        return ArmGeometry.from_props(
            props["joints"], props["axes"], props["link_lengths"], props["limits_deg"]
        )
    except ValueError as exc:
        raise AtrapError(f"{source}: the scene it names is not a valid arm: {exc}") from None
