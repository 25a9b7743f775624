"""The Crowd dock: start a crowd on this machine or follow one, and watch its rounds.

The panel reads the status file the crowd's aggregator writes after every round (peers, who was
left out and why, the merged network's score on the whole world), so it shows a crowd started
here and one started with ``atrap crowd serve`` alike. A crowd started here runs its processes
from a worker thread; the window never waits for Flower.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from atrap_studio.crowd.local import LocalCrowd
from atrap_studio.crowd.status import CrowdStatus, read_status

_COLUMNS = ("Round", "Peers", "Left out", "Median score", "Succeeded", "Time (s)")


class QtCrowdPanel(QtWidgets.QWidget):
    """Rounds, peers and the merged network's score of one crowd (one table row a round).

    Args:
        graph_file: gives the saved graph to train (None while the graph is unsaved).
        use_network: called with the merged network's file when the user wants to use it.
    """

    finished = QtCore.Signal(str)  # the outcome, in words (emitted on the GUI thread)

    def __init__(
        self,
        graph_file: Callable[[], Path | None],
        use_network: Callable[[Path], object],
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.graph_file = graph_file
        self.use_network = use_network
        self.folder: Path | None = None
        self.crowd: LocalCrowd | None = None
        self._thread: threading.Thread | None = None
        self._outcome = ""

        self.peers = QtWidgets.QSpinBox(minimum=1, maximum=16, value=2)
        self.rounds = QtWidgets.QSpinBox(minimum=1, maximum=10_000, value=10)
        self.local_steps = QtWidgets.QSpinBox(minimum=1, maximum=1_000_000, value=50)
        self.strategy = QtWidgets.QComboBox()
        self.strategy.addItems(["fedavg", "trimmed", "median", "krum"])
        self.start_button = QtWidgets.QPushButton("Start a Local Crowd")
        self.start_button.setToolTip(
            "Run the aggregator and the peers on this machine (TLS, registered keys); each "
            "peer trains its own region of the world"
        )
        self.stop_button = QtWidgets.QPushButton("Stop")
        self.follow_button = QtWidgets.QPushButton("Follow a Crowd Folder…")
        self.use_button = QtWidgets.QPushButton("Use the Merged Network")
        self.state = QtWidgets.QLabel("No crowd yet.")
        self.state.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(0, len(_COLUMNS))
        self.table.setHorizontalHeaderLabels(_COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.peer_list = QtWidgets.QListWidget()

        form = QtWidgets.QFormLayout()
        form.addRow("Peers", self.peers)
        form.addRow("Rounds", self.rounds)
        form.addRow("Updates per round", self.local_steps)
        form.addRow("Strategy", self.strategy)
        buttons = QtWidgets.QHBoxLayout()
        for button in (self.start_button, self.stop_button, self.follow_button, self.use_button):
            buttons.addWidget(button)
        left = QtWidgets.QVBoxLayout()
        left.addLayout(form)
        left.addWidget(QtWidgets.QLabel("Peers (node: region)"))
        left.addWidget(self.peer_list)
        right = QtWidgets.QVBoxLayout()
        right.addWidget(self.table)
        columns = QtWidgets.QHBoxLayout()
        columns.addLayout(left, 1)
        columns.addLayout(right, 3)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.state)
        layout.addLayout(columns)

        self.start_button.clicked.connect(self.start_local)
        self.stop_button.clicked.connect(self.stop)
        self.follow_button.clicked.connect(self._follow_dialog)
        self.use_button.clicked.connect(self._use_merged)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.refresh)
        self._update_buttons()

    # -- starting and following ------------------------------------------------------------

    def start_local(self) -> bool:
        """Start a crowd of this graph on this machine (the graph must be saved)."""
        graph = self.graph_file()
        if graph is None:
            self.state.setText("Save the graph first: every peer reads it from its file.")
            return False
        if self.running():
            return False
        folder = graph.parent / "runs" / f"crowd-{graph.stem}"
        self.crowd = LocalCrowd(graph, folder, peers=self.peers.value())
        settings: dict[str, str | int | float] = {
            "local-steps": self.local_steps.value(),
            "strategy": self.strategy.currentText(),
            "eval-episodes": 512,
            "poll-interval": 0.2,
        }
        rounds = self.rounds.value()
        crowd = self.crowd
        self._outcome = ""
        (crowd.folder.rounds / "crowd.json").unlink(missing_ok=True)  # an older run's status

        def work() -> None:
            try:
                with crowd:
                    status = crowd.run(rounds, settings)
                self._outcome = f"Finished {len(status.rounds)} round(s)."
            except Exception as exc:  # reported in the panel; the window goes on
                self._outcome = f"The crowd stopped: {exc}"

        self.follow(crowd.folder.rounds)
        self.state.setText(f"Starting {self.peers.value()} peer(s) and the aggregator…")
        self._thread = threading.Thread(target=work, name="crowd", daemon=True)
        self._thread.start()
        self._update_buttons()
        return True

    def follow(self, folder: Path) -> None:
        """Show the crowd whose networks and status go to ``folder``."""
        self.folder = folder
        self.timer.start()
        self.refresh()

    def stop(self) -> None:
        """Stop a crowd started here (its processes end; the networks saved so far stay)."""
        if self.crowd is not None and self.running():
            self.state.setText("Stopping the crowd…")
            # ending processes takes seconds: never on the GUI thread
            threading.Thread(target=self.crowd.__exit__, name="crowd-stop", daemon=True).start()

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float) -> bool:
        """Wait for a crowd started here to end (for scripts and tests)."""
        if self._thread is not None:
            self._thread.join(timeout)
        self.refresh()
        return not self.running()

    # -- showing ----------------------------------------------------------------------------

    def refresh(self) -> None:
        status = read_status(self.folder) if self.folder is not None else None
        if status is not None:
            self._show(status)
        if self._thread is not None and not self._thread.is_alive():
            self._thread = None
            self.state.setText(self._outcome)
            self.finished.emit(self._outcome)
        self._update_buttons()

    def _show(self, status: CrowdStatus) -> None:
        if status.score:
            unit = f" ({status.unit})" if status.unit else ""
            label = f"Median {status.score}{unit}, {status.better} is better"
            header = QtWidgets.QTableWidgetItem(label.split(",")[0])
            header.setToolTip(label)
            self.table.setHorizontalHeaderItem(3, header)
        self.table.setRowCount(len(status.rounds))
        peers: dict[str, str] = {}
        for row, record in enumerate(status.rounds):
            left = {**record.dropped, **record.failed, **dict.fromkeys(record.missing, "no reply")}
            cells = (
                str(record.round),
                str(len(record.peers)),
                "; ".join(f"{node}: {why}" for node, why in left.items()) or "—",
                f"{record.median:.2f}" if record.median is not None else "—",
                f"{record.success_rate:.1%}" if record.success_rate is not None else "—",
                f"{record.seconds:.0f}",
            )
            for column, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(row, column, item)
            peers.update(record.peers)
        self.peer_list.clear()
        self.peer_list.addItems(
            [f"{node}: {variant or 'whole world'}" for node, variant in peers.items()]
        )
        if self.running() or status.state != "finished":
            done = len(status.rounds)
            self.state.setText(
                f"{status.state.capitalize()}: round {done} of {status.rounds_planned} "
                f"({status.strategy}). {status.message}".strip()
            )

    def merged_network(self) -> Path | None:
        path = self.folder / "network.atrapnet" if self.folder is not None else None
        return path if path is not None and path.is_file() else None

    def _use_merged(self) -> None:
        network = self.merged_network()
        if network is not None:
            self.use_network(network)

    def _follow_dialog(self) -> None:
        start = self.graph_file()
        name = QtWidgets.QFileDialog.getExistingDirectory(
            self,
            "Follow a Crowd Folder (its rounds/ folder)",
            str(start.parent if start else tempfile.gettempdir()),
        )
        if name:
            folder = Path(name)
            self.follow(folder / "rounds" if (folder / "rounds").is_dir() else folder)

    def _update_buttons(self) -> None:
        running = self.running()
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running and self.crowd is not None)
        self.use_button.setEnabled(self.merged_network() is not None)
