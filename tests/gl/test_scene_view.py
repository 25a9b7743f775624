"""The scene view draws the arm from snapshots and lets the user move the target."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from pytestqt.qtbot import QtBot

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.ui.views.scene_view import QtSceneView
from tests.conftest import shrink
from tests.gl.conftest import rgba
from tests.ui.test_arm_picture import blue_pixels


def make_view(qtbot: QtBot) -> QtSceneView:
    view = QtSceneView()
    qtbot.addWidget(view)
    view.resize(640, 480)
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(view.gl.isValid)  # the GL window gets its context once it is exposed
    return view


def test_the_arm_is_drawn_and_the_target_turns_green_on_success(
    qtbot: QtBot, small_doc: GraphDocument, registry: Registry, artifacts: Path
) -> None:
    pipeline = Pipeline(small_doc, registry)
    view = make_view(qtbot)
    view.set_instance_count(128)
    view.ghosts.setValue(2)
    snap = pipeline.snapshot(view.wanted_instances())["scene"]
    assert snap.instances.tolist() == [0, 1, 2]
    view.show_snapshot(7, snap)
    image = view.render_image(640, 480)
    pixels = rgba(image)
    assert len(np.unique(pixels.reshape(-1, 4), axis=0)) > 50, "the frame is blank"
    image.save(str(artifacts / "scene-view.png"))
    assert "update 7" in view.status.text()
    reached = pipeline.scene
    reached.target[0] = reached.effector[0].detach()  # the tip is on the target: success
    view.show_snapshot(8, pipeline.snapshot([0])["scene"])
    after = rgba(view.render_image(640, 480))

    def greenish(p: np.ndarray) -> np.ndarray:
        r, g, b = (p[..., i].astype(int) for i in range(3))
        return (g > r + 60) & (g > b + 40)

    green, green_after = greenish(pixels), greenish(after)
    assert green_after.sum() > green.sum() + 20, "the target did not turn green"
    assert "reached" in view.status.text()


def test_ctrl_drag_projection_round_trips_and_moving_the_target_is_announced(
    qtbot: QtBot, small_doc: GraphDocument, registry: Registry
) -> None:
    pipeline = Pipeline(small_doc, registry)
    view = make_view(qtbot)
    snap = pipeline.snapshot([0])["scene"]
    view.show_snapshot(0, snap)
    target = snap.target[0].astype(float)
    pixel = view.gl.project(target)
    np.testing.assert_allclose(
        view.gl.unproject_on_target_plane(pixel.x(), pixel.y()), target, atol=1e-4
    )
    view.hold_after_s = 0.2
    with qtbot.waitSignal(view.target_held) as held:
        view.move_target([0.2, 0.1, 0.3])
    instance, point = held.args
    assert instance == 0 and view.held == 0
    np.testing.assert_allclose(point, [0.2, 0.1, 0.3])
    with qtbot.waitSignal(view.target_released) as released:  # the hold's time is up
        pass
    assert released.args == [0] and view.held is None


def test_choosing_instances_asks_for_them(qtbot: QtBot) -> None:
    view = make_view(qtbot)
    view.set_instance_count(10)
    with qtbot.waitSignal(view.instances_changed) as changed:
        view.instance.setValue(4)
    assert changed.args[0] == [4]
    with qtbot.waitSignal(view.instances_changed) as changed:
        view.ghosts.setValue(2)
    assert changed.args[0] == [4, 5, 6]


def test_a_pose_target_shows_its_frame_and_the_turn_left(
    qtbot: QtBot, registry: Registry, artifacts: Path
) -> None:
    doc = shrink(load_graph(example_path("robot_arm_pose")))
    snap = Pipeline(doc, registry).snapshot([0])["scene"]
    view = make_view(qtbot)
    view.show_snapshot(1, dataclasses.replace(snap, target_rotation=None, tip_rotation=None))
    plain = blue_pixels(view.render_image(640, 480))
    view.show_snapshot(2, snap)
    image = view.render_image(640, 480)
    image.save(str(artifacts / "scene-view-pose.png"))
    assert blue_pixels(image) > plain + 30, "no z axis drawn at the target or the tip"
    assert f"{snap.error_deg[0]:.1f}° from the target" in view.status.text()
    view.move_target([0.1, 0.1, 0.4])  # a carried target keeps its orientation
    assert view._target_axes.visible()
    np.testing.assert_allclose(view._target_axes.pos[0], [0.1, 0.1, 0.4])
