"""A node fresh from the palette carries the shipped arm examples' tuned settings (issue 12).

The quick-start builds the arm example's pipeline from the palette; if the palette's NN Factory
or trainers differed from the example (size, activation, learning rate, budget), the same
pipeline built by hand would learn worse than the example it copies.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest

from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.ui.main_window import MainWindow
from atrap_studio.ui.properties import ListEditor
from tests.ui.test_build_by_hand import drop_from_palette

#: palette entry -> (example, node id) whose settings are the good ones for a newcomer. The PPO
#: example's network ([128, 128]) is not among them: the direct example's 3 x 128 is the default.
CASES = {
    ("Networks", "NN Factory"): ("robot_arm_reach", "brain"),
    ("Trainers", "Direct trainer"): ("robot_arm_reach", "teach"),
    ("Trainers", "PPO trainer"): ("robot_arm_reach_ppo", "teach"),
}


def shown(widget: QtWidgets.QWidget) -> Any:
    """The value a Properties field shows, as a person reads it."""
    if isinstance(widget, ListEditor):
        return widget.value()
    if isinstance(widget, QtWidgets.QDoubleSpinBox):
        return round(widget.value(), widget.decimals())
    if isinstance(widget, QtWidgets.QSpinBox):
        return widget.value()
    if isinstance(widget, QtWidgets.QComboBox):
        return widget.currentText()
    if isinstance(widget, QtWidgets.QCheckBox):
        return widget.isChecked()
    assert isinstance(widget, QtWidgets.QLineEdit), widget
    return widget.text()


@pytest.mark.parametrize("entry", list(CASES), ids=[title for _, title in CASES])
def test_a_fresh_node_from_the_palette_shows_the_examples_settings(
    make_window: Callable[..., MainWindow], entry: tuple[str, str]
) -> None:
    window = make_window()
    assert window.new_graph()
    node_id = drop_from_palette(window, *entry, (300, 200))
    QtWidgets.QApplication.processEvents()
    item = window.canvas.view_item(node_id).view
    viewer = window.canvas.viewer()
    title = item.mapToScene(item.boundingRect().center().x(), 8.0)
    QTest.mouseClick(
        viewer.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=viewer.mapFromScene(title)
    )
    assert window.canvas.selected_ids() == [node_id]
    example, example_node = CASES[entry]
    tuned = load_graph(example_path(example)).node(example_node)
    assert tuned is not None
    differ = {
        name: (shown(window.properties.widgets[name]), value)
        for name, value in tuned.props.items()
        if shown(window.properties.widgets[name]) != value
    }
    assert differ == {}, f"palette vs {example}.yaml (shown, example): {differ}"
