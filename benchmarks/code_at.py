"""One package of ours as it was at a git revision, importable beside today's, so that a
benchmark can time the code before a change and after it in one run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def package_at(revision: str, folder: Path, source: str, dotted: str, prefix: str) -> str:
    """The ``.py`` files of ``source`` (a folder of the repository, e.g. ``nodes/scenes/tanks/``)
    at git ``revision``, written under ``folder`` as a package of their own, their imports of
    ``dotted`` (the package's own name) renamed; returns the new package's name
    (``prefix`` + the commit) after putting ``folder`` on ``sys.path``."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True
        ).stdout

    commit = git("rev-parse", "--verify", f"{revision}^{{commit}}").strip()
    name = f"{prefix}{commit[:12]}"
    package = folder / name
    package.mkdir(parents=True, exist_ok=True)
    for path in git("ls-tree", "--name-only", commit, source).split():
        if path.endswith(".py"):
            text = git("show", f"{commit}:{path}").replace(dotted, name)
            (package / Path(path).name).write_text(text)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return name
