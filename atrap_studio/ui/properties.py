"""The Properties panel: the selected node's name and properties as widgets for their kind.

Widgets come from the property specs (range, choices, list lengths, help); a committed edit
(Enter, focus out, an arrow click, a choice) is one undo step through the editor.
"""

from __future__ import annotations

import json
import math
from typing import Any

from PySide6 import QtCore, QtWidgets

from atrap_studio.core.document import NodeDoc
from atrap_studio.core.specs import NodeSpec, PropSpec
from atrap_studio.core.validation import Issue
from atrap_studio.ui.editor import Editor
from atrap_studio.ui.flow_layout import FlowLayout

INT_LIMIT = 2**31 - 1


class ListEditor(QtWidgets.QWidget):
    """Edits a list of numbers or words: one field per item, with add and remove buttons."""

    committed = QtCore.Signal(list)

    def __init__(self, prop: PropSpec) -> None:
        super().__init__()
        self.prop = prop
        self._fields: list[QtWidgets.QWidget] = []
        self.add_button = QtWidgets.QToolButton(text="+", toolTip="Add an item")
        self.remove_button = QtWidgets.QToolButton(text="−", toolTip="Remove the last item")
        # The fields and then the buttons wrap onto more rows in a narrow dock (one row pushed
        # the buttons out of view).
        self._flow = FlowLayout(self)
        self._flow.addWidget(self.add_button)
        self._flow.addWidget(self.remove_button)
        policy = QtWidgets.QSizePolicy.Policy
        size_policy = QtWidgets.QSizePolicy(policy.Preferred, policy.Preferred)
        size_policy.setHeightForWidth(True)
        self.setSizePolicy(size_policy)
        self.add_button.clicked.connect(self._add_item)
        self.remove_button.clicked.connect(self._remove_item)

    def value(self) -> list[Any]:
        return [_read(w) for w in self._fields]

    def set_value(self, items: list[Any]) -> None:
        while self._fields:
            self._drop(self._fields.pop())
        for item in items:
            self._append(item)
        self._update_buttons()

    def _append(self, item: Any) -> None:
        kind = {"int_list": "int", "float_list": "float"}.get(self.prop.kind, "str")
        field = _scalar_widget(kind, self.prop, item)
        field.setMaximumWidth(90)
        _on_commit(field, self._commit)
        self._flow.insertWidget(len(self._fields), field)  # before the buttons
        self._fields.append(field)

    def _add_item(self) -> None:
        last = self.value()[-1] if self._fields else _item_default(self.prop)
        self._append(last)
        self._commit()

    def _remove_item(self) -> None:
        if self._fields:
            self._drop(self._fields.pop())
            self._commit()

    def _drop(self, field: QtWidgets.QWidget) -> None:
        """Take a field out of the row at once (a deleted-later one would still take room)."""
        self._flow.removeWidget(field)
        field.hide()
        field.deleteLater()

    def _commit(self) -> None:
        self._update_buttons()
        self.committed.emit(self.value())

    def _update_buttons(self) -> None:
        count = len(self._fields)
        self.add_button.setEnabled(self.prop.max_items is None or count < self.prop.max_items)
        self.remove_button.setEnabled(count > self.prop.min_items)


