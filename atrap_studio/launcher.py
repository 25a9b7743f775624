"""One program, several commands: what the packaged executable runs, chosen by its name and
its first arguments.

The PyInstaller bundle (packaging/) holds one executable, ``atrap-studio``, and links to it
named ``atrap`` and as Flower's helper commands. Flower starts its helpers by command name
(``flower-superexec``, then ``flwr-serverapp`` or ``flwr-clientapp``), and the crowd starts
its own processes as ``sys.executable -m MODULE`` (crowd/processes.py): in a bundle,
``sys.executable`` is this program, so it answers to those names and to ``-m`` for the crowd's
modules, and the crowd's code is the same frozen or not.

* named as one of Flower's commands: that command;
* ``-m MODULE ARGS``: one of the crowd's process modules (only those);
* ``--self-test ARGS``: the self-test (atrap_studio/self_test.py);
* named ``atrap``, or first argument a command of ``atrap`` (``run``, ``validate``...) or
  ``--version``: the command line;
* anything else, no arguments included: the editor.

From source, ``python -m atrap_studio.launcher ARGS`` routes the same way (as ``atrap-studio``).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePath

#: Flower's console scripts (flwr's entry points; tests/test_launcher.py checks them against
#: the installed flwr) that a crowd starts by name.
FLOWER_COMMANDS: dict[str, str] = {
    "flwr": "flwr.cli.app:app",
    "flower-superlink": "flwr.superlink.cli:flower_superlink",
    "flower-supernode": "flwr.supernode.cli:flower_supernode",
    "flower-superexec": "flwr.supercore.cli:flower_superexec",
    "flwr-serverapp": "flwr.superlink.cli:flwr_serverapp",
    "flwr-clientapp": "flwr.supernode.cli:flwr_clientapp",
}
#: The modules the crowd starts as ``sys.executable -m MODULE`` (crowd/processes.py,
#: crowd/app_check.py), each with a ``main()``.
CROWD_MODULES = (
    "atrap_studio.crowd.superlink",
    "atrap_studio.crowd.supernode",
    "atrap_studio.crowd.app_check",
)
#: The commands of ``atrap`` (cli/main.py; a test checks the list against its parser).
CLI_COMMANDS = frozenset(
    {
        "validate", "run", "eval", "nodes", "schema", "info", "export", "import", "merge",
        "crowd", "experiment", "ik",
    }
)  # fmt: skip
EDITOR = "atrap-studio"
CLI = "atrap"
SELF_TEST = "--self-test"


@dataclass(frozen=True)
class Route:
    """What to run: ``target`` (``module:function``), with ``argv`` as its ``sys.argv`` (its
    name first); ``call_with_args``: the function is given the arguments, else it reads them
    from ``sys.argv`` (Flower's commands, the crowd's modules)."""

    target: str
    argv: tuple[str, ...]
    call_with_args: bool = True


class UnknownModule(Exception):
    """``-m`` named a module this program does not run."""


def command_name(argv0: str) -> str:
    """The command a program was started as: ``/opt/x/flwr-serverapp.exe`` → ``flwr-serverapp``."""
    name = PurePath(argv0).name.lower()
    return name[: -len(".exe")] if name.endswith(".exe") else name


def route(argv: Sequence[str]) -> Route:
    """Which command ``argv`` (``sys.argv``, the program's own name first) asks for."""
    name = command_name(argv[0]) if argv else EDITOR
    args = tuple(argv[1:])
    if name in FLOWER_COMMANDS:
        return Route(FLOWER_COMMANDS[name], (name, *args), call_with_args=False)
    if args[:1] == ("-m",):
        module = args[1] if len(args) > 1 else ""
        if module not in CROWD_MODULES:
            raise UnknownModule(
                f"{EDITOR} -m runs only the crowd's processes ({', '.join(CROWD_MODULES)}), "
                f"not {module!r}"
            )
        return Route(f"{module}:main", (module, *args[2:]), call_with_args=False)
    if args[:1] == (SELF_TEST,):
        return Route("atrap_studio.self_test:main", (SELF_TEST, *args[1:]))
    if name == CLI or (args and (args[0] in CLI_COMMANDS or args[0] == "--version")):
        return Route("atrap_studio.cli.main:main", (CLI, *args))
    return Route("atrap_studio.ui.app:main", (EDITOR, *args))


def run(chosen: Route) -> int:
    """Run a route's function as its command would: its exit status."""
    module, _, function = chosen.target.partition(":")
    entry: Callable[..., object] = getattr(importlib.import_module(module), function)
    sys.argv = list(chosen.argv)
    try:
        code = entry(list(chosen.argv[1:])) if chosen.call_with_args else entry()
    except SystemExit as done:  # argparse, typer and Flower end so
        code = done.code
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    try:
        chosen = route(sys.argv if argv is None else argv)
    except UnknownModule as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return run(chosen)


if __name__ == "__main__":
    sys.exit(main([EDITOR, *sys.argv[1:]]))
