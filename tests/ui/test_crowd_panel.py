"""The Crowd dock: a local crowd started from the editor, a crowd served and joined from it,
its rounds shown, its network used."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.yaml_io import save_graph
from atrap_studio.crowd.join import new_peer_key
from atrap_studio.crowd.processes import free_port
from atrap_studio.crowd.security import make_certificates
from atrap_studio.crowd.status import CrowdStatus, RoundRecord
from atrap_studio.ui.crowd_panel import QtCrowdPanel
from atrap_studio.ui.main_window import MainWindow
from atrap_studio.ui.path_field import QtPathField
from tests.conftest import shrink
from tests.ui.test_screenshot import ARTIFACTS


def test_the_panel_follows_a_crowd_folder(window: MainWindow, tmp_path: Path) -> None:
    status = CrowdStatus(graph="g.yaml", strategy="median", rounds_planned=3, state="running")
    status.rounds = [
        RoundRecord(round=1, peers={"7": "region 1 of 2", "9": "region 2 of 2"},
                    median=80.0, success_rate=0.01, seconds=12),
        RoundRecord(round=2, peers={"7": "region 1 of 2"}, dropped={"9": "0.bias holds NaN"},
                    median=40.5, success_rate=0.1, seconds=25),
    ]  # fmt: skip
    status.save(tmp_path)
    panel = window.crowd_panel
    panel.follow(tmp_path)
    assert panel.table.rowCount() == 2
    assert panel.table.item(1, 2).text() == "9: 0.bias holds NaN"
    assert panel.table.item(1, 3).text() == "40.50"
    assert [panel.peer_list.item(i).text() for i in range(2)] == [
        "7: region 1 of 2",
        "9: region 2 of 2",
    ]
    assert "round 2 of 3 (median)" in panel.state.text()
    assert not panel.use_button.isEnabled()  # no merged network file yet


def test_a_local_crowd_started_in_the_editor(
    make_window: Callable[..., MainWindow], arm_doc: GraphDocument, tmp_path: Path, qtbot: QtBot
) -> None:
    path = tmp_path / "small.yaml"
    save_graph(shrink(arm_doc), path)
    window = make_window()
    assert window.open_file(path, ask=False)
    panel = window.crowd_panel
    panel.peers.setValue(1)
    panel.rounds.setValue(2)
    panel.local_steps.setValue(5)
    assert panel.start_local()
    assert not panel.start_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.running(), timeout=180_000)
    panel.refresh()
    assert panel.state.text() == "Finished 2 round(s).", panel.state.text()
    assert panel.table.rowCount() == 2
    assert panel.use_button.isEnabled()
    panel.use_button.click()
    brain = window.editor.doc.node("brain")
    assert brain is not None and brain.type == "nn.load"
    assert brain.props["file"] == "runs/crowd-small/rounds/network.atrapnet"


# -- joining and serving from the dock, as a person does ---------------------------------------


def answer_file_dialog(path: Path) -> None:
    """Put ``path`` into the next file dialog's name field and press its Open or Save button,
    as a person would. (Not typed key by key: the field's completer pops up and takes the
    keys; and offscreen, a synthesised mouse click does not reach a modal dialog's button.)"""

    def answer() -> None:
        dialog = QtWidgets.QApplication.activeModalWidget()
        if not isinstance(dialog, QtWidgets.QFileDialog):
            QtCore.QTimer.singleShot(20, answer)
            return
        name = dialog.findChild(QtWidgets.QLineEdit, "fileNameEdit")
        buttons = dialog.findChild(QtWidgets.QDialogButtonBox, "buttonBox")
        assert name is not None and buttons is not None
        name.setText(str(path))
        Button = QtWidgets.QDialogButtonBox.StandardButton
        (buttons.button(Button.Save) or buttons.button(Button.Open)).click()

    QtCore.QTimer.singleShot(0, answer)


def type_into(field: QtWidgets.QWidget, text: str) -> None:
    """Replace a field's text by typing, as a person would."""
    line = field.line if isinstance(field, QtPathField) else field
    assert isinstance(line, QtWidgets.QLineEdit | QtWidgets.QAbstractSpinBox)
    line.setFocus()
    QTest.keyClick(line, QtCore.Qt.Key.Key_A, QtCore.Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(line, text)


def click(button: QtWidgets.QAbstractButton) -> None:
    assert button.isEnabled(), button.text()
    QTest.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)


def show_tab(panel: QtCrowdPanel, name: str) -> None:
    bar = panel.tabs.tabBar()
    index = next(i for i in range(bar.count()) if bar.tabText(i) == name)
    QTest.mouseClick(bar, QtCore.Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert panel.tabs.currentIndex() == index


def test_the_dock_says_what_is_wrong_before_anything_starts(
    make_window: Callable[..., MainWindow], arm_doc: GraphDocument, tmp_path: Path, qtbot: QtBot
) -> None:
    window = make_window()
    panel = window.crowd_panel
    show_tab(panel, "Join")
    click(panel.join_tab.join_button)
    assert panel.state.text() == "Save the graph first: every peer reads it from its file."

    path = tmp_path / "small.yaml"
    save_graph(shrink(arm_doc), path)
    assert window.open_file(path, ask=False)
    click(panel.join_tab.join_button)
    assert panel.state.text() == (
        "To join, give the aggregator's address and the crowd's certificate and this peer's key."
    )
    type_into(panel.join_tab.address, "crowd.example.org:9092")
    type_into(panel.join_tab.ca, str(path))  # the graph, not a certificate
    type_into(panel.join_tab.key, str(tmp_path / "nobody.key"))
    click(panel.join_tab.join_button)
    assert panel.state.text() == (
        f"{path} is not a certificate: ask the aggregator's owner for the crowd's ca.crt "
        "(from its certs folder)"
    )
    assert not panel.running()

    show_tab(panel, "Serve")
    private = tmp_path / "ada.key"
    new_peer_key(private)
    answer_file_dialog(private)  # the private half, by mistake
    click(panel.serve_tab.allow_button)
    qtbot.waitUntil(lambda: panel.state.text().startswith("Not allowed"), timeout=10_000)
    assert f"{private} is not a peer's public key" in panel.state.text()
    assert [panel.serve_tab.keys.item(i).text() for i in range(panel.serve_tab.keys.count())] == [
        "(none yet: allow each peer's .pub file)"
    ]
    click(panel.serve_tab.serve_button)  # no key allowed: refused before the aggregator starts
    qtbot.waitUntil(lambda: not panel.running(), timeout=60_000)
    panel.refresh()
    assert panel.state.text() == (
        "The crowd stopped: no peer may join: put each peer's public key (from `atrap crowd "
        f"key` or the Crowd dock's Make a Key) in {tmp_path / 'crowd' / 'peers'}"
    )
    assert panel.serve_tab.serve_button.isEnabled()


def test_serving_and_joining_from_the_dock(
    make_window: Callable[..., MainWindow], arm_doc: GraphDocument, tmp_path: Path, qtbot: QtBot
) -> None:
    """Two editors on one machine: one serves the crowd, the other joins it as a peer — first
    with another crowd's certificate (told, nothing else happens), then with the right one."""
    graph = tmp_path / "small.yaml"
    save_graph(shrink(arm_doc), graph)
    serving, joining = make_window(), make_window()
    for window in (serving, joining):
        assert window.open_file(graph, ask=False)
    server, peer = serving.crowd_panel, joining.crowd_panel

    # the peer makes its key; the aggregator's owner allows its .pub file
    show_tab(peer, "Join")
    key = tmp_path / "ada.key"
    answer_file_dialog(key)
    click(peer.join_tab.make_key_button)
    qtbot.waitUntil(lambda: peer.join_tab.key.path() == key, timeout=10_000)
    assert peer.state.text().startswith(f"Made a key: keep {key} on this PC; send {key}.pub")
    show_tab(server, "Serve")
    answer_file_dialog(Path(f"{key}.pub"))
    click(server.serve_tab.allow_button)
    qtbot.waitUntil(lambda: server.serve_tab.keys.item(0).text() == "ada.key.pub", timeout=10_000)

    # the aggregator: 2 rounds of 5 updates, once 1 peer is there
    port = free_port()
    tab = server.serve_tab
    type_into(tab.port, str(port))
    type_into(tab.rounds, "2")
    type_into(tab.local_steps, "5")
    type_into(tab.min_peers, "1")
    click(tab.serve_button)
    qtbot.waitUntil(lambda: tab.info.text().startswith("Peers dial"), timeout=120_000)
    ca = tmp_path / "crowd" / "certs" / "ca.crt"
    assert str(ca) in tab.info.text() and "1 key(s) allowed" in tab.info.text()

    # joined with another crowd's certificate: told in words, the aggregator goes on
    other = make_certificates(tmp_path / "other-crowd")
    type_into(peer.join_tab.address, f"127.0.0.1:{port}")
    type_into(peer.join_tab.ca, str(other.ca))
    click(peer.join_tab.join_button)
    qtbot.waitUntil(lambda: not peer.running(), timeout=120_000)
    peer.refresh()
    assert peer.state.text() == (
        f"The peer stopped: 127.0.0.1:{port} is not the aggregator whose certificate "
        f"{other.ca} vouches for (certificate verify failed): ask its owner for the crowd's "
        "ca.crt, or check the address."
    )
    qtbot.waitUntil(lambda: "the crowd peer's log ends:" in joining.log_view.toPlainText())
    assert "CERTIFICATE_VERIFY_FAILED" in joining.log_view.toPlainText()  # Flower's own words
    assert server.running()

    type_into(peer.join_tab.ca, str(ca))
    click(peer.join_tab.join_button)
    qtbot.waitUntil(lambda: "online" in _items(tab.connected), timeout=120_000)
    assert _items(tab.connected).startswith("ada.key.pub (node ")  # which key, not a number
    qtbot.waitUntil(lambda: not server.running(), timeout=300_000)
    server.refresh()
    assert server.state.text() == "Finished 2 round(s).", server.state.text()
    assert server.table.rowCount() == 2
    aggregated = [server.table.item(row, 3).text() for row in range(2)]

    # the peer sees the merged network's score of each round, and uses the last one
    qtbot.waitUntil(lambda: peer.table.rowCount() == 2, timeout=120_000)
    qtbot.waitUntil(lambda: peer.state.text().startswith("Finished"), timeout=60_000)
    assert [peer.table.item(row, 3).text() for row in range(2)] == aggregated
    assert peer.table.horizontalHeaderItem(3).text() == server.table.horizontalHeaderItem(3).text()
    assert peer.running()  # still in the crowd, for its next run
    ARTIFACTS.mkdir(exist_ok=True)
    for panel, name in ((server, "serve"), (peer, "join")):
        panel.grab().save(str(ARTIFACTS / f"crowd-dock-{name}.png"))
    click(peer.use_button)
    brain = joining.editor.doc.node("brain")
    assert brain is not None and brain.type == "nn.load"
    assert brain.props["file"] == "crowd-peer/rounds/network.atrapnet"
    click(peer.stop_button)
    qtbot.waitUntil(lambda: not peer.running(), timeout=60_000)
    peer.refresh()
    assert peer.state.text() == "Left the crowd."


def _items(view: QtWidgets.QListWidget) -> str:
    return "\n".join(view.item(i).text() for i in range(view.count()))


def test_a_join_shows_only_its_own_crowd_and_stop_leaves_it(
    make_window: Callable[..., MainWindow], arm_doc: GraphDocument, tmp_path: Path, qtbot: QtBot
) -> None:
    """An earlier crowd's rounds left in the peer's folder are not shown as this one's; Stop
    leaves a crowd whose aggregator is not (yet) there."""
    graph = tmp_path / "small.yaml"
    save_graph(shrink(arm_doc), graph)
    window = make_window()
    assert window.open_file(graph, ask=False)
    panel = window.crowd_panel
    earlier = CrowdStatus(rounds_planned=3, state="finished", rounds=[RoundRecord(round=1)])
    (tmp_path / "crowd-peer" / "rounds").mkdir(parents=True)
    earlier.save(tmp_path / "crowd-peer" / "rounds")
    certs = make_certificates(tmp_path / "certs")
    new_peer_key(tmp_path / "ada.key")
    show_tab(panel, "Join")
    type_into(panel.join_tab.address, f"127.0.0.1:{free_port()}")  # nobody listens there
    type_into(panel.join_tab.ca, str(certs.ca))
    type_into(panel.join_tab.key, str(tmp_path / "ada.key"))
    type_into(panel.join_tab.regions, "4")
    type_into(panel.join_tab.region, "2")
    click(panel.join_tab.join_button)
    assert panel.running() and panel.table.rowCount() == 0
    qtbot.waitUntil(lambda: panel.state.text().startswith("Joined 127.0.0.1:"), timeout=60_000)
    log = tmp_path / "crowd-peer" / "logs" / "peer.log"
    qtbot.waitUntil(  # this peer's SuperNode trains region 2 of 4 (counted from 0 there)
        lambda: any(
            str(graph) in line and "region=1 regions=4" in line
            for line in _command_lines().splitlines()
        ),
        timeout=60_000,
    )
    click(panel.stop_button)
    qtbot.waitUntil(lambda: not panel.running(), timeout=60_000)
    panel.refresh()
    assert panel.state.text() == "Left the crowd."
    assert log.is_file() and panel.join_tab.join_button.isEnabled()


def _command_lines() -> str:
    """The command lines of this machine's processes (to see what a peer was started with)."""
    import os

    lines = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            lines.append(Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, UnicodeDecodeError):
            continue
    return "\n".join(lines)
