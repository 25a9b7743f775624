"""The Crowd dock: a local crowd started from the editor, its rounds shown, its network used."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytestqt.qtbot import QtBot

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.yaml_io import save_graph
from atrap_studio.crowd.status import CrowdStatus, RoundRecord
from atrap_studio.ui.main_window import MainWindow
from tests.conftest import shrink


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
