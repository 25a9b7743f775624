"""How the window's parts speak to the person: the status bar, the Log dock and error boxes."""

from __future__ import annotations

from typing import Protocol

from PySide6 import QtWidgets


class Messages(Protocol):
    """What a part of the window (document session, canvas controller, network files) uses to
    tell the person something, and the window its dialogs belong to. ``MainWindow`` is one."""

    def say(self, text: str) -> None:
        """A short message in the status bar (refusals, confirmations)."""

    def log(self, text: str) -> None:
        """A line in the Log dock."""

    def error_dialog(self, title: str, text: str) -> None:
        """A modal error box."""

    def window(self) -> QtWidgets.QWidget:
        """The top-level widget that dialogs and menus belong to (``QWidget.window``)."""
