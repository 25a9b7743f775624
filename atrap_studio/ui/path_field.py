"""A file or folder field: a path typed in, or chosen with a Browse… button."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6 import QtCore, QtWidgets


class QtPathField(QtWidgets.QWidget):
    """A line to type a path into and a Browse… button that fills it from a file dialog.

    Args:
        caption: the file dialog's title.
        folder: choose a folder instead of a file.
        start: gives the folder the dialog opens in (None: the current one).
        filters: the dialog's file-type filter, e.g. ``"Certificates (*.crt *.pem)"``.
    """

    changed = QtCore.Signal()

    def __init__(
        self,
        caption: str,
        *,
        folder: bool = False,
        start: Callable[[], Path | None] = lambda: None,
        filters: str = "",
        placeholder: str = "",
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.caption, self.folder, self.start, self.filters = caption, folder, start, filters
        self.line = QtWidgets.QLineEdit()
        self.line.setPlaceholderText(placeholder)
        self.browse = QtWidgets.QPushButton("Browse…")
        self.browse.setToolTip(caption)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.line, 1)
        layout.addWidget(self.browse)
        self.browse.clicked.connect(self._choose)
        self.line.textChanged.connect(self.changed)

    def path(self) -> Path | None:
        text = self.line.text().strip()
        return Path(text).expanduser() if text else None

    def set_path(self, path: Path) -> None:
        self.line.setText(str(path))

    def _choose(self) -> None:
        start = self.path() or self.start()
        where = str(start) if start is not None else ""
        if self.folder:
            chosen = QtWidgets.QFileDialog.getExistingDirectory(self, self.caption, where)
        else:
            chosen, _ = QtWidgets.QFileDialog.getOpenFileName(
                self, self.caption, where, self.filters
            )
        if chosen:
            self.line.setText(chosen)
