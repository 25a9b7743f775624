"""The canvas draws the document: generated node classes, pipes, blocks, missing types, badges."""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtTest import QTest

from atrap_studio.core.document import Endpoint, GraphDocument, NodeDoc
from atrap_studio.core.registry import Registry
from atrap_studio.ui.canvas import Canvas
from atrap_studio.ui.main_window import MainWindow
from atrap_studio.ui.node_types import PORT_COLOURS, SpecNode, node_classes


def drawn_links(canvas: Canvas) -> set[tuple[str, str]]:
    """The pipes on screen, as (output, input) port names with their node's view key."""
    keys = {node.id: key for key, node in canvas._views.items()}
    pipes = set()
    for item in canvas.viewer().scene().items():
        if type(item).__name__ == "PipeItem" and item.input_port and item.output_port:
            out, into = item.output_port, item.input_port
            pipes.add((f"{keys[out.node.id]}.{out.name}", f"{keys[into.node.id]}.{into.name}"))
    return pipes


def test_one_generated_class_per_spec_with_typed_coloured_ports(
    registry: Registry, qtbot: Any
) -> None:
    classes = node_classes(registry)
    assert set(classes) == {spec.type for spec in registry}
    for type_id, cls in classes.items():
        assert issubclass(cls, SpecNode) and cls.SPEC is registry.get(type_id)
    node = classes["nn.factory"]()
    state = node.inputs()["state"]
    assert state.multi_connection() is True  # several sensors concatenate into it
    assert tuple(state.color)[:3] == PORT_COLOURS["Vector"]
    assert tuple(node.outputs()["network"].color)[:3] == PORT_COLOURS["Network"]
    assert "several links" in state.view.toolTip()


def test_the_canvas_draws_every_node_and_link(window: MainWindow, arm_doc: GraphDocument) -> None:
    canvas = window.canvas
    assert set(canvas._views) == {n.id for n in arm_doc.nodes}
    assert drawn_links(canvas) == {tuple(lk.to_pair()) for lk in arm_doc.links}
    assert canvas.positions()["brain"] == (600.0, 0.0)
    assert canvas.undo_stack().count() == 0, "NodeGraphQt's own undo stack is never used"


def test_a_collapsed_block_is_one_box_with_the_crossing_ports(window: MainWindow) -> None:
    editor, canvas = window.editor, window.canvas
    block = editor.group(["q", "goal"], "Sensors")
    assert block is not None
    assert f"frame:{block}" in canvas._views  # an open block: a frame behind its members
    editor.set_collapsed(block, True)
    box = canvas.view_item(f"block:{block}")
    assert "q" not in canvas._views and "goal" not in canvas._views
    assert [p.name() for p in box.input_ports()] == ["Joint angles", "Target position"]
    assert [p.name() for p in box.output_ports()] == ["Joint angles", "Target position"]
    key = f"block:{block}"
    assert drawn_links(canvas) >= {
        ("arm.scene", f"{key}.Joint angles"),
        (f"{key}.Joint angles", "brain.state"),
    }
    editor.undo_stack.undo()
    editor.undo_stack.undo()
    assert set(canvas._views) == {n.id for n in editor.doc.nodes}
    assert canvas.undo_stack().count() == 0


def test_unknown_node_types_are_shown_as_missing_with_their_links(
    make_window: Any, tmp_path: Any
) -> None:
    path = tmp_path / "newer.yaml"
    path.write_text(
        "format: atrap-graph\nschema_version: 1\nname: From a newer version\n"
        "nodes:\n  - id: arm\n    type: scene.robot_arm\n"
        "  - id: lidar\n    type: sensor.lidar_3d\n    props: {rays: 64, fov: 90.5}\n"
        "links:\n  - [arm.scene, lidar.scene]\n",
        encoding="utf-8",
    )
    window = make_window()
    assert window.open_file(path, ask=False)
    node = window.canvas.view_item("lidar")
    assert "missing: sensor.lidar_3d" in node.name()
    assert [p.name() for p in node.input_ports()] == ["scene"]
    assert drawn_links(window.canvas) == {("arm.scene", "lidar.scene")}
    issues = window.editor.analysis.issues
    assert any(i.code == "type.unknown" and i.node == "lidar" for i in issues)
    text = path.read_text(encoding="utf-8")
    assert window.save_to(path)
    assert path.read_text(encoding="utf-8") == text


