"""Network files in the editor: use received networks in the graph, export a trained one.

A network file is read and checked completely (the same reader as ``atrap`` uses) and, when
the graph is valid, checked against its sensors and actions before the graph changes; the
change itself is one undoable edit that turns the graph's network node into a Load network
(one file) or a Merge networks node (several), keeping its links.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from PySide6 import QtWidgets

from atrap_studio.core import editing
from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import AtrapError
from atrap_studio.core.registry import Registry
from atrap_studio.runtime.exports import export_network
from atrap_studio.runtime.netfile import SUFFIX, LoadedNetwork, check_fits, describe, load_network
from atrap_studio.runtime.pipeline import network_meanings
from atrap_studio.ui.editor import Editor
from atrap_studio.ui.messages import Messages
from atrap_studio.ui.session_files import AppPaths, run_folder

NETWORK_FILTER = f"ATRAP networks (*{SUFFIX})"
_EXPORT_FILTERS = {
    ".html": "Web page (*.html)",
    ".onnx": "ONNX model (*.onnx)",
    ".json": "Readable JSON (*.json)",
    SUFFIX: NETWORK_FILTER,
}


class NetworkFilesHost(Messages, Protocol):
    """What the network-file commands use from the window (``MainWindow`` is one)."""

    registry: Registry
    paths: AppPaths
    editor: Editor

    @property
    def path(self) -> Path | None:
        """The graph's file, ``None`` while it is not saved."""


class NetworkFiles:
    """The window's network-file commands (File menu and drops on the canvas)."""

    def __init__(self, host: NetworkFilesHost) -> None:
        self.host = host

    # -- using received networks ----------------------------------------------------------

    def import_dialog(self) -> None:
        names, _ = QtWidgets.QFileDialog.getOpenFileNames(
            self.host.window(), "Use Network Files", str(self._folder()), NETWORK_FILTER
        )
        if names:
            self.use_files([Path(name) for name in names])

    def use_files(self, paths: list[Path], at: tuple[float, float] | None = None) -> bool:
        """Use one network file (Load network) or merge several (Merge networks) in the graph.

        Every file is checked first; a bad or unfitting file changes nothing and says why.
        """
        host = self.host
        loaded: list[tuple[Path, LoadedNetwork]] = []
        for path in paths:
            try:
                network = load_network(path)
                self._check_fits(path, network)
            except AtrapError as exc:
                host.error_dialog("Cannot use this network", str(exc))
                return False
            loaded.append((path, network))
        names = [self._relative(path) for path in paths]
        props: Mapping[str, object]
        if len(paths) == 1:
            type_id, props, what = "nn.load", {"file": names[0]}, f"Use network {paths[0].name}"
        else:
            type_id, props, what = "nn.merge", {"files": names}, f"Merge {len(paths)} networks"
        if not host.editor.edit(what, lambda doc: self._with_source(doc, type_id, props, at)):
            return False
        for path, network in loaded:
            host.log(f"{path}:\n{describe(network.manifest)}")
        host.say(f"{what}: the next run starts from it (details in the Log).")
        return True

    def _check_fits(self, path: Path, network: LoadedNetwork) -> None:
        analysis = self.host.editor.validate_now()
        if analysis.ok:
            check_fits(
                str(path), network.manifest, *network_meanings(self.host.editor.doc, analysis)
            )

    def _with_source(
        self,
        doc: GraphDocument,
        type_id: str,
        props: dict[str, object],
        at: tuple[float, float] | None,
    ) -> GraphDocument:
        """The graph with its network node turned into ``type_id``, or with a new one added."""
        registry = self.host.registry
        spec = registry.get(type_id)
        assert spec is not None
        trainer = self.host.editor.analysis.trainer
        links = doc.links_into(trainer, "network") if trainer else []
        if links:
            return editing.retype(doc, spec, links[0].src.node, props)
        doc, node_id = editing.add_node(doc, spec, at)
        for name, value in props.items():
            doc = editing.set_prop(doc, node_id, name, value)
        return doc

    def _relative(self, path: Path) -> str:
        """Relative to the graph's folder when inside it, so graph and network travel together."""
        graph = self.host.path
        full = path.resolve()
        if graph is not None and full.is_relative_to(graph.parent.resolve()):
            return full.relative_to(graph.parent.resolve()).as_posix()
        return str(full)

    def _folder(self) -> Path:
        return self.host.path.parent if self.host.path else Path.home()

    # -- exporting the trained network ----------------------------------------------------

    def trained_network(self) -> Path | None:
        """The network the last run of this graph left, if any."""
        host = self.host
        path = run_folder(host.paths, host.editor.doc, host.path) / "network.atrapnet"
        return path if path.is_file() else None

    def export_dialog(self) -> None:
        source = self.trained_network()
        if source is None:
            name, _ = QtWidgets.QFileDialog.getOpenFileName(
                self.host.window(), "Export Which Network?", str(self._folder()), NETWORK_FILTER
            )
            if not name:
                return
            source = Path(name)
        filters = ";;".join(_EXPORT_FILTERS.values())
        name, chosen = QtWidgets.QFileDialog.getSaveFileName(
            self.host.window(), "Export Network", str(source.with_suffix(".html")), filters
        )
        if name:
            suffix = next((s for s, f in _EXPORT_FILTERS.items() if f == chosen), None)
            target = Path(name)
            self.export_to(source, target if target.suffix else target.with_suffix(suffix or ""))

    def export_to(self, source: Path, target: Path) -> bool:
        """Write the network in ``source`` to ``target`` in the format its suffix names."""
        try:
            network = load_network(source)
            what = export_network(source, network, target, self.host.registry)
        except (AtrapError, OSError) as exc:
            self.host.error_dialog("Cannot export the network", str(exc))
            return False
        self.host.say(f"Exported {source.name} to {target} ({what}).")
        self.host.log(f"Exported {source} to {target} ({what}).")
        return True


def is_network_file(path: Path) -> bool:
    return path.suffix.lower() == SUFFIX
