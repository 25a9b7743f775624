"""The node palette: the catalogue by category, searchable, dragged onto the canvas."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.core.registry import Registry
from atrap_studio.core.specs import CATEGORIES
from atrap_studio.ui.node_types import CATEGORY_COLOURS, node_tooltip

CATEGORY_TITLES = {
    "scene": "Scenes",
    "sensor": "Sensors",
    "nn": "Networks",
    "action": "Actions",
    "reward": "Rewards",
    "trainer": "Trainers",
    "helper": "Helpers",
    "monitor": "Monitors",
}
TYPE_ROLE = QtCore.Qt.ItemDataRole.UserRole


class PaletteTree(QtWidgets.QTreeWidget):
    """Tree of node types whose drags carry the canvas's node mime data."""

    def __init__(self, mime_for: Callable[[list[str]], QtCore.QMimeData]) -> None:
        super().__init__()
        self._mime_for = mime_for
        self.setHeaderHidden(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QtWidgets.QAbstractItemView.DragDropMode.DragOnly)

    def mimeData(self, items: Iterable[QtWidgets.QTreeWidgetItem]) -> QtCore.QMimeData:
        types = [t for t in (i.data(0, TYPE_ROLE) for i in items) if t]
        return self._mime_for(types)


class QtPalette(QtWidgets.QWidget):
    """Search box over a category tree; double-click or Enter adds the node to the canvas."""

    add_requested = QtCore.Signal(str)

    def __init__(self, registry: Registry, mime_for: Callable[[list[str]], QtCore.QMimeData]):
        super().__init__()
        self.search = QtWidgets.QLineEdit(placeholderText="Search nodes…")
        self.search.setClearButtonEnabled(True)
        self.tree = PaletteTree(mime_for)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        for category in CATEGORIES:
            specs = registry.by_category(category)
            if not specs:
                continue
            group = QtWidgets.QTreeWidgetItem([CATEGORY_TITLES.get(category, category)])
            group.setFlags(QtCore.Qt.ItemFlag.ItemIsEnabled)
            group.setForeground(0, QtGui.QColor(*CATEGORY_COLOURS[category]).lighter(220))
            self.tree.addTopLevelItem(group)
            for spec in specs:
                item = QtWidgets.QTreeWidgetItem([spec.title])
                item.setData(0, TYPE_ROLE, spec.type)
                item.setToolTip(0, node_tooltip(spec))
                item.setStatusTip(0, spec.help)
                group.addChild(item)
        self.tree.expandAll()
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self._add_first_visible)
        self.tree.itemActivated.connect(self._activated)

    def filter(self, text: str) -> None:
        """Show the node types whose title, id or help contains every typed word."""
        words = text.lower().split()
        for group in self._groups():
            shown = 0
            for c in range(group.childCount()):
                item = group.child(c)
                haystack = f"{item.text(0)} {item.data(0, TYPE_ROLE)} {item.statusTip(0)}".lower()
                hidden = not all(w in haystack for w in words)
                item.setHidden(hidden)
                shown += not hidden
            group.setHidden(shown == 0)

    def visible_types(self) -> list[str]:
        return [
            str(group.child(c).data(0, TYPE_ROLE))
            for group in self._groups()
            if not group.isHidden()
            for c in range(group.childCount())
            if not group.child(c).isHidden()
        ]

    def _groups(self) -> list[QtWidgets.QTreeWidgetItem]:
        items = (self.tree.topLevelItem(g) for g in range(self.tree.topLevelItemCount()))
        return [item for item in items if item is not None]

    def _add_first_visible(self) -> None:
        visible = self.visible_types()
        if visible:
            self.add_requested.emit(visible[0])

    def _activated(self, item: QtWidgets.QTreeWidgetItem) -> None:
        type_id = item.data(0, TYPE_ROLE)
        if type_id:
            self.add_requested.emit(str(type_id))