def test_badges_appear_on_nodes_with_problems_and_clear(window: MainWindow, qtbot: Any) -> None:
    canvas, editor = window.canvas, window.editor
    assert canvas.badge_of("teach") is None
    editor.unlink("near.reward", "teach.reward")
    qtbot.waitUntil(lambda: canvas.badge_of("teach") is not None, timeout=3000)
    badge = canvas.badge_of("teach")
    assert badge is not None and badge.data(0) == "error"
    assert "reward" in badge.toolTip()
    editor.rename("goal", "Eyes")
    editor.rename("q", "Eyes")  # a name another node has: a warning
    qtbot.waitUntil(lambda: canvas.badge_of("q") is not None, timeout=3000)
    assert canvas.badge_of("q").data(0) == "warning"  # type: ignore[union-attr]
    for _ in range(3):
        editor.undo_stack.undo()
    qtbot.waitUntil(
        lambda: canvas.badge_of("teach") is None and canvas.badge_of("q") is None, timeout=3000
    )


def _port_point(window: MainWindow, end: str, direction: str) -> QtCore.QPoint:
    port = window.canvas.port_item(Endpoint.parse(end), direction)
    assert port is not None, end
    item = port.view
    return window.canvas.viewer().mapFromScene(item.mapToScene(item.boundingRect().center()))


def drag(window: MainWindow, start: QtCore.QPoint, end: QtCore.QPoint) -> None:
    viewport = window.canvas.viewer().viewport()
    left, none = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier
    QTest.mousePress(viewport, left, none, start)
    for step in range(1, 6):
        QTest.mouseMove(viewport, start + (end - start) * (step / 5))
    QTest.mouseRelease(viewport, left, none, end)


def test_dragging_between_ports_links_them(window: MainWindow) -> None:
    editor = window.editor
    editor.unlink("near.reward", "teach.reward")
    window.canvas.frame_ids(None)
    QtWidgets.QApplication.processEvents()
    steps = editor.undo_stack.count()
    drag(
        window, _port_point(window, "near.reward", "out"), _port_point(window, "teach.reward", "in")
    )
    assert [lk.to_pair() for lk in editor.doc.links if lk.dst.node == "teach"] == [
        ["brain.network", "teach.network"],
        ["near.reward", "teach.reward"],
    ]
    assert editor.undo_stack.count() == steps + 1
    assert ("near.reward", "teach.reward") in drawn_links(window.canvas)


def test_a_drag_between_incompatible_ports_is_refused_with_the_reason(window: MainWindow) -> None:
    editor = window.editor
    window.canvas.frame_ids(None)
    QtWidgets.QApplication.processEvents()
    before = editor.doc
    drag(
        window, _port_point(window, "arm.scene", "out"), _port_point(window, "teach.network", "in")
    )
    assert editor.doc == before
    said = window.status_message.text()
    assert "Robot arm · scene → Direct trainer · network: a Scene cannot feed" in said
    assert "arm.scene" not in said and "teach" not in said  # names, not ids
    assert drawn_links(window.canvas) == {tuple(lk.to_pair()) for lk in before.links}


