"""The Crowd dock's Join tab: this PC joins a crowd served elsewhere, as a peer training the
open graph on its own region. The checks and the peer are crowd/join.py's, as for
``atrap crowd join``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from atrap_studio.core.errors import AtrapError
from atrap_studio.crowd.join import JoinRequest, new_peer_key
from atrap_studio.ui.path_field import QtPathField


class QtCrowdJoin(QtWidgets.QWidget):
    """Where the aggregator is, the certificate that proves it, this peer's key and region.

    Args:
        graph_file: gives the saved graph (the peer trains it; None while unsaved).
    """

    said = QtCore.Signal(str)  # what happened, in words, for the dock's state line

    def __init__(
        self, graph_file: Callable[[], Path | None], parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.graph_file = graph_file
        here = self._graph_folder
        self.address = QtWidgets.QLineEdit()
        self.address.setPlaceholderText("crowd.example.org:9092")
        self.address.setToolTip("The aggregator's HOST:PORT, as its owner gave it")
        self.ca = QtPathField(
            "The crowd's certificate (ca.crt, from the aggregator's owner)",
            start=here,
            filters="Certificates (*.crt *.pem);;All files (*)",
            placeholder="ca.crt from the aggregator's owner",
        )
        self.key = QtPathField(
            "This peer's private key", start=here, placeholder="this PC's private key"
        )
        self.make_key_button = QtWidgets.QPushButton("Make a Key…")
        self.make_key_button.setToolTip(
            "Make this PC's key pair: keep the private key, send the .pub file to the "
            "aggregator's owner"
        )
        self.region = QtWidgets.QSpinBox(minimum=1, maximum=64, value=1)
        self.regions = QtWidgets.QSpinBox(minimum=1, maximum=64, value=1)
        self.regions.setToolTip("Into how many regions the crowd splits the world (1: whole)")
        self.join_button = QtWidgets.QPushButton("Join")
        self.join_button.setToolTip("Run this PC's peer: it trains the saved graph each round")

        region_row = QtWidgets.QHBoxLayout()
        region_row.addWidget(self.region)
        region_row.addWidget(QtWidgets.QLabel("of"))
        region_row.addWidget(self.regions)
        region_row.addStretch(1)
        form = QtWidgets.QFormLayout(self)
        form.addRow("Aggregator", self.address)
        form.addRow("Certificate", self.ca)
        form.addRow("Key", self.key)
        form.addRow("", self.make_key_button)
        form.addRow("Region", region_row)
        form.addRow(self.join_button)
        self.regions.valueChanged.connect(lambda count: self.region.setMaximum(count))
        self.make_key_button.clicked.connect(self.make_key)

    def folder(self, graph: Path) -> Path:
        """Where this peer keeps its logs, Flower's state and the merged networks it gets."""
        return graph.parent / "crowd-peer"

    def request(self, graph: Path) -> JoinRequest:
        """The join the fields describe (checked when it starts, by crowd/join.py)."""
        ca, key = self.ca.path(), self.key.path()
        missing = [
            name
            for name, empty in (
                ("the aggregator's address", not self.address.text().strip()),
                ("the crowd's certificate", ca is None),
                ("this peer's key", key is None),
            )
            if empty
        ]
        if missing or ca is None or key is None:
            raise AtrapError(f"To join, give {' and '.join(missing)}.")
        return JoinRequest(
            address=self.address.text().strip(),
            ca=ca,
            key=key,
            graph=graph,
            region=self.region.value() - 1,
            regions=self.regions.value(),
            folder=self.folder(graph),
        )

    def make_key(self) -> None:
        """Ask where to keep a new private key, make the pair and use it for joining."""
        start = self._graph_folder()
        name, _ = QtWidgets.QFileDialog.getSaveFileName(
            self,
            "Make a Key: where this PC keeps its private key",
            str((start or Path.cwd()) / "peer.key"),
        )
        if not name:
            return
        try:
            public = new_peer_key(Path(name))
        except AtrapError as exc:
            self.said.emit(f"No key made: {exc}")
            return
        self.key.set_path(Path(name))
        self.said.emit(
            f"Made a key: keep {name} on this PC; send {public} to the aggregator's owner, "
            "who allows it in the crowd's peers folder."
        )

    def _graph_folder(self) -> Path | None:
        graph = self.graph_file()
        return graph.parent if graph is not None else None
