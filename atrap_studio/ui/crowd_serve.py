"""The Crowd dock's Serve tab: this PC is a crowd's aggregator — which peers may join, where
they dial, how many rounds, and who is connected. The sequence is crowd/serve.py's, as for
``atrap crowd serve``."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.core.errors import AtrapError
from atrap_studio.crowd.join import allow_key
from atrap_studio.crowd.processes import CrowdFolder
from atrap_studio.crowd.serve import ServeRequest
from atrap_studio.ui.path_field import QtPathField

#: Where the aggregator listens for peers: (shown, address).
LISTEN = (("This PC only (127.0.0.1)", "127.0.0.1"), ("Other PCs too (every network)", "0.0.0.0"))
STRATEGIES = ("fedavg", "trimmed", "median", "krum")


def run_settings(
    form: QtWidgets.QFormLayout,
) -> tuple[QtWidgets.QSpinBox, QtWidgets.QSpinBox, QtWidgets.QComboBox]:
    """Rounds, updates per round and strategy fields, added to ``form`` (local and served
    crowds ask the same)."""
    rounds = QtWidgets.QSpinBox(minimum=1, maximum=10_000, value=10)
    local_steps = QtWidgets.QSpinBox(minimum=1, maximum=100_000, value=50)
    strategy = QtWidgets.QComboBox()
    strategy.addItems(list(STRATEGIES))
    strategy.setToolTip("How updates are merged (trimmed, median, krum: robust to bad peers)")
    form.addRow("Rounds", rounds)
    form.addRow("Updates per round", local_steps)
    form.addRow("Strategy", strategy)
    return rounds, local_steps, strategy


class QtCrowdServe(QtWidgets.QWidget):
    """The aggregator's settings, the allowed keys and the connected peers.

    Args:
        graph_file: gives the saved graph (its network is the crowd's; None while unsaved).
    """

    said = QtCore.Signal(str)  # what happened, in words, for the dock's state line

    def __init__(
        self, graph_file: Callable[[], Path | None], parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.graph_file = graph_file
        self.crowd_folder = QtPathField(
            "The crowd's folder (certificates, peer keys, networks)",
            folder=True,
            start=lambda: graph.parent if (graph := self.graph_file()) else None,
            placeholder="crowd, beside the graph",
        )
        self.listen = QtWidgets.QComboBox()
        for shown, address in LISTEN:
            self.listen.addItem(shown, address)
        self.listen.setSizeAdjustPolicy(
            QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.listen.setMinimumContentsLength(12)
        self.listen.setToolTip(
            "Only Flower's Fleet API (what peers call) answers there, over TLS; starting runs "
            "and registering keys stay on this PC"
        )
        self.port = QtWidgets.QSpinBox(minimum=1, maximum=65535, value=9092)
        self.names = QtWidgets.QLineEdit(socket.gethostname())
        self.names.setToolTip(
            "Names or addresses other PCs dial, separated by commas: written into the crowd's "
            "certificate when its folder is served the first time"
        )
        self.keys = QtWidgets.QListWidget()
        self.keys.setToolTip("The peers' public keys: only these may join")
        self.allow_button = QtWidgets.QPushButton("Allow a Key…")
        self.allow_button.setToolTip("Add a peer's .pub file to the crowd's peers folder")
        self.min_peers = QtWidgets.QSpinBox(minimum=1, maximum=64, value=2)
        self.min_peers.setToolTip("The rounds start once this many peers have joined")
        self.serve_button = QtWidgets.QPushButton("Serve")
        self.serve_button.setToolTip("Run the aggregator; the rounds start once enough join")
        self.info = QtWidgets.QLabel()
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        # room for the wrapped text: a tab page does not pass height-for-width on to it
        self.info.setMinimumHeight(self.info.fontMetrics().lineSpacing() * 6)
        self.connected = QtWidgets.QListWidget()
        self.connected.setToolTip("The peers the aggregator knows, as Flower reports them")

        form = QtWidgets.QFormLayout(self)
        form.addRow("Folder", self.crowd_folder)
        form.addRow("Peers from", self.listen)
        form.addRow("Port", self.port)
        form.addRow("Names", self.names)
        keys = QtWidgets.QVBoxLayout()
        keys.addWidget(self.keys)
        keys.addWidget(self.allow_button)
        form.addRow("Allowed keys", keys)
        self.rounds, self.local_steps, self.strategy = run_settings(form)
        form.addRow("Wait for peers", self.min_peers)
        form.addRow(self.serve_button)
        form.addRow(self.info)
        form.addRow("Connected", self.connected)
        self.keys.setMaximumHeight(90)
        self.connected.setMaximumHeight(90)
        self.allow_button.clicked.connect(self._allow_dialog)
        self.crowd_folder.changed.connect(self.show_keys)

    def folder(self) -> Path | None:
        """The crowd's folder: the one given, or ``crowd`` beside the saved graph."""
        given = self.crowd_folder.path()
        graph = self.graph_file()
        if given is None and graph is not None:
            return graph.parent / "crowd"
        return given

    def request(self, graph: Path) -> ServeRequest:
        folder = self.crowd_folder.path() or graph.parent / "crowd"
        names = tuple(n.strip() for n in self.names.text().split(",") if n.strip())
        return ServeRequest(
            graph=graph,
            folder=folder,
            host=str(self.listen.currentData()),
            port=self.port.value(),
            names=names,
            rounds=self.rounds.value(),
            min_peers=self.min_peers.value(),
            settings={
                "local-steps": self.local_steps.value(),
                "strategy": self.strategy.currentText(),
            },
        )

    def allow(self, public: Path) -> None:
        """Allow the peer holding ``public``'s private half (copied into the peers folder)."""
        folder = self.folder()
        if folder is None:
            self.said.emit("Save the graph or choose the crowd's folder first.")
            return
        try:
            allowed = allow_key(public, CrowdFolder(folder).peers)
        except AtrapError as exc:
            self.said.emit(f"Not allowed: {exc}")
            return
        self.show_keys()
        self.said.emit(f"Allowed {allowed.name}: serve (again) to let it join.")

    def show_keys(self) -> None:
        folder = self.folder()
        peers = CrowdFolder(folder).peers if folder is not None else None
        names = sorted(p.name for p in peers.glob("*.pub")) if peers and peers.is_dir() else []
        self.keys.clear()
        self.keys.addItems(names or ["(none yet: allow each peer's .pub file)"])

    def show_connected(self, nodes: list[dict[str, str]]) -> None:
        """Flower's list of known peers: ``key (node id): status`` (and since when, if
        online)."""
        self.connected.clear()
        for node in nodes:
            since = node.get("online-at", "N/A")
            when = f" since {since}" if node.get("status") == "online" and since != "N/A" else ""
            who = node.get("node-id", "?")
            if node.get("key"):
                who = f"{node['key']} (node {who})"
            self.connected.addItem(f"{who}: {node.get('status', '?')}{when}")

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        self.show_keys()
        super().showEvent(event)

    def _allow_dialog(self) -> None:
        graph = self.graph_file()
        name, _ = QtWidgets.QFileDialog.getOpenFileName(
            self,
            "Allow a peer's public key",
            str(graph.parent) if graph else "",
            "Public keys (*.pub);;All files (*)",
        )
        if name:
            self.allow(Path(name))
