"""The Problems dock: every validation issue and run error, one click from its node.

Issues are shown in the person's words (:class:`~atrap_studio.ui.plain_words.PlainWords`):
the node's name and port where the core says ids; the code and the ids stay in the tooltip.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.core.validation import Issue
from atrap_studio.ui.plain_words import PlainWords

NODE_ROLE = QtCore.Qt.ItemDataRole.UserRole


class QtProblems(QtWidgets.QTreeWidget):
    """A list of issues; clicking one asks the window to select and frame its node."""

    node_clicked = QtCore.Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.setColumnCount(3)
        self.setHeaderLabels(["", "Where", "Problem"])
        self.setRootIsDecorated(False)
        self.setAlternatingRowColors(True)
        self.setWordWrap(True)  # the dock is a narrow column: long problems take more lines
        self.header().setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.header().setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
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
            text = said.message + (f" — {said.hint}" if said.hint else "")
            item = QtWidgets.QTreeWidgetItem(["", where, text])
            item.setIcon(0, icons[issue.severity])
            raw = issue.message + (f" — {issue.hint}" if issue.hint else "")
            item.setToolTip(2, f"{text}\n\n{issue.code}: {raw}")
            item.setToolTip(1, f"node id: {issue.node}" if issue.node else "the whole graph")
            item.setData(0, NODE_ROLE, issue.node)
            if issue.severity == "error":
                item.setForeground(2, QtGui.QColor(240, 120, 120))
            self.addTopLevelItem(item)

    def _clicked(self, item: QtWidgets.QTreeWidgetItem) -> None:
        node = item.data(0, NODE_ROLE)
        if node:
            self.node_clicked.emit(str(node))
