"""The default layout leaves the canvas most of the window, and docks can be made small."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore
from pytestqt.qtbot import QtBot

from atrap_studio.examples import example_path
from atrap_studio.ui.main_window import MainWindow

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_the_default_layout_at_1600x1000_gives_the_canvas_over_55_percent(
    make_window: Callable[..., MainWindow], qtbot: QtBot
) -> None:
    window = make_window()
    window.resize(1600, 1000)  # before the first start's dock sizes are applied
    assert window.open_file(example_path("robot_arm_reach"), ask=False)
    qtbot.wait(50)
    window.canvas.frame_ids(None)
    shot = window.grab()
    ARTIFACTS.mkdir(exist_ok=True)
    shot.save(str(ARTIFACTS / "editor-default-layout-1600x1000.png"))
    assert (shot.width(), shot.height()) == (1600, 1000)
    canvas = window.canvas.widget
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
