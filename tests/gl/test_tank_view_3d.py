"""The tank arena in 3-D: the Scene dock's switch shows both tanks, the pillars and, on
demand, the agent's or both tanks' camera rays, drawn with OpenGL from a real arena's
snapshot."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PySide6 import QtCore
from pytestqt.qtbot import QtBot

from atrap_studio.nodes.scenes.tanks.arena import TankArena
from atrap_studio.runtime.context import Command
from atrap_studio.ui.views.scenes.tank_arena import TankArenaView
from atrap_studio.ui.views.tank_gl import between
from tests.gl.conftest import rgba


def _snapshot():
    arena = TankArena(
        instances=1, map_name="pillars", opponent="idle", generator=torch.Generator().manual_seed(0)
    )
    arena.position[0] = torch.tensor([[-5.0, 0.0], [5.0, 0.5]])
    arena.heading[0] = torch.tensor([0.0, math.pi])
    return arena.snapshot([0])


def _share(pixels: np.ndarray, colour: tuple[int, int, int]) -> float:
    """Share of pixels whose hue is near ``colour`` (shading changes brightness, not hue)."""
    rgb = pixels[..., :3].astype(float)
    target = np.array(colour, float)
    cos = (rgb @ target) / (np.linalg.norm(rgb, axis=-1) * np.linalg.norm(target) + 1e-9)
    return float(((cos > 0.985) & (rgb.sum(-1) > 120)).mean())


def test_the_3d_switch_draws_both_tanks_and_the_rays_on_demand(
    qtbot: QtBot, artifacts: Path
) -> None:
    view = TankArenaView()
    qtbot.addWidget(view)
    view.resize(700, 560)
    view.show()
    qtbot.waitExposed(view)
    view.show_snapshot(3, _snapshot())
    view.three_d.setChecked(True)
    assert view.gl is not None
    qtbot.waitUntil(view.gl.isValid)
    with_rays = rgba(view.render_image(640, 480))
    assert len(np.unique(with_rays.reshape(-1, 4), axis=0)) > 50, "the frame is blank"
    view.gl.render_image(640, 480).save(str(artifacts / "tank-view-3d.png"))
    assert _share(with_rays, (90, 170, 255)) > 0.0003, "the agent's blue tank is not drawn"
    assert _share(with_rays, (235, 90, 70)) > 0.0003, "the enemy's red tank is not drawn"
    view.rays.setCurrentIndex(view.rays.findData("none"))
    without = rgba(view.render_image(640, 480))
    assert (with_rays != without).any(axis=-1).mean() > 0.002, "hiding the rays changed nothing"
    view.rays.setCurrentIndex(view.rays.findData("both"))
    both = rgba(view.render_image(640, 480))
    assert (both != with_rays).any(axis=-1).mean() > 0.002, "the enemy's rays are not drawn"
    view.three_d.setChecked(False)
    assert view.stack.currentWidget() is view.top_down
    # deleted now: a GL window container left to QApplication's destructor crashes it
    view.close()
    view.deleteLater()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)


def _recorded_steps(count: int):
    """A snapshot of a fight whose watched arena carries ``count`` steps to play."""
    arena = TankArena(
        instances=2,
        map_name="pillars",
        opponent="wanderer",
        generator=torch.Generator().manual_seed(1),
    )
    arena.snapshot([0])  # the views ask: from now on arena 0's steps are kept
    controls = torch.tensor([[1.0, 0.5, 1.0], [0.0, 0.0, -1.0]])
    for _ in range(count):
        arena.begin_step()
        arena.apply([Command("tank_controls", controls)])
    return arena.snapshot([0])


def test_the_3d_view_plays_a_snapshots_steps_frame_by_frame(qtbot: QtBot) -> None:
    snap = _recorded_steps(20)
    assert snap.recent is not None and len(snap.recent.steps) == 20
    view = TankArenaView()
    qtbot.addWidget(view)
    view.resize(500, 400)
    view.show()
    qtbot.waitExposed(view)
    view.three_d.setChecked(True)
    assert view.gl is not None
    gl = view.gl
    qtbot.waitUntil(gl.isValid)
    frames = []
    gl.frameSwapped.connect(lambda: frames.append(gl.steps_shown))
    view.show_snapshot(20, snap)
    qtbot.waitUntil(lambda: gl.steps_shown == 19, timeout=20_000)  # each step after the first
    qtbot.wait(200)
    # more frames than steps: between two steps the view draws frames part of the way
    assert len(frames) > 19 and frames == sorted(frames)
    assert len(set(frames)) > 10
    view.three_d.setChecked(False)
    view.close()
    view.deleteLater()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)


def test_a_frame_between_two_steps_is_part_of_the_way_but_never_across_a_new_fight() -> None:
    steps = _recorded_steps(3).recent
    assert steps is not None
    first, second = steps.row(1), steps.row(2)
    middle = between(first, second, 0.25)
    np.testing.assert_allclose(
        middle.position, first.position + (second.position - first.position) * 0.25, rtol=1e-6
    )
    assert np.all(np.abs(middle.heading - first.heading) <= np.abs(second.heading - first.heading))
    assert middle.ray_depth is first.ray_depth and between(first, second, 0.75).ray_depth is (
        second.ray_depth
    )
    new_fight = replace(second, steps=np.zeros_like(second.steps))
    assert between(first, new_fight, 0.25) is first and between(first, new_fight, 0.6) is new_fight
