"""Tab on the canvas: type part of a node's name, Enter places it where the cursor was."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.core.registry import Registry

TYPE_ROLE = QtCore.Qt.ItemDataRole.UserRole


class QtQuickAdd(QtWidgets.QFrame):
    """A small search popup over the canvas; emits the chosen type and the scene position."""

    chosen = QtCore.Signal(str, object)  # spec type id, (x, y) in canvas coordinates

    def __init__(self, registry: Registry, parent: QtWidgets.QWidget) -> None:
        super().__init__(parent)
        self._parent = parent
        self.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.search = QtWidgets.QLineEdit(placeholderText="Add node…")
        self.list = QtWidgets.QListWidget()
        self.list.setMaximumHeight(220)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        for spec in registry:
            item = QtWidgets.QListWidgetItem(f"{spec.title}  ({spec.category})")
            item.setData(TYPE_ROLE, spec.type)
            item.setToolTip(spec.help)
            self.list.addItem(item)
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._accept)
        self.list.itemActivated.connect(lambda _: self._accept())
        self.search.installEventFilter(self)
        self._at: tuple[float, float] = (0.0, 0.0)
        self.resize(260, 260)
        self.hide()

    def popup(self, at_widget: QtCore.QPoint, at_scene: tuple[float, float]) -> None:
        """Show at a point of the parent widget; the node will go to ``at_scene``."""
        self._at = at_scene
        self.search.clear()
        self._filter("")
        parent = self._parent
        x = min(max(0, at_widget.x()), max(0, parent.width() - self.width()))
        y = min(max(0, at_widget.y()), max(0, parent.height() - self.height()))
        self.move(x, y)
        self.show()
        self.raise_()
        self.search.setFocus()

    def visible_types(self) -> list[str]:
        return [
            str(self.list.item(i).data(TYPE_ROLE))
            for i in range(self.list.count())
            if not self.list.item(i).isHidden()
        ]

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        first = None
        for i in range(self.list.count()):
            item = self.list.item(i)
            haystack = f"{item.text()} {item.data(TYPE_ROLE)}".lower()
            hidden = not all(w in haystack for w in words)
            item.setHidden(hidden)
            if not hidden and first is None:
                first = item
        if first is not None:
            self.list.setCurrentItem(first)

    def _accept(self) -> None:
        item = self.list.currentItem()
        if item is not None and not item.isHidden():
            self.close_to_canvas()
            self.chosen.emit(str(item.data(TYPE_ROLE)), self._at)

    def close_to_canvas(self) -> None:
        """Hide, giving the keyboard back to the canvas (else Qt hands it to the next widget in
        the window, the palette's search, and the next Tab no longer opens this box)."""
        self._parent.setFocus(QtCore.Qt.FocusReason.PopupFocusReason)
        self.hide()

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        """Arrow keys move through the list while typing; Escape closes."""
        pressed = event.type() == QtCore.QEvent.Type.KeyPress
        if watched is self.search and pressed and isinstance(event, QtGui.QKeyEvent):
            key = event.key()
            if key == QtCore.Qt.Key.Key_Escape:
                self.close_to_canvas()
                return True
            if key in (QtCore.Qt.Key.Key_Down, QtCore.Qt.Key.Key_Up):
                self._step(1 if key == QtCore.Qt.Key.Key_Down else -1)
                return True
        return super().eventFilter(watched, event)

    def _step(self, direction: int) -> None:
        rows = [i for i in range(self.list.count()) if not self.list.item(i).isHidden()]
        if not rows:
            return
        current = self.list.currentRow()
        index = rows.index(current) if current in rows else -1
        self.list.setCurrentRow(rows[(index + direction) % len(rows)])