class QtProperties(QtWidgets.QScrollArea):
    """Shows one node at a time; follows the editor's document through edits and undo."""

    def __init__(self, editor: Editor) -> None:
        super().__init__()
        self.editor = editor
        self.setWidgetResizable(True)
        self.node_id: str | None = None
        self.block_id: str | None = None
        self.widgets: dict[str, QtWidgets.QWidget] = {}
        self.name_edit: QtWidgets.QLineEdit | None = None
        self._notes: dict[str, QtWidgets.QLabel] = {}
        self._type: str | None = None
        editor.document_changed.connect(self.refresh)
        editor.analysis_changed.connect(lambda analysis: self._show_issues(analysis.issues))
        self.show_node(None)

    def show_node(self, node_id: str | None) -> None:
        """Build the form for a node (``None`` shows a hint)."""
        self.node_id, self.block_id = node_id, None
        node = self.editor.doc.node(node_id) if node_id else None
        self._type = node.type if node else None
        self.widgets, self._notes, self.name_edit = {}, {}, None
        page = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(page)
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        if node is None:
            form.addRow(QtWidgets.QLabel("Select a node to see and change its properties."))
            self.setWidget(page)
            return
        spec = self.editor.registry.get(node.type)
        title = QtWidgets.QLabel(f"<b>{spec.title if spec else node.type}</b> <i>({node.id})</i>")
        form.addRow(title)
        self.name_edit = QtWidgets.QLineEdit(node.name or "")
        self.name_edit.setPlaceholderText(spec.title if spec else node.id)
        self.name_edit.setToolTip("The name shown on the canvas; each node should have its own.")
        self.name_edit.editingFinished.connect(self._rename)
        form.addRow("Name", self.name_edit)
        if spec is None:
            note = QtWidgets.QLabel(
                f"This node's type '{node.type}' is unknown to this version. Its properties are "
                "kept as they are and saved back unchanged:\n" + json.dumps(node.props, indent=1)
            )
            note.setWordWrap(True)
            form.addRow(note)
            self.setWidget(page)
            return
        help_label = QtWidgets.QLabel(spec.help)
        help_label.setWordWrap(True)
        form.addRow(help_label)
        for prop in spec.props:
            widget = self._make_widget(spec, prop, node)
            label = QtWidgets.QLabel(prop.name.replace("_", " "))
            label.setToolTip(prop.help)
            widget.setToolTip(prop.help)
            note = QtWidgets.QLabel()
            note.setWordWrap(True)
            note.setStyleSheet("color: #e07070")
            note.hide()
            box = QtWidgets.QWidget()
            column = QtWidgets.QVBoxLayout(box)
            column.setContentsMargins(0, 0, 0, 0)
            column.addWidget(widget)
            column.addWidget(note)
            form.addRow(label, box)
            self.widgets[prop.name] = widget
            self._notes[prop.name] = note
        self.setWidget(page)
        self._show_issues(self.editor.analysis.issues)

    def show_block(self, block_id: str) -> None:
        """A block's name (editable), members and exposed ports."""
        block = self.editor.doc.block(block_id)
        if block is None:
            self.show_node(None)
            return
        self.node_id, self._type, self.block_id = None, None, block_id
        self.widgets, self._notes = {}, {}
        page = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(page)
        form.addRow(QtWidgets.QLabel(f"<b>Block</b> <i>({block.id})</i>"))
        self.name_edit = QtWidgets.QLineEdit(block.name)
        self.name_edit.editingFinished.connect(self._rename)
        form.addRow("Name", self.name_edit)
        names = {n.id: n.name or n.id for n in self.editor.doc.nodes}
        members = ", ".join(names.get(m, m) for m in block.nodes)
        form.addRow("Nodes", _wrapped(members))
        for title, ports in (("Inputs", block.inputs), ("Outputs", block.outputs)):
            text = ", ".join(f"{p.name} ({p.port})" for p in ports) or "none"
            form.addRow(title, _wrapped(text))
        hint = "Double-click the block (or Ctrl+E) to open or close it; Ctrl+Shift+G ungroups it."
        form.addRow(_wrapped(hint))
        self.setWidget(page)

    def refresh(self) -> None:
        """After an edit or undo: same node → update values in place; else rebuild."""
        if self.block_id is not None:
            if self.name_edit is None or not self.name_edit.hasFocus():
                self.show_block(self.block_id)
            return
        node = self.editor.doc.node(self.node_id) if self.node_id else None
        if node is None or node.type != self._type:
            self.show_node(node.id if node else None)
            return
        if self.name_edit is not None and not self.name_edit.hasFocus():
            self.name_edit.setText(node.name or "")
        spec = self.editor.registry.get(node.type)
        for prop in spec.props if spec else ():
            widget = self.widgets.get(prop.name)
            if widget is not None:
                _show_value(widget, node.props.get(prop.name, prop.default))

    def _make_widget(self, spec: NodeSpec, prop: PropSpec, node: NodeDoc) -> QtWidgets.QWidget:
        value = node.props.get(prop.name, prop.default)
        widget: QtWidgets.QWidget
        node_id = node.id  # a field left after another node was selected still edits its own
        if prop.kind.endswith("_list"):
            editor = ListEditor(prop)
            editor.set_value(value if isinstance(value, list) else list(prop.default or []))
            editor.committed.connect(
                lambda items, name=prop.name: self._commit(node_id, name, items)
            )
            widget = editor
        else:
            widget = _scalar_widget(prop.kind, prop, value)
            _on_commit(
                widget, lambda w=widget, name=prop.name: self._commit(node_id, name, _read(w))
            )
        return widget

    def _commit(self, node_id: str, name: str, value: Any) -> None:
        if self.editor.doc.node(node_id) is not None:
            self.editor.set_prop(node_id, name, value)

    def _rename(self) -> None:
        if self.block_id is not None and self.name_edit is not None:
            block = self.editor.doc.block(self.block_id)
            if block is not None and block.name != self.name_edit.text():
                self.editor.rename_block(self.block_id, self.name_edit.text())
            return
        if self.node_id is not None and self.name_edit is not None:
            node = self.editor.doc.node(self.node_id)
            if node is not None and (node.name or "") != self.name_edit.text():
                self.editor.rename(self.node_id, self.name_edit.text())

    def _show_issues(self, issues: list[Issue]) -> None:
        mine: dict[str, list[str]] = {}
        for issue in issues:
            if issue.node == self.node_id and issue.prop:
                mine.setdefault(issue.prop, []).append(f"{issue.message} ({issue.hint})")
        for name, note in self._notes.items():
            note.setText("\n".join(mine.get(name, [])))
            note.setVisible(name in mine)
            widget = self.widgets.get(name)
            if widget is not None:
                _mark_wrong(widget, name in mine)


