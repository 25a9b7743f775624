"""Every scene plug-in folder is a package that wheels and the frozen program carry."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_every_scene_plugin_is_listed_in_the_packages() -> None:
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]
    plugins = sorted(p.parent.name for p in (REPO / "nodes" / "scenes").glob("*/__init__.py"))
    assert plugins, "no scene plug-in found"
    missing = [name for name in plugins if f"atrap_studio.nodes.scenes.{name}" not in packages]
    assert missing == [], f"add to pyproject.toml's packages: {missing}"
