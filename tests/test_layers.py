"""Layer contracts for the node library (import-linter covers the atrap_studio tree itself)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

NODES = Path(__file__).resolve().parents[1] / "nodes"
QT = {"PySide6", "NodeGraphQt", "pyqtgraph", "OpenGL", "Qt", "atrap_studio.ui"}
HEAVY = {"torch", "numpy", "atrap_studio.runtime"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _violations(files: list[Path], forbidden: set[str]) -> list[str]:
    return [
        f"{path.as_posix()} imports {name}"
        for path in files
        for name in sorted(_imports(path))
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]


def test_node_library_never_imports_qt() -> None:
    assert _violations(sorted(NODES.rglob("*.py")), QT) == []


def test_node_specs_stay_light() -> None:
    assert _violations(sorted((NODES / "specs").rglob("*.py")), HEAVY) == []


@pytest.mark.parametrize("forbidden", [QT, HEAVY])
def test_the_check_itself_catches_a_violation(tmp_path: Path, forbidden: set[str]) -> None:
    name = sorted(forbidden)[0]
    sample = tmp_path / "sample.py"
    sample.write_text(f"import os\nfrom {name}.sub import x\n")
    assert _violations([sample], forbidden) == [f"{sample.as_posix()} imports {name}.sub"]
