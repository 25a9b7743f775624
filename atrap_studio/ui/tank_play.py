"""Play against the trained tank: a window where the keyboard drives the enemy tank.

Arrow keys (or W A S D) drive and turn, Space fires. The network drives the other tank from its
camera, as in training, weakened by the Difficulty slider (late reactions and lapses, see
``nodes/scenes/tanks/play.py``). Fights follow one another; the score is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import AtrapError
from atrap_studio.nodes.scenes.tanks.play import Duel, Frame
from atrap_studio.runtime.netfile import load_network
from atrap_studio.ui.messages import Messages
from atrap_studio.ui.views.pictures import BACKGROUND
from atrap_studio.ui.views.scenes.tank_arena import caption, paint

Key = QtCore.Qt.Key
#: key code -> (drive, turn) it adds while held
_DRIVE_KEYS: dict[int, tuple[float, float]] = {
    Key.Key_Up.value: (1.0, 0.0),
    Key.Key_W.value: (1.0, 0.0),
    Key.Key_Down.value: (-1.0, 0.0),
    Key.Key_S.value: (-1.0, 0.0),
    Key.Key_Left.value: (0.0, 1.0),
    Key.Key_A.value: (0.0, 1.0),
    Key.Key_Right.value: (0.0, -1.0),
    Key.Key_D.value: (0.0, -1.0),
}
_FIRE_KEY = Key.Key_Space.value
STEP_MS = 100  # the arena's own step: 0.1 s


def has_tank_arena(doc: GraphDocument) -> bool:
    return any(node.type == "scene.tank_arena" for node in doc.nodes)


class ArenaCanvas(QtWidgets.QWidget):
    """Draws the latest frame of the duel."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.frame: Frame | None = None
        self.setMinimumSize(420, 420)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        if self.frame is not None:
            paint(painter, QtCore.QRectF(self.rect()).adjusted(6, 6, -6, -6), self.frame.snapshot)
        painter.end()


class PlayWindow(QtWidgets.QDialog):
    """One duel against the network; the person drives the red (enemy) tank."""

    def __init__(
        self, duel: Duel, parent: QtWidgets.QWidget | None = None, *, autostart: bool = True
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Play against the network")
        self.duel = duel
        self.held: set[int] = set()
        self.canvas = ArenaCanvas()
        self.status = QtWidgets.QLabel()
        self.score = QtWidgets.QLabel()
        self.difficulty = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.difficulty.setRange(0, 100)
        self.difficulty.setValue(round(duel.difficulty * 100))
        self.difficulty.setToolTip(
            "How well the network plays: 100 as trained; lower, it reacts later and lapses more"
        )
        self.difficulty.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.difficulty.valueChanged.connect(lambda value: setattr(duel, "difficulty", value / 100))
        controls = QtWidgets.QHBoxLayout()
        controls.addWidget(QtWidgets.QLabel("Difficulty"))
        controls.addWidget(self.difficulty, 1)
        controls.addWidget(self.score)
        help_text = QtWidgets.QLabel(
            "You drive the red tank: arrows or W A S D to drive and turn, Space to fire."
        )
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(help_text)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.status)
        layout.addLayout(controls)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(STEP_MS)
        self.timer.timeout.connect(self.tick)
        self._show_score()
        if autostart:
            self.timer.start()

    def controls(self) -> tuple[float, float, bool]:
        """(drive, turn, fire) from the keys held now."""
        moves = [_DRIVE_KEYS[key] for key in self.held if key in _DRIVE_KEYS]
        drive = max(-1.0, min(1.0, sum(move[0] for move in moves)))
        turn = max(-1.0, min(1.0, sum(move[1] for move in moves)))
        return drive, turn, _FIRE_KEY in self.held

    def tick(self) -> None:
        """One step of the arena with the keys held now."""
        frame = self.duel.step(*self.controls())
        self.canvas.frame = frame
        self.canvas.update()
        if frame.ended:
            words = {"won": "You won!", "lost": "The network won.", "draw": "Time: a draw."}
            self.status.setText(f"{words[frame.ended]} A new fight begins.")
            self._show_score()
        else:
            self.status.setText(caption(frame.snapshot, 0).split(" · ", 1)[1])

    def _show_score(self) -> None:
        score = self.duel.score
        self.score.setText(f"You {score['won']} : {score['lost']} network ({score['draw']} draws)")

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        if event.key() in _DRIVE_KEYS or event.key() == _FIRE_KEY:
            if not event.isAutoRepeat():
                self.held.add(event.key())
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QtGui.QKeyEvent) -> None:
        if not event.isAutoRepeat():
            self.held.discard(event.key())
        super().keyReleaseEvent(event)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.timer.stop()
        super().closeEvent(event)


def play_against(
    doc: GraphDocument, network: Path, parent: QtWidgets.QWidget | None = None
) -> PlayWindow:
    """Open a play window on ``doc``'s arena with the network in ``network``.

    Raises:
        AtrapError: the file cannot be read, or does not fit the graph (its message says why).
    """
    loaded = load_network(network)
    controls = next((n for n in doc.nodes if n.type == "action.tank_controls"), None)
    chosen = controls.props.get("difficulty", 1.0) if controls is not None else 1.0
    difficulty = float(chosen) if isinstance(chosen, int | float) else 1.0
    duel = Duel(doc, loaded.module.state_dict(), difficulty=difficulty)
    window = PlayWindow(duel, parent)
    window.show()
    return window


class PlayAction:
    """Run → Play Against the Network…: a duel with the graph's latest trained network.

    The network is the last run's ``network.atrapnet`` when there is one, else a file the
    person picks.
    """

    def __init__(
        self,
        messages: Messages,
        document: Callable[[], GraphDocument],
        run_folder: Callable[[], Path | None],
    ) -> None:
        self.messages, self.document, self.run_folder = messages, document, run_folder
        self.window: PlayWindow | None = None

    def add_to(self, menu: QtWidgets.QMenu) -> QtGui.QAction:
        action = menu.addAction("&Play Against the Network…")
        action.setStatusTip("Drive a tank with the keyboard against the trained tank network")
        action.triggered.connect(self.trigger)
        return action

    def trigger(self) -> None:
        doc = self.document()
        if not has_tank_arena(doc):
            self.messages.say("Play mode needs a graph whose scene is a tank arena")
            return
        folder = self.run_folder()
        network = folder / "network.atrapnet" if folder is not None else None
        if network is None or not network.is_file():
            chosen, _ = QtWidgets.QFileDialog.getOpenFileName(
                self.messages.window(),
                "The trained network to play against",
                "",
                "ATRAP networks (*.atrapnet)",
            )
            if not chosen:
                return
            network = Path(chosen)
        try:
            self.window = play_against(doc, network, self.messages.window())
        except AtrapError as exc:
            self.messages.error_dialog("Cannot play against this network", str(exc))
