"""Where the docks go at first start (and on View → Reset Window Layout).

The canvas is where the work is, so it gets most of the window (at 1600×1000, over 55%): no
dock sits above or below it. The left column holds the palette over the Problems and the Log
(tabs); the right column holds the Properties over the run's views (Scene, Neurons, Curves,
Crowd as tabs). Every dock can be made small (the tall ones scroll), moved or closed, and a
person's own layout is kept (the window saves it on close).
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

Area = QtCore.Qt.DockWidgetArea

#: Each side's places from top to bottom; the docks of one place are tabs, the first in front.
PLACES: dict[Area, list[list[str]]] = {
    Area.LeftDockWidgetArea: [["Palette"], ["Problems", "Log"]],
    Area.RightDockWidgetArea: [["Properties"], ["Scene", "Neurons", "Curves", "Crowd"]],
}
#: Default widths of the side columns (pixels) and the share of each column's top place.
LEFT_WIDTH, RIGHT_WIDTH, PALETTE_SHARE, PROPERTIES_SHARE = 250, 340, 0.6, 0.5


def area_of(title: str) -> Area:
    """The side a dock starts on."""
    return next(area for area, groups in PLACES.items() for g in groups if title in g)


def place_docks(window: QtWidgets.QMainWindow, docks: dict[str, QtWidgets.QDockWidget]) -> None:
    """Tab the docks that share a place and bring the first of each to the front."""
    for groups in PLACES.values():
        for group in groups:
            for title in group[1:]:
                window.tabifyDockWidget(docks[group[0]], docks[title])
            docks[group[0]].raise_()


def default_sizes(window: QtWidgets.QMainWindow, docks: dict[str, QtWidgets.QDockWidget]) -> None:
    """Size the columns and their places (once the window has its size)."""
    horizontal, vertical = QtCore.Qt.Orientation.Horizontal, QtCore.Qt.Orientation.Vertical
    window.resizeDocks(
        [docks["Palette"], docks["Properties"]], [LEFT_WIDTH, RIGHT_WIDTH], horizontal
    )
    for top, bottom, share in (
        ("Palette", "Problems", PALETTE_SHARE),
        ("Properties", "Scene", PROPERTIES_SHARE),
    ):
        column = docks[top].height() + docks[bottom].height()
        window.resizeDocks(
            [docks[top], docks[bottom]],
            [int(column * share), column - int(column * share)],
            vertical,
        )


def shrinkable(widget: QtWidgets.QWidget) -> QtWidgets.QScrollArea:
    """``widget`` in a scroll area, so that its dock can be made smaller than its content."""
    area = QtWidgets.QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
    area.setWidget(widget)
    return area
