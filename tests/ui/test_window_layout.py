"""The default layout leaves the canvas most of the window, and docks can be made small."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore
from pytestqt.qtbot import QtBot

from atrap_studio.core.events import Event
from atrap_studio.examples import example_path
from atrap_studio.ui.main_window import MainWindow

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_the_default_layout_at_1600x1000_gives_the_canvas_over_55_percent(
    make_window: Callable[..., MainWindow], qtbot: QtBot
) -> None:
    window = make_window()
    window.resize(1600, 1000)  # before the first start's dock sizes are applied
    assert window.open_file(example_path("robot_arm_reach"), ask=False)
    canvas = window.canvas.widget
    # The sizes are applied on the first turn of the event loop, which can come late while the
    # previous tests' windows are still being deleted: wait for the turn, not a fixed time.
    qtbot.waitUntil(lambda: canvas.width() * canvas.height() >= 0.55 * 1600 * 1000, timeout=3000)
    window.canvas.frame_ids(None)
    shot = window.grab()
    ARTIFACTS.mkdir(exist_ok=True)
    shot.save(str(ARTIFACTS / "editor-default-layout-1600x1000.png"))
    assert (shot.width(), shot.height()) == (1600, 1000)
    where = QtCore.QRect(canvas.mapTo(window, QtCore.QPoint(0, 0)), canvas.size())
    share = where.width() * where.height() / (1600 * 1000)
    assert share >= 0.55, f"the canvas has {share:.0%} of the window"
    assert where.height() >= 0.85 * 1000, "no dock sits above or below the canvas"
    # the canvas is what the picture shows there: its dark background, not a dock's
    centre = shot.toImage().pixelColor(where.center())
    assert centre.lightness() < 60
    properties = window.docks["Properties"]
    assert properties.isVisible() and properties.height() >= 300, "room for a node's properties"
    for title in ("Palette", "Problems", "Scene"):
        assert not window.docks[title].visibleRegion().isEmpty(), f"{title} is on screen"


def test_the_curves_dock_shrinks_after_it_has_shown_a_run(
    make_window: Callable[..., MainWindow], qtbot: QtBot
) -> None:
    window = make_window()
    window.resize(1600, 1000)
    dock = window.docks["Curves"]
    window.addDockWidget(QtCore.Qt.DockWidgetArea.BottomDockWidgetArea, dock)  # moved under
    dock.raise_()
    metrics = {
        "loss/total": 1.0,
        "reward/near": -0.5,
        "eval/success_rate": 0.1,
        "eval/error_mm": 40.0,
        "explore/random_share": 0.5,
        "policy/entropy": 1.2,
        "perf/updates_per_s": 30.0,
        "lr": 0.001,
    }
    window.curves.on_event(Event("started", 0, {"steps": 100}))
    for step in range(1, 6):
        window.curves.on_event(Event("step", step, {"metrics": metrics}))
    window.curves.redraw()
    qtbot.waitUntil(lambda: len(window.curves.plots()) >= 6)
    qtbot.wait(50)
    window.resizeDocks([dock], [140], QtCore.Qt.Orientation.Vertical)
    qtbot.wait(50)
    assert dock.height() <= 160, f"the Curves dock stays {dock.height()} px tall"
