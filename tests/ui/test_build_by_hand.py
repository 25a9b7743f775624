"""A person builds the arm pipeline from the palette with the mouse, runs nothing by text.

Nodes are dropped from the palette, links dragged between ports, properties set in the panel,
mistakes read from the badges; the result validates, saves and matches the shipped example.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.validation import validate
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.ui.main_window import MainWindow
from tests.ui.test_canvas import _port_point, drag
from tests.ui.test_editor import ARM_LINKS

PLACES = {  # palette entry -> where it is dropped (viewport pixels)
    ("Scenes", "Robot arm"): (60, 200),
    ("Sensors", "Joint angles"): (260, 80),
    ("Sensors", "Target position"): (260, 320),
    ("Networks", "NN Factory"): (460, 200),
    ("Actions", "Joint targets"): (660, 80),
    ("Rewards", "Distance to target"): (260, 480),
    ("Trainers", "Direct trainer"): (660, 400),
}


def drop_from_palette(window: MainWindow, group: str, title: str, at: tuple[int, int]) -> str:
    tree = window.node_palette.tree
    parent = tree.findItems(group, QtCore.Qt.MatchFlag.MatchExactly)[0]
    item = next(
        parent.child(i) for i in range(parent.childCount()) if parent.child(i).text(0) == title
    )
    mime = tree.mimeData([item])  # kept referenced: the event does not own it
    event = QtGui.QDropEvent(
        QtCore.QPointF(*at),
        QtCore.Qt.DropAction.CopyAction,
        mime,
        QtCore.Qt.MouseButton.LeftButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    window.canvas.viewer().dropEvent(event)
    return window.editor.doc.nodes[-1].id


def test_build_the_arm_pipeline_with_the_mouse(
    make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path, arm_doc: GraphDocument
) -> None:
    window = make_window()
    assert window.new_graph()
    window.canvas.viewer().reset_zoom()
    ids = {}
    for (group, title), at in PLACES.items():
        ids[title] = drop_from_palette(window, group, title, at)
    role = {
        "arm": ids["Robot arm"], "q": ids["Joint angles"], "goal": ids["Target position"],
        "brain": ids["NN Factory"], "move": ids["Joint targets"],
        "near": ids["Distance to target"], "teach": ids["Direct trainer"],
    }  # fmt: skip
    QtWidgets.QApplication.processEvents()
    qtbot.waitUntil(lambda: window.canvas.badge_of(role["teach"]) is not None)
    assert window.canvas.badge_of(role["teach"]).data(0) == "error"  # type: ignore[union-attr]

    for src, dst in ARM_LINKS:
        (a, out), (b, into) = src.split("."), dst.split(".")
        start = _port_point(window, f"{role[a]}.{out}", "out")
        drag(window, start, _port_point(window, f"{role[b]}.{into}", "in"))
    assert len(window.editor.doc.links) == len(ARM_LINKS), window.status_message.text()

    window.canvas.select_ids([role["near"]])  # the one setting the palette cannot guess
    shape = window.properties.widgets["shape"]
    assert isinstance(shape, QtWidgets.QComboBox)
    shape.setCurrentText("huber")
    scale = window.properties.widgets["scale_mm"]
    assert isinstance(scale, QtWidgets.QDoubleSpinBox)
    scale.selectAll()
    QTest.keyClicks(scale, "10")
    QTest.keyClick(scale, QtCore.Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.acts["run"].isEnabled())
    qtbot.waitUntil(lambda: window.canvas.badge_of(role["teach"]) is None)
    assert validate(window.editor.doc, window.registry) == []

    path = tmp_path / "by-hand.yaml"
    assert window.save_to(path)
    saved = load_graph(path)
    assert sorted(n.type for n in saved.nodes) == sorted(n.type for n in arm_doc.nodes)
    rename = {v: k for k, v in role.items()}
    assert sorted(
        [f"{rename[lk.src.node]}.{lk.src.port}", f"{rename[lk.dst.node]}.{lk.dst.port}"]
        for lk in saved.links
    ) == sorted(lk.to_pair() for lk in arm_doc.links)
    example = load_graph(example_path("robot_arm_reach"))
    for node in example.nodes:  # every setting the example ships, as the file has it
        built = saved.node(role[node.id])
        assert built is not None
        assert {k: built.props.get(k) for k in node.props} == node.props, node.id


def test_tab_opens_the_add_node_search_at_the_canvas(window: MainWindow, qtbot: QtBot) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    viewer = window.canvas.viewer()
    viewer.setFocus()
    QTest.keyClick(viewer, QtCore.Qt.Key.Key_Tab)
    popup = window.quick_add
    assert popup.isVisible() and popup.search.hasFocus()
    QTest.keyClicks(popup.search, "reach")
    assert popup.visible_types() == ["action.ik_reach", "reward.reached"]
    QTest.keyClicks(popup.search, "ed")
    assert popup.visible_types() == ["reward.reached"]
    count = len(window.editor.doc.nodes)
    QTest.keyClick(popup.search, QtCore.Qt.Key.Key_Return)
    assert not popup.isVisible()
    assert len(window.editor.doc.nodes) == count + 1
    assert window.editor.doc.nodes[-1].type == "reward.reached"
    QTest.keyClick(viewer, QtCore.Qt.Key.Key_Tab)
    QTest.keyClick(popup.search, QtCore.Qt.Key.Key_Escape)
    assert not popup.isVisible() and len(window.editor.doc.nodes) == count + 1


def test_after_adding_with_tab_the_canvas_keeps_the_keyboard_and_the_cursor_decides_where(
    window: MainWindow, qtbot: QtBot
) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    viewer = window.canvas.viewer()
    viewer.setFocus()
    popup = window.quick_add
    added: list[tuple[float, float]] = []
    for at in (QtCore.QPoint(200, 150), QtCore.QPoint(420, 330)):
        QtGui.QCursor.setPos(viewer.mapToGlobal(at))
        QTest.keyClick(QtWidgets.QApplication.focusWidget(), QtCore.Qt.Key.Key_Tab)
        assert popup.isVisible(), "Tab where the keyboard is opens the add-node box"
        QTest.keyClicks(popup.search, "reached")
        QTest.keyClick(popup.search, QtCore.Qt.Key.Key_Return)
        assert QtWidgets.QApplication.focusWidget() is viewer, "the canvas keeps the keyboard"
        node = window.editor.doc.nodes[-1]
        assert node.type == "reward.reached" and node.pos is not None
        added.append(node.pos)
        where = viewer.mapToScene(at)
        assert abs(node.pos[0] - where.x()) <= 1 and abs(node.pos[1] - where.y()) <= 1
    assert added[0] != added[1]
