"""A peer's check of the app bundle a run brings, on bundles Flower itself builds."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from flwr.cli.build import build_fab_from_disk

from atrap_studio import __version__
from atrap_studio.crowd.app_check import fab_problem, own_app, write_launcher
from atrap_studio.crowd.processes import write_app

# Flower's bundle builder calls pathspec's deprecated pattern class; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pathspec.*")


def _bundle(folder: Path, pyproject: bytes | None = None, **files: str) -> bytes:
    folder.mkdir()
    write_app(folder)
    if pyproject is not None:
        (folder / "pyproject.toml").write_bytes(pyproject)
    for name, text in files.items():
        (folder / name).write_text(text)
    return build_fab_from_disk(folder)


def test_only_our_own_app_passes(tmp_path: Path) -> None:
    assert fab_problem(_bundle(tmp_path / "ours"), own_app()) is None

    extra = _bundle(tmp_path / "extra", **{"atrap_studio.py": "print(1)"})
    assert fab_problem(extra, own_app()) == (
        "it brings files this peer's crowd app does not have: 'atrap_studio.py'"
    )

    other = own_app().replace(b"atrap_studio.crowd.apps:client_app", b"mine:app")
    problem = str(fab_problem(_bundle(tmp_path / "other", other), own_app()))
    assert "client app mine:app" in problem and "'tool.flwr.app.components.clientapp'" in problem

    older = own_app().replace(f'version = "{__version__}"'.encode(), b'version = "0.0.9"')
    problem = str(fab_problem(_bundle(tmp_path / "older", older), own_app()))
    assert f"(atrap-crowd {__version__}, " in problem and "it is atrap-crowd 0.0.9" in problem

    assert "not a readable app bundle" in str(fab_problem(b"PK\x03\x04 cut", own_app()))


def test_the_peer_launcher_starts_flowers_clientapp_through_the_check(tmp_path: Path) -> None:
    launcher = write_launcher(tmp_path / "bin with space")
    done = subprocess.run([str(launcher), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "--runtime-api-address" in done.stdout
