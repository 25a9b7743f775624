"""The Problems dock: every validation issue and run error, one click from its node.

Issues are shown in the person's words (:class:`~atrap_studio.ui.plain_words.PlainWords`):
the node's name and port where the core says ids; the code and the ids stay in the tooltip.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.core.validation import Issue
from atrap_studio.ui.plain_words import PlainWords

NODE_ROLE = QtCore.Qt.ItemDataRole.UserRole


class _WrappedRows(QtWidgets.QStyledItemDelegate):
    """Rows as tall as their problem's text wrapped to the column (Qt's tree sizes rows from
    unwrapped text, so a long problem in a narrow dock ended in "…")."""

    def sizeHint(
        self,
        option: QtWidgets.QStyleOptionViewItem,
        index: QtCore.QModelIndex | QtCore.QPersistentModelIndex,
    ) -> QtCore.QSize:
        hint = super().sizeHint(option, index)
        view = self.parent()
        if index.column() != 1 or not isinstance(view, QtWidgets.QTreeView):
            return hint
        width = max(40, view.header().sectionSize(1) - 10)
        box = QtCore.QRect(0, 0, width, 100_000)
        flags = int(QtCore.Qt.TextFlag.TextWordWrap)
        text = str(index.data() or "")
        return QtCore.QSize(
            hint.width(), option.fontMetrics.boundingRect(box, flags, text).height() + 6
        )


class QtProblems(QtWidgets.QTreeWidget):
    """A list of issues; clicking one asks the window to select and frame its node."""

    node_clicked = QtCore.Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.setColumnCount(2)
        self.setHeaderLabels(["", "Problem"])
        self.setRootIsDecorated(False)
        self.setAlternatingRowColors(True)
        # the dock is a narrow column: long problems take more lines instead of ending in "…"
        self.setWordWrap(True)
        self.setTextElideMode(QtCore.Qt.TextElideMode.ElideNone)
        self.setUniformRowHeights(False)
        self.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.header().setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.header().setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.setItemDelegate(_WrappedRows(self))
        self.header().sectionResized.connect(lambda *_: self.doItemsLayout())
        self._validation: list[Issue] = []
        self._run: list[Issue] = []
        self._words: PlainWords | None = None
        self.itemClicked.connect(self._clicked)

    def show_validation(self, issues: list[Issue], words: PlainWords | None = None) -> None:
        """Show validation's issues, named with ``words`` (the graph they were found in)."""
        self._validation = list(issues)
        self._words = words
        self._refill()

    def show_run_problem(self, issue: Issue | None) -> None:
        """Show (or clear, with ``None``) the problem that stopped the last run."""
        self._run = [issue] if issue else []
        self._refill()

    def issues(self) -> list[Issue]:
        return [*self._run, *self._validation]

    def _refill(self) -> None:
        self.clear()
        style = self.style()
        icons = {
            "error": style.standardIcon(QtWidgets.QStyle.StandardPixmap.SP_MessageBoxCritical),
            "warning": style.standardIcon(QtWidgets.QStyle.StandardPixmap.SP_MessageBoxWarning),
        }
        for issue in self.issues():
            said = self._words.issue(issue) if self._words else issue
            where = self._words.where(issue) if self._words else issue.node or "graph"
            text = f"{where}: {said.message}" + (f" — {said.hint}" if said.hint else "")
            item = QtWidgets.QTreeWidgetItem(["", text])
            item.setIcon(0, icons[issue.severity])
            raw = issue.message + (f" — {issue.hint}" if issue.hint else "")
            node = f"node '{issue.node}'" if issue.node else "the whole graph"
            item.setToolTip(1, f"{text}\n\nIn the graph file: {node}, {issue.code}: {raw}")
            item.setData(0, NODE_ROLE, issue.node)
            if issue.severity == "error":
                item.setForeground(1, QtGui.QColor(240, 120, 120))
            self.addTopLevelItem(item)

    def _clicked(self, item: QtWidgets.QTreeWidgetItem) -> None:
        node = item.data(0, NODE_ROLE)
        if node:
            self.node_clicked.emit(str(node))