def _wrapped(text: str) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    label.setWordWrap(True)
    return label


def _scalar_widget(kind: str, prop: PropSpec, value: Any) -> QtWidgets.QWidget:
    widget: QtWidgets.QWidget
    if kind == "int":
        spin = QtWidgets.QSpinBox()
        spin.setRange(
            max(int(prop.min), -INT_LIMIT) if prop.min is not None else -INT_LIMIT,
            min(int(prop.max), INT_LIMIT) if prop.max is not None else INT_LIMIT,
        )
        spin.setKeyboardTracking(False)
        spin.setGroupSeparatorShown(True)
        spin.setProperty(_RANGE, (spin.minimum(), spin.maximum()))
        widget = spin
    elif kind == "float":
        box = QtWidgets.QDoubleSpinBox()
        smallest = prop.min if prop.min is not None and prop.min > 0 else 1e-6
        box.setDecimals(max(6, math.ceil(-math.log10(smallest)) + 2))  # 1e-7 must not read 0
        box.setRange(
            prop.min if prop.min is not None else -1e12,
            prop.max if prop.max is not None else 1e12,
        )
        box.setStepType(QtWidgets.QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        box.setKeyboardTracking(False)
        box.setProperty(_RANGE, (box.minimum(), box.maximum()))
        widget = box
    elif kind == "bool":
        widget = QtWidgets.QCheckBox()
    elif prop.choices:
        combo = QtWidgets.QComboBox()
        combo.addItems(list(prop.choices))
        combo.setProperty(_CHOICES, list(prop.choices))
        widget = combo
    else:
        line = QtWidgets.QLineEdit()
        if prop.file_types:
            _add_browse(line, prop)
        widget = line
    _show_value(widget, value)
    return widget


def _add_browse(line: QtWidgets.QLineEdit, prop: PropSpec) -> None:
    """A folder button inside the field that picks the file and commits it."""
    icon = line.style().standardIcon(QtWidgets.QStyle.StandardPixmap.SP_DirOpenIcon)
    browse = line.addAction(icon, QtWidgets.QLineEdit.ActionPosition.TrailingPosition)
    browse.setToolTip("Choose a file…")
    patterns = " ".join(f"*{suffix}" for suffix in prop.file_types)

    def choose() -> None:
        name, _ = QtWidgets.QFileDialog.getOpenFileName(
            line, f"Choose {prop.name}", line.text(), f"{prop.name} ({patterns})"
        )
        if name:
            line.setText(name)
            line.editingFinished.emit()

    browse.triggered.connect(choose)


def _show_value(widget: QtWidgets.QWidget, value: Any) -> None:
    """Show the document's value without emitting a commit, even one out of the spec's range
    or choices: the person sees what the file holds (marked wrong by the validation note) and
    any entry, even of the value a clamped field would have shown, applies."""
    blocker = QtCore.QSignalBlocker(widget)
    if isinstance(widget, ListEditor):
        if isinstance(value, list) and value != widget.value():
            widget.set_value(value)
    elif isinstance(widget, QtWidgets.QSpinBox | QtWidgets.QDoubleSpinBox):
        _show_number(widget, value)
    elif isinstance(widget, QtWidgets.QCheckBox):
        widget.setChecked(bool(value))
    elif isinstance(widget, QtWidgets.QComboBox):
        _show_choice(widget, value)
    elif isinstance(widget, QtWidgets.QLineEdit) and not widget.hasFocus():
        widget.setText("" if value is None else str(value))
    del blocker


def _show_number(box: QtWidgets.QSpinBox | QtWidgets.QDoubleSpinBox, value: Any) -> None:
    """The spec's range, widened to hold a number outside it; other values shown as text."""
    low, high = box.property(_RANGE)
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    number = isinstance(value, int | float) and not isinstance(value, bool)
    fits = isinstance(box, QtWidgets.QDoubleSpinBox) or (whole and abs(value) <= INT_LIMIT)
    if number and fits:
        box.setRange(min(low, value), max(high, value))
        box.setValue(value)
    else:
        box.setRange(low, high)
        box.lineEdit().setText("" if value is None else str(value))


def _show_choice(combo: QtWidgets.QComboBox, value: Any) -> None:
    """Select the value; one that is not a choice shows as an extra entry marked unknown."""
    choices: list[str] = combo.property(_CHOICES)
    while combo.count() > len(choices):
        combo.removeItem(combo.count() - 1)
    index = combo.findText(str(value))
    if index < 0 or index >= len(choices):
        combo.addItem(str(value))
        index = combo.count() - 1
        combo.setItemData(index, f"'{value}' is not one of the choices", _TOOLTIP)
    combo.setCurrentIndex(index)


def _mark_wrong(widget: QtWidgets.QWidget, wrong: bool) -> None:
    """A red frame on a field whose value the check refused (the note under it says why)."""
    if widget.property(_WRONG) != wrong:
        widget.setProperty(_WRONG, wrong)
        widget.setStyleSheet(_WRONG_STYLE if wrong else "")


_RANGE, _CHOICES, _WRONG = "atrap_range", "atrap_choices", "atrap_wrong"
_TOOLTIP = QtCore.Qt.ItemDataRole.ToolTipRole
_WRONG_STYLE = "border: 1px solid #e05050; color: #f08080;"


def _read(widget: QtWidgets.QWidget) -> Any:
    if isinstance(widget, QtWidgets.QSpinBox):
        return widget.value()
    if isinstance(widget, QtWidgets.QDoubleSpinBox):
        return round(widget.value(), widget.decimals())
    if isinstance(widget, QtWidgets.QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QtWidgets.QComboBox):
        return widget.currentText()
    if isinstance(widget, QtWidgets.QLineEdit):
        return widget.text()
    raise TypeError(f"no value in {widget!r}")


def _on_commit(widget: QtWidgets.QWidget, slot: Any) -> None:
    """Connect the signal that marks a finished edit for this kind of widget."""
    if isinstance(widget, QtWidgets.QAbstractSpinBox):
        widget.valueChanged.connect(lambda *_: slot())  # type: ignore[attr-defined]
        widget.editingFinished.connect(slot)  # Enter on the value shown also applies it
    elif isinstance(widget, QtWidgets.QCheckBox):
        widget.toggled.connect(lambda *_: slot())
    elif isinstance(widget, QtWidgets.QComboBox):
        widget.currentIndexChanged.connect(lambda *_: slot())
        widget.activated.connect(lambda *_: slot())  # choosing the entry shown also applies it
    elif isinstance(widget, QtWidgets.QLineEdit):
        widget.editingFinished.connect(slot)


def _item_default(prop: PropSpec) -> Any:
    if isinstance(prop.default, list) and prop.default:
        return prop.default[-1]
    return {"int_list": 1, "float_list": 0.0}.get(prop.kind, "")
