"""The example graphs shipped with the program, found through importlib.resources."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DEFAULT_EXAMPLE = "robot_arm_reach"


def example_names() -> list[str]:
    """Names of the shipped examples (file names without ``.yaml``), the default first."""
    folder = resources.files("atrap_studio.resources") / "examples"
    names = (p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))
    return sorted(names, key=lambda name: (name != DEFAULT_EXAMPLE, name))


def example_path(name: str = DEFAULT_EXAMPLE) -> Path:
    """Path of a shipped example (installed, editable or frozen alike)."""
    path = resources.files("atrap_studio.resources") / "examples" / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(example_names())
        raise FileNotFoundError(f"no example named {name!r}; examples: {known}")
    return Path(str(path))
