"""A peer runs a crowd run's app only when it is its own installation's ATRAP crowd app.

Flower's SuperNode runs whatever app bundle (FAB) a run brings, so whoever can start a run on
the aggregator could run code on every peer. Flower's own check (``--trusted-entities``)
needs signatures from Flower's platform, which an offline crowd does not have. So a peer's
SuperExec starts this module instead of Flower's ``flwr-clientapp`` (a command of that name
first on the peer's PATH, see :func:`write_launcher`). It runs Flower's ClientApp process
unchanged, except that the bundle is compared with the one this installation would send
before Flower unpacks it: any other bundle is refused — nothing of it is unpacked or
imported —, the peer's log says why, the aggregator gets an error reply for that message,
and the peer stays connected.
"""

from __future__ import annotations

import io
import shlex
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

from atrap_studio import __version__

APP_FILE = "pyproject.toml"
#: The manifest Flower adds to every bundle (file hashes; Flower checks them).
MANIFEST = ".info/CONTENT"
#: A pyproject larger than this is not ours (ours is under 2 kB).
MAX_APP_FILE = 64 * 1024
#: Every run setting with its default; the app's pyproject declares exactly these.
RUN_CONFIG: dict[str, str | int | float] = {
    "graph-file": "",
    "out-dir": "",
    "num-rounds": 3,
    "local-steps": 50,
    "strategy": "fedavg",
    "trim-beta": 0.2,
    "min-peers": 2,
    "round-timeout": 600.0,
    "poll-interval": 0.5,
    "eval-episodes": 1024,
    "seed": 0,
    # the distilling aggregator: the vast-world experiment's best remedy against client
    # drift (docs/crowd.md, "Remedies against client drift")
    "distill-steps": 300,
    "distill-batch": 512,
    "distill-lr": 0.0,  # 0: the rate the crowd's graph trains at
    "prox-mu": 0.0,
    "scaffold": 0,
}
CLIENT_APP = "atrap_studio.crowd.apps:client_app"
SERVER_APP = "atrap_studio.crowd.apps:server_app"


class AppRefused(Exception):
    """A crowd run brought an app that is not this peer's own ATRAP crowd app."""


def app_pyproject(settings: dict[str, str | int | float]) -> str:
    """The only file of the crowd's app bundle: our installed apps by name, their settings
    (``settings``, the run settings' defaults) and the version of ATRAP Studio."""
    lines = "\n".join(f"{key} = {_toml(value)}" for key, value in settings.items())
    return f"""[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "atrap-crowd"
version = "{__version__}"
description = "ATRAP Studio crowd training (the code is the installed atrap_studio package)"
license = "MIT"
dependencies = []

[tool.flwr.app]
publisher = "atrap"

[tool.flwr.app.components]
serverapp = "{SERVER_APP}"
clientapp = "{CLIENT_APP}"

[tool.flwr.app.config]
{lines}
"""


def own_app() -> bytes:
    """The pyproject of this installation's crowd app."""
    return app_pyproject(RUN_CONFIG).encode()


def fab_problem(content: bytes, expected: bytes) -> str | None:
    """Why the bundle ``content`` is not the app whose pyproject is ``expected``, or None.

    The pyprojects are compared as TOML data: Flower rewrites the file's layout when it
    builds a bundle."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as fab:
            names = fab.namelist()
            extra = sorted(set(names) - {APP_FILE, MANIFEST})
            if extra:
                shown = ", ".join(repr(name[:80]) for name in extra[:5])
                more = f" and {len(extra) - 5} more" if len(extra) > 5 else ""
                return f"it brings files this peer's crowd app does not have: {shown}{more}"
            if len(names) != len(set(names)):
                return "it holds a file twice"
            if APP_FILE not in names:
                return f"it has no {APP_FILE}"
            if fab.getinfo(APP_FILE).file_size > MAX_APP_FILE:
                return f"its {APP_FILE} is larger than ours could be"
            text = fab.read(APP_FILE)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        return f"it is not a readable app bundle ({exc})"
    ours = tomllib.loads(expected.decode())
    try:
        theirs: dict[str, Any] = tomllib.loads(text.decode())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return f"its {APP_FILE} is not readable TOML ({exc})"
    where = _difference(ours, theirs)
    if where is None:
        return None
    return (
        f"it is not this peer's app ({_describe(ours)}): it is {_describe(theirs)}, "
        f"and its {APP_FILE} differs at {where}"
    )


def _difference(ours: Any, theirs: Any, where: str = "") -> str | None:
    """The first dotted key where two TOML documents differ, or None if they are equal."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in sorted(set(ours) | set(theirs), key=str):
            inner = _difference(ours.get(key), theirs.get(key), f"{where}.{key}".lstrip("."))
            if inner is not None:
                return inner
        return None
    if ours == theirs and type(ours) is type(theirs):
        return None
    return repr(where[:120]) if where else "its top level"


def _describe(pyproject: dict[str, Any]) -> str:
    """The app, version and client app a pyproject names, for people."""
    try:
        project = pyproject.get("project", {})
        component = pyproject["tool"]["flwr"]["app"]["components"].get("clientapp", "?")
        text = f"{project.get('name', '?')} {project.get('version', '?')}, client app {component}"
    except (KeyError, TypeError, AttributeError):
        return "an app without a named client app"
    return "".join(c if c.isprintable() else "?" for c in text)[:200]


def write_launcher(folder: Path) -> Path:
    """A ``flwr-clientapp`` command in ``folder`` that runs this module with this Python; put
    ``folder`` first on the peer's PATH. Returns the command's path."""
    from atrap_studio.core.yaml_io import write_bytes_atomic  # not needed by main()

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "flwr-clientapp"
    script = f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m atrap_studio.crowd.app_check "$@"\n'
    write_bytes_atomic(script.encode(), path, mode=0o755)
    return path


def main() -> None:
    """Flower's ``flwr-clientapp``, with the bundle checked before it is unpacked."""
    from logging import ERROR

    from flwr.supercore import log
    from flwr.supernode.cli.flwr_clientapp import flwr_clientapp
    from flwr.supernode.runtime import run_clientapp as runtime

    install = runtime.install_from_fab  # type: ignore[attr-defined]

    def install_ours_only(
        fab_file: Path | bytes, install_dir: Path | None = None, skip_prompt: bool = False
    ) -> Path:
        content = fab_file if isinstance(fab_file, bytes) else Path(fab_file).read_bytes()
        problem = fab_problem(content, own_app())
        if problem:
            reason = f"refused to run the crowd run's app: {problem}"
            log(ERROR, "%s (this peer runs only its own ATRAP Studio crowd app)", reason)
            raise AppRefused(reason)
        return install(fab_file, install_dir, skip_prompt)

    runtime.install_from_fab = install_ours_only  # type: ignore[attr-defined]  # the one call that unpacks a run's bundle
    flwr_clientapp()


def _toml(value: str | int | float) -> str:
    """A TOML value; strings as basic strings (JSON escapes are valid TOML escapes)."""
    import json

    return json.dumps(value) if isinstance(value, str) else repr(value)


if __name__ == "__main__":
    main()
