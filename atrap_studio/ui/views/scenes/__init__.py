"""Scene renderers, one module per snapshot kind, chosen by the kind a snapshot carries.

Each module here names its ``KIND`` and offers ``picture(snap, width, height, step)`` (a QImage
drawn without OpenGL, for ``atrap run --snapshots``) and ``live_view()`` (the widget of the
editor's Scene dock: it offers ``show_snapshot(step, snap)``, ``paint_now()``,
``set_instance_count(n)`` and an ``instances_changed(list)`` signal). A scene plug-in whose
snapshots are of a new kind adds one module here.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType
from typing import Any

from PySide6 import QtGui, QtWidgets


@cache
def renderers() -> dict[str, ModuleType]:
    """Every renderer module, by the kind it draws."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found[module.KIND] = module
    return found


def scene_picture(snap: Any, width: int, height: int, step: int) -> QtGui.QImage | None:
    """A picture of a scene snapshot by its kind's renderer; None for a kind none draws."""
    module = renderers().get(getattr(snap, "kind", ""))
    if module is None:
        return None
    image: QtGui.QImage = module.picture(snap, width, height, step)
    return image


def live_view(kind: str) -> QtWidgets.QWidget | None:
    """A new live view for snapshots of ``kind``; None for a kind none draws."""
    module = renderers().get(kind)
    return None if module is None else module.live_view()