def test_dropping_a_palette_entry_adds_that_node(window: MainWindow) -> None:
    palette = window.node_palette
    item = palette.tree.findItems("Reached", QtCore.Qt.MatchFlag.MatchRecursive)[0]
    mime = palette.tree.mimeData([item])
    viewer = window.canvas.viewer()
    where = QtCore.QPointF(300, 200)
    event = QtGui.QDropEvent(
        where,
        QtCore.Qt.DropAction.CopyAction,
        mime,
        QtCore.Qt.MouseButton.LeftButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    viewer.dropEvent(event)
    added = window.editor.doc.nodes[-1]
    assert added.type == "reward.reached" and added.name == "Reached"
    scene_pos = viewer.mapToScene(where.toPoint())
    assert added.pos == (float(int(scene_pos.x())), float(int(scene_pos.y())))
    assert window.canvas.selected_ids() == [added.id]
    assert window.properties.node_id == added.id


def test_the_palette_search_filters_and_enter_adds(window: MainWindow) -> None:
    palette = window.node_palette
    QTest.keyClicks(palette.search, "proximal")  # in PPO's help ("ppo" is in others too)
    assert palette.visible_types() == ["trainer.ppo"]
    QTest.keyClick(palette.search, QtCore.Qt.Key.Key_Return)
    assert window.editor.doc.nodes[-1].type == "trainer.ppo"
    palette.search.clear()
    assert len(palette.visible_types()) == len(window.registry)


def test_moving_a_node_on_the_canvas_is_one_undo_step(window: MainWindow) -> None:
    canvas, editor = window.canvas, window.editor
    canvas.frame_ids(None)
    QtWidgets.QApplication.processEvents()
    node = canvas.view_item("near")
    title = node.view.mapToScene(QtCore.QPointF(node.view.boundingRect().width() / 2, 8))
    start = canvas.viewer().mapFromScene(title)
    steps = editor.undo_stack.count()
    drag(window, start, start + QtCore.QPoint(60, 40))
    moved = editor.doc.node("near")
    assert moved is not None and moved.pos is not None and moved.pos != (300.0, 260.0)
    assert editor.undo_stack.count() == steps + 1
    editor.undo_stack.undo()
    assert editor.doc.node("near").pos == (300.0, 260.0)  # type: ignore[union-attr]
    assert tuple(canvas.view_item("near").pos()) == (300.0, 260.0)


def test_missing_node_doc_is_kept_in_a_new_document(registry: Registry, qtbot: Any) -> None:
    canvas = Canvas(registry)
    doc = GraphDocument(nodes=[NodeDoc(id="x", type="future.thing", props={"a": [1, 2]})])
    canvas.show_document(doc)
    assert "missing: future.thing" in canvas.view_item("x").name()


def test_double_clicking_a_blocks_frame_closes_it_and_its_box_opens_it(
    window: MainWindow, qtbot: Any
) -> None:
    editor, canvas = window.editor, window.canvas
    block = editor.group(["q", "goal"], "Sensors")
    assert block is not None
    canvas.frame_ids(None)
    QtWidgets.QApplication.processEvents()
    viewer = canvas.viewer()
    left, none = QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier
    frame = canvas.view_item(f"frame:{block}").view.sceneBoundingRect()
    title = viewer.mapFromScene(QtCore.QPointF(frame.center().x(), frame.top() + 10))
    QTest.mouseDClick(viewer.viewport(), left, none, title)  # a traceback here fails the test
    qtbot.waitUntil(lambda: editor.doc.block(block).collapsed)  # type: ignore[union-attr]
    box = canvas.view_item(f"block:{block}").view
    QtWidgets.QApplication.processEvents()
    centre = viewer.mapFromScene(box.mapToScene(box.boundingRect().center()))
    QTest.mouseDClick(viewer.viewport(), left, none, centre)
    qtbot.waitUntil(lambda: not editor.doc.block(block).collapsed)  # type: ignore[union-attr]
    assert "q" in canvas._views and "goal" in canvas._views


def _overlapping(canvas: Canvas) -> list[tuple[str, str]]:
    boxes = {k: v.view.sceneBoundingRect() for k, v in canvas._views.items() if ":" not in k}
    boxes |= {k: v.view.sceneBoundingRect() for k, v in canvas._views.items() if "block:" in k}
    keys = sorted(boxes)
    return [
        (a, b) for i, a in enumerate(keys) for b in keys[i + 1 :] if boxes[a].intersects(boxes[b])
    ]


def test_a_closed_block_speaks_in_node_names_and_auto_layout_gives_it_room(
    window: MainWindow, qtbot: Any
) -> None:
    editor, canvas = window.editor, window.canvas
    block = editor.group(["q", "goal", "near"], "Sensors")
    assert block is not None and editor.set_collapsed(block, True)
    box = canvas.view_item(f"block:{block}")
    assert [p.name() for p in box.input_ports()] == [
        "Joint angles",
        "Target position",
        "Distance to target",
    ]
    assert [p.name() for p in box.output_ports()] == ["Joint angles", "Target position", "reward"]
    editor.ungroup(block)
    block = editor.group(["goal", "near"], "Sensors")
    assert block is not None and editor.set_collapsed(block, True)
    editor.move({block: (300.0, -40.0)})  # dragged onto the joint angles node
    assert ("block:" + block, "q") in _overlapping(canvas)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    viewer = canvas.viewer()
    viewer.setFocus()
    QTest.keyClick(viewer, QtCore.Qt.Key.Key_L, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert editor.undo_stack.undoText() == "Auto-layout"
    assert _overlapping(canvas) == []
    assert editor.set_collapsed(block, False)
    assert ("near", "teach") in {(lk.src.node, lk.dst.node) for lk in editor.doc.links}
