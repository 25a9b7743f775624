"""The arm's picture (``atrap run --snapshots``) shows the target's and the tip's frames where
the scene judges orientation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtGui

from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_path
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.ui.views.scenes import scene_picture
from tests.conftest import shrink


def blue_pixels(image: QtGui.QImage) -> int:
    """Pixels of the z axes' blue (nothing else in the picture is this blue)."""
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB32)
    view = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1, 4)
    b, g, r = (view[..., i].astype(int) for i in range(3))
    return int(((b > 200) & (r < 120) & (g < 170)).sum())


@pytest.mark.usefixtures("qapp")  # text is drawn with the application's fonts
def test_the_frames_are_drawn_only_for_a_scene_that_judges_orientation(
    registry: Registry, tmp_path: Path
) -> None:
    doc = shrink(load_graph(example_path("robot_arm_pose")))
    snap = Pipeline(doc, registry).snapshot([0])["scene"]
    with_frames = scene_picture(snap, 480, 360, 3)
    plain = dataclasses.replace(snap, target_rotation=None, tip_rotation=None, error_deg=None)
    without = scene_picture(plain, 480, 360, 3)
    assert with_frames is not None and without is not None
    with_frames.save(str(tmp_path / "pose.png"))
    assert blue_pixels(with_frames) > 40 and blue_pixels(without) == 0
