"""The Crowd dock: run a crowd on this machine, join one, serve one, and watch its rounds.

The panel reads the status file a crowd writes after every round (the aggregator's: peers, who
was left out and why, the merged network's score on the whole world; a peer's: the merged
networks it was sent and their scores), so it shows a crowd started here and one started with
``atrap crowd`` alike. Starting, joining and serving run the same crowd/ code as the CLI, on a
worker thread: the window never waits for Flower, and every failure ends as a sentence in the
dock (details in the Log), never as a traceback.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from atrap_studio.core.errors import AtrapError
from atrap_studio.crowd.local import LocalCrowd
from atrap_studio.crowd.status import STATUS_FILE, CrowdStatus, read_status
from atrap_studio.ui.crowd_join import QtCrowdJoin
from atrap_studio.ui.crowd_serve import QtCrowdServe, run_settings

_COLUMNS = ("Round", "Peers", "Left out", "Median score", "Succeeded", "Time (s)")
#: How often a served crowd's connected peers are asked of Flower (each ask starts the flwr
#: CLI: about two seconds of a core).
CONNECTED_EVERY_S = 10.0


class QtCrowdPanel(QtWidgets.QWidget):
    """Rounds, peers and the merged network's score of one crowd (one table row a round).

    Args:
        graph_file: gives the saved graph to train (None while the graph is unsaved).
        use_network: called with the merged network's file when the user wants to use it.
        log: where the whole text of a failure goes (the window's Log).
    """

    finished = QtCore.Signal(str)  # the outcome, in words (emitted on the GUI thread)
    _said = QtCore.Signal(str)  # from the worker thread: news for the state line
    _served = QtCore.Signal(str)  # from the worker thread: where peers dial, what they need
    _nodes = QtCore.Signal(list)  # from the worker thread: Flower's list of known peers
    _logged = QtCore.Signal(str)  # from the worker thread: for the window's Log

    def __init__(
        self,
        graph_file: Callable[[], Path | None],
        use_network: Callable[[Path], object],
        parent: QtWidgets.QWidget | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self.graph_file = graph_file
        self.use_network = use_network
        self.log = log  # reached through _logged: failures are found on the worker thread
        self.folder: Path | None = None
        self.crowd: LocalCrowd | None = None
        self._thread: threading.Thread | None = None
        self._outcome = ""
        self._stop_job: Callable[[], None] | None = None

        local = QtWidgets.QWidget()
        local_form = QtWidgets.QFormLayout(local)
        self.peers = QtWidgets.QSpinBox(minimum=1, maximum=16, value=2)
        local_form.addRow("Peers", self.peers)
        self.rounds, self.local_steps, self.strategy = run_settings(local_form)
        self.start_button = QtWidgets.QPushButton("Start a Local Crowd")
        self.start_button.setToolTip(
            "Run the aggregator and the peers on this machine (TLS, registered keys); each "
            "peer trains its own region of the world"
        )
        local_form.addRow(self.start_button)
        self.join_tab = QtCrowdJoin(graph_file)
        self.serve_tab = QtCrowdServe(graph_file)
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(local, "On This PC")
        self.tabs.addTab(self.join_tab, "Join")
        self.tabs.addTab(self.serve_tab, "Serve")
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(self.tabs)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar = self.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_ScrollBarExtent)
        scroll.setMinimumWidth(self.tabs.minimumSizeHint().width() + bar + 4)  # never clipped

        self.stop_button = QtWidgets.QPushButton("Stop")
        self.follow_button = QtWidgets.QPushButton("Follow a Crowd Folder…")
        self.use_button = QtWidgets.QPushButton("Use the Merged Network")
        self.use_button.setToolTip("Put the latest merged network into the graph (Load network)")
        self.state = QtWidgets.QLabel("No crowd yet.")
        self.state.setWordWrap(True)
        self.state.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QtWidgets.QTableWidget(0, len(_COLUMNS))
        self.table.setHorizontalHeaderLabels(_COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.peer_list = QtWidgets.QListWidget()

        buttons = QtWidgets.QHBoxLayout()
        for button in (self.stop_button, self.follow_button, self.use_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        right = QtWidgets.QVBoxLayout()
        right.addLayout(buttons)
        right.addWidget(self.state)
        right.addWidget(self.table, 3)
        right.addWidget(QtWidgets.QLabel("Peers (node: region)"))
        right.addWidget(self.peer_list, 1)
        layout = QtWidgets.QHBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addLayout(right, 1)

        self.start_button.clicked.connect(self.start_local)
        self.join_tab.join_button.clicked.connect(self.start_join)
        self.serve_tab.serve_button.clicked.connect(self.start_serve)
        self.stop_button.clicked.connect(self.stop)
        self.follow_button.clicked.connect(self._follow_dialog)
        self.use_button.clicked.connect(self._use_merged)
        for tab in (self.join_tab, self.serve_tab):
            tab.said.connect(self.say)
        self._said.connect(self.say)
        self._served.connect(self.serve_tab.info.setText)
        self._nodes.connect(self.serve_tab.show_connected)
        self._logged.connect(self._to_log)  # a method of ours: run on the GUI thread
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.refresh)
        self._update_buttons()

    # -- starting and following ------------------------------------------------------------

    def start_local(self) -> bool:
        """Start a crowd of this graph on this machine (the graph must be saved)."""
        graph = self._saved_graph()
        if graph is None:
            return False
        folder = graph.parent / "runs" / f"crowd-{graph.stem}"
        self.crowd = crowd = LocalCrowd(graph, folder, peers=self.peers.value())
        settings: dict[str, str | int | float] = {
            "local-steps": self.local_steps.value(),
            "strategy": self.strategy.currentText(),
            "eval-episodes": 512,
            "poll-interval": 0.2,
        }
        rounds = self.rounds.value()
        (crowd.folder.rounds / STATUS_FILE).unlink(missing_ok=True)  # an older run's status

        def work() -> str:
            with crowd:
                status = crowd.run(rounds, settings)
            return f"Finished {len(status.rounds)} round(s)."

        self._run(
            work,
            crowd.__exit__,
            crowd.folder.rounds,
            f"Starting {self.peers.value()} peer(s) and the aggregator…",
        )
        return True

    def start_join(self) -> bool:
        """Join the crowd the Join tab names, as a peer training the saved graph."""
        from atrap_studio.crowd.join import check_join, join, why_the_peer_stopped

        graph = self._saved_graph()
        if graph is None:
            return False
        try:  # a few small files read: said at once, before anything starts
            request = self.join_tab.request(graph)
            check_join(request)
        except AtrapError as exc:
            self.say(str(exc))
            return False
        peer = None
        stopping = threading.Event()

        def work() -> str:
            nonlocal peer
            peer = join(request)
            if stopping.is_set():
                peer.stop()
            self._said.emit(
                f"Joined {request.address} as a peer: waiting for the aggregator's rounds "
                f"(the merged network and its score arrive from the second round on; "
                f"log: {peer.log})."
            )
            code = peer.popen.wait()
            peer.stop()
            if stopping.is_set() or code == 0:
                return "Left the crowd."
            tail = peer.tail()
            self._logged.emit(f"the crowd peer's log ends:\n{tail}")
            return f"The peer stopped: {why_the_peer_stopped(request, code, tail)}."

        def stop() -> None:
            if peer is not None:
                peer.stop()

        rounds = request.folder / "rounds"
        (rounds / STATUS_FILE).unlink(missing_ok=True)  # an earlier crowd's rounds, not this one's
        self._run(work, stop, rounds, f"Joining {request.address}…", stopping)
        return True

    def start_serve(self) -> bool:
        """Serve the crowd the Serve tab describes: this PC is its aggregator."""
        from atrap_studio.crowd.serve import CrowdServer

        graph = self._saved_graph()
        if graph is None:
            return False
        server = CrowdServer(self.serve_tab.request(graph))
        done = threading.Event()

        def watch_peers() -> None:
            while True:
                with contextlib.suppress(AtrapError):  # stopping: the list stays as last seen
                    self._nodes.emit(server.connected())
                if done.wait(CONNECTED_EVERY_S):
                    return

        def work() -> str:
            try:
                keys = server.start()
                request = server.request
                self._served.emit(
                    f"Peers dial {request.host}:{request.port} (TLS; only Flower's Fleet API "
                    f"answers there). Give each peer the certificate "
                    f"{server.folder.certs.ca}. {len(keys)} key(s) allowed."
                )
                self._said.emit(f"Serving: waiting for {request.min_peers} peer(s)…")
                threading.Thread(target=watch_peers, name="crowd-peers", daemon=True).start()
                status = server.run()
            finally:
                done.set()
                server.stop()
            return f"Finished {len(status.rounds)} round(s)."

        (server.folder.rounds / STATUS_FILE).unlink(missing_ok=True)
        self._run(work, server.stop, server.folder.rounds, "Starting the aggregator…")
        return True

    def _run(
        self,
        work: Callable[[], str],
        stop: Callable[[], None],
        rounds: Path,
        starting: str,
        stopping: threading.Event | None = None,
    ) -> None:
        """Run ``work`` on a worker thread, following the crowd whose status goes to
        ``rounds``; its outcome (or its failure, in words) ends in the state line.
        ``stopping`` is set when the person stops it (before ``stop`` is called)."""
        stopping = stopping or threading.Event()

        def stop_job() -> None:
            stopping.set()
            stop()

        self._stop_job = stop_job
        self._outcome = ""

        def body() -> None:
            try:
                self._outcome = work()
            except Exception as exc:  # reported in the panel; the window goes on
                self._outcome = "Stopped." if stopping.is_set() else self._failure(exc)

        self.follow(rounds)
        self.say(starting)
        self._thread = threading.Thread(target=body, name="crowd", daemon=True)
        self._thread.start()
        self._update_buttons()

    def _failure(self, exc: Exception) -> str:
        """A failure's first line for the dock; its whole text (Flower's log lines) to the Log."""
        text = str(exc) if isinstance(exc, AtrapError) else f"{type(exc).__name__}: {exc}"
        first, _, rest = text.partition("\n")
        if rest:
            self._logged.emit(f"the crowd stopped: {text}")
        details = " (details in the Log)" if rest and self.log is not None else ""
        return f"The crowd stopped: {first}{details}"

    def follow(self, folder: Path) -> None:
        """Show the crowd whose networks and status go to ``folder``."""
        self.folder = folder
        self.table.setRowCount(0)
        self.peer_list.clear()
        self.timer.start()
        self.refresh()

    def stop(self) -> None:
        """Stop a crowd started, joined or served here (its processes end; the networks
        saved so far stay)."""
        if self._stop_job is not None and self.running():
            self.say("Stopping the crowd…")
            # ending processes takes seconds: never on the GUI thread
            threading.Thread(target=self._stop_job, name="crowd-stop", daemon=True).start()

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float) -> bool:
        """Wait for a crowd started here to end (for scripts and tests)."""
        if self._thread is not None:
            self._thread.join(timeout)
        self.refresh()
        return not self.running()

    def say(self, text: str) -> None:
        self.state.setText(text)

    def _to_log(self, text: str) -> None:
        if self.log is not None:
            self.log(text)

    def _saved_graph(self) -> Path | None:
        """The saved graph, unless it is unsaved or a crowd runs already (the dock says so)."""
        graph = self.graph_file()
        if graph is None:
            self.say("Save the graph first: every peer reads it from its file.")
            return None
        if self.running():
            self.say("A crowd runs already: stop it first.")
            return None
        return graph

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
        self.table.resizeColumnsToContents()
        if self.running() or status.state != "finished" or not self._outcome:
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
        for button in (
            self.start_button,
            self.join_tab.join_button,
            self.serve_tab.serve_button,
        ):
            button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.use_button.setEnabled(self.merged_network() is not None)
