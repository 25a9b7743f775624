"""Network files in the editor: use (load or merge) received networks, export a trained one."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6 import QtWidgets
from pytestqt.qtbot import QtBot

from atrap_studio.core.document import GraphDocument, Link, NodeDoc
from atrap_studio.core.registry import Registry
from atrap_studio.core.yaml_io import save_graph
from atrap_studio.runtime.netfile import load_network, save_network
from atrap_studio.runtime.pipeline import Pipeline
from atrap_studio.ui.main_window import MainWindow
from tests.conftest import shrink
from tests.ui.conftest import Answer, drop_files

Buttons = QtWidgets.QMessageBox.StandardButton


def _network_of(doc: GraphDocument, registry: Registry, path: Path, seed: int = 0) -> Path:
    pipeline = Pipeline(doc, registry, seed=seed)
    save_network(path, pipeline.network, pipeline.manifest())
    return path


@pytest.fixture
def small(
    make_window: Callable[..., MainWindow], arm_doc: GraphDocument, tmp_path: Path
) -> tuple[MainWindow, GraphDocument]:
    """A window on a shrunk arm graph saved in a temporary folder, and that graph."""
    doc = shrink(arm_doc, steps=10, eval_every=10, checkpoint_every=10)
    path = tmp_path / "small.yaml"
    save_graph(doc, path)
    window = make_window()
    assert window.open_file(path, ask=False)
    return window, doc


def test_a_network_file_takes_the_place_of_the_factory_and_trains_on(
    small: tuple[MainWindow, GraphDocument],
    registry: Registry,
    tmp_path: Path,
    qtbot: QtBot,
) -> None:
    window, doc = small
    (tmp_path / "shared").mkdir()
    received = _network_of(doc, registry, tmp_path / "shared" / "ada.atrapnet")
    links_before = list(window.editor.doc.links)
    assert window.networks.use_files([received])
    brain = window.editor.doc.node("brain")
    assert brain is not None and brain.type == "nn.load"
    assert brain.props == {"file": "shared/ada.atrapnet"}  # relative: they travel together
    assert window.editor.doc.links == links_before
    assert window.editor.validate_now().ok
    assert "made: trained by" in window.log_view.toPlainText()
    window.editor.undo_stack.undo()
    assert window.editor.doc.node("brain").type == "nn.factory"  # type: ignore[union-attr]
    window.editor.undo_stack.redo()
    assert window.save()
    assert window.run()
    qtbot.waitUntil(lambda: window.runs.state == "idle", timeout=240_000)
    trained = window.networks.trained_network()
    assert trained is not None
    parents = load_network(trained).manifest.provenance.parents
    assert [p.name for p in parents] == ["ada.atrapnet"]


def test_dropping_several_network_files_merges_them(
    small: tuple[MainWindow, GraphDocument], registry: Registry, tmp_path: Path
) -> None:
    window, doc = small
    files = [_network_of(doc, registry, tmp_path / f"n{i}.atrapnet", seed=i) for i in range(2)]
    drop_files(window, files)
    brain = window.editor.doc.node("brain")
    assert brain is not None and brain.type == "nn.merge"
    assert brain.props == {"files": ["n0.atrapnet", "n1.atrapnet"]}


def test_a_bad_or_unfitting_network_changes_nothing(
    small: tuple[MainWindow, GraphDocument], registry: Registry, tmp_path: Path, answer: Answer
) -> None:
    window, doc = small
    before = window.editor.doc
    gift = tmp_path / "gift.atrapnet"
    gift.write_bytes(pickle.dumps({"weights": [1.0]}))
    texts = answer(Buttons.Ok)
    window.networks.use_files([gift])
    assert "pickle" in texts[0] and window.editor.doc is before
    other = doc.model_copy(deep=True)  # a network that also sees the tip's position
    other.nodes.append(NodeDoc(id="tip", type="sensor.effector_position"))
    other.links += [
        Link.model_validate(["arm.scene", "tip.scene"]),
        Link.model_validate(["tip.value", "brain.state"]),
    ]
    unfit = _network_of(other, registry, tmp_path / "unfit.atrapnet")
    texts = answer(Buttons.Ok)
    drop_files(window, [unfit])
    assert "does not fit this graph" in texts[0] and window.editor.doc is before


def test_export_writes_each_format_or_says_why_not(
    small: tuple[MainWindow, GraphDocument], registry: Registry, tmp_path: Path, answer: Answer
) -> None:
    window, doc = small
    source = _network_of(doc, registry, tmp_path / "brain.atrapnet")
    for suffix in (".html", ".onnx", ".json"):
        target = tmp_path / f"out{suffix}"
        assert window.networks.export_to(source, target)
        assert target.stat().st_size > 1000
    texts = answer(Buttons.Ok)
    assert not window.networks.export_to(source, tmp_path / "out.txt")
    assert "unknown format .txt" in texts[0]
    assert not (tmp_path / "out.txt").exists()


def test_the_file_property_has_a_browse_button(
    small: tuple[MainWindow, GraphDocument], registry: Registry, tmp_path: Path
) -> None:
    window, doc = small
    assert window.networks.use_files([_network_of(doc, registry, tmp_path / "a.atrapnet")])
    window.properties.show_node("brain")
    field = window.properties.widgets["file"]
    assert isinstance(field, QtWidgets.QLineEdit) and field.text() == "a.atrapnet"
    assert [a.toolTip() for a in field.actions()] == ["Choose a file…"]
    field.setText("b.atrapnet")
    field.editingFinished.emit()
    assert window.editor.doc.node("brain").props["file"] == "b.atrapnet"  # type: ignore[union-attr]
