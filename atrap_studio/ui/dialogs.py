"""The editor's dialogs: the examples gallery and the help browser."""

from __future__ import annotations

from importlib import resources

from PySide6 import QtCore, QtWidgets

from atrap_studio.core.errors import AtrapError
from atrap_studio.core.reference import node_reference
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import load_graph
from atrap_studio.examples import example_names, example_path


class ExamplesDialog(QtWidgets.QDialog):
    """The shipped examples, each with its name and description; Open takes the chosen one."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Examples")
        self.resize(640, 360)
        self.list = QtWidgets.QListWidget()
        self.details = QtWidgets.QTextBrowser()
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Open
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        split = QtWidgets.QSplitter()
        split.addWidget(self.list)
        split.addWidget(self.details)
        split.setSizes([220, 420])
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(split)
        layout.addWidget(buttons)
        for name in example_names():
            try:
                doc = load_graph(example_path(name))
            except AtrapError:
                continue
            item = QtWidgets.QListWidgetItem(doc.name)
            item.setData(QtCore.Qt.ItemDataRole.UserRole, name)
            nodes = ", ".join(dict.fromkeys(n.type.partition(".")[2] for n in doc.nodes))
            item.setData(
                QtCore.Qt.ItemDataRole.ToolTipRole,
                f"<b>{doc.name}</b><p>{doc.description}</p><p><i>nodes: {nodes}</i></p>",
            )
            self.list.addItem(item)
        self.list.currentItemChanged.connect(
            lambda item, _: self.details.setHtml(item.toolTip() if item else "")
        )
        self.list.itemDoubleClicked.connect(lambda _: self.accept())
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        if self.list.count():
            self.list.setCurrentRow(0)

    def chosen(self) -> str | None:
        item = self.list.currentItem()
        return str(item.data(QtCore.Qt.ItemDataRole.UserRole)) if item else None


def quick_start_text() -> str:
    return (resources.files("atrap_studio.resources") / "help" / "quick-start.md").read_text(
        encoding="utf-8"
    )


class HelpDialog(QtWidgets.QDialog):
    """Markdown help: the quick-start, or the node reference generated from the specs."""

    def __init__(self, title: str, markdown: str, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(760, 640)
        self.browser = QtWidgets.QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setMarkdown(markdown)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)

    @classmethod
    def quick_start(cls, parent: QtWidgets.QWidget | None = None) -> HelpDialog:
        return cls("Quick start", quick_start_text(), parent)

    @classmethod
    def node_reference(
        cls, registry: Registry, parent: QtWidgets.QWidget | None = None
    ) -> HelpDialog:
        return cls("Node reference", node_reference(list(registry)), parent)
