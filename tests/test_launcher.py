"""The one executable's commands (atrap_studio/launcher.py): which name and arguments run what,
the names checked against Flower's and the CLI's own lists, and real runs from source."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from atrap_studio import __version__
from atrap_studio.cli.main import build_parser
from atrap_studio.launcher import (
    CLI_COMMANDS,
    CROWD_MODULES,
    FLOWER_COMMANDS,
    UnknownModule,
    command_name,
    route,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("argv", "target", "args"),
    [
        (["/opt/atrap-studio/atrap-studio"], "atrap_studio.ui.app:main", ()),
        (["atrap-studio", "graph.yaml"], "atrap_studio.ui.app:main", ("graph.yaml",)),
        (["atrap-studio", "--screenshot", "a.png"], "atrap_studio.ui.app:main",
         ("--screenshot", "a.png")),
        (["atrap-studio", "run", "g.yaml"], "atrap_studio.cli.main:main", ("run", "g.yaml")),
        (["atrap-studio", "--version"], "atrap_studio.cli.main:main", ("--version",)),
        (["/opt/x/atrap"], "atrap_studio.cli.main:main", ()),
        (["/opt/x/atrap", "graph.yaml"], "atrap_studio.cli.main:main", ("graph.yaml",)),
        (["ATRAP.EXE", "nodes"], "atrap_studio.cli.main:main", ("nodes",)),
        (["atrap-studio", "--self-test", "--steps", "5"], "atrap_studio.self_test:main",
         ("--steps", "5")),
        (["atrap-studio", "-m", "atrap_studio.crowd.supernode", "--parent-pid", "1"],
         "atrap_studio.crowd.supernode:main", ("--parent-pid", "1")),
        (["/b/flower-superexec", "--help"], "flwr.supercore.cli:flower_superexec", ("--help",)),
        (["/b/flwr-serverapp"], "flwr.superlink.cli:flwr_serverapp", ()),
        (["/b/flwr", "ls"], "flwr.cli.app:app", ("ls",)),
    ],
)  # fmt: skip
def test_the_name_and_first_arguments_choose_the_command(
    argv: list[str], target: str, args: tuple[str, ...]
) -> None:
    chosen = route(argv)
    assert chosen.target == target
    assert chosen.argv[1:] == args


def test_flower_and_the_crowd_modules_read_their_arguments_from_sys_argv() -> None:
    flower = route(["flwr-clientapp", "--insecure"])
    assert flower.argv == ("flwr-clientapp", "--insecure") and not flower.call_with_args
    crowd = route(["atrap-studio", "-m", "atrap_studio.crowd.app_check", "--x"])
    assert crowd.argv == ("atrap_studio.crowd.app_check", "--x") and not crowd.call_with_args


@pytest.mark.parametrize("module", ["os", "atrap_studio.cli.main", ""])
def test_dash_m_runs_only_the_crowds_modules(module: str) -> None:
    with pytest.raises(UnknownModule, match="runs only the crowd's processes"):
        route(["atrap-studio", "-m", *([module] if module else [])])


def test_command_names_drop_folders_and_exe() -> None:
    assert command_name(r"C:\Program Files\ATRAP\flwr-serverapp.exe".replace("\\", "/")) == (
        "flwr-serverapp"
    )
    assert command_name("/usr/local/bin/atrap") == "atrap"


def test_flowers_commands_are_its_installed_console_scripts() -> None:
    """A Flower upgrade that renames or moves a command fails here, not in a user's crowd."""
    scripts = {
        entry.name: entry.value
        for entry in importlib.metadata.entry_points(group="console_scripts")
        if entry.dist is not None and entry.dist.name == "flwr"
    }
    for name, target in FLOWER_COMMANDS.items():
        assert scripts.get(name) == target, name
    for needed in ("flower-superexec", "flwr-serverapp", "flwr-clientapp"):  # started by name
        assert needed in FLOWER_COMMANDS


def test_the_cli_commands_are_the_parsers() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    assert set(subparsers.choices) == CLI_COMMANDS  # type: ignore[arg-type]


def test_every_module_the_crowd_starts_with_dash_m_is_routed() -> None:
    started = set()
    for path in (REPO / "atrap_studio" / "crowd").glob("*.py"):
        started |= set(re.findall(r'"-m",?\s*"(atrap_studio\.[\w.]+)"', path.read_text()))
        started |= set(re.findall(r"-m (atrap_studio\.[\w.]+)", path.read_text()))
    started -= {m for m in started if m.endswith(".")}
    assert started and started <= set(CROWD_MODULES), started


def _launch(*argv: str) -> subprocess.CompletedProcess[str]:
    """The launcher run from source, as the bundle runs it, with ``argv`` as its sys.argv."""
    code = "import sys; from atrap_studio.launcher import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "FLWR_TELEMETRY_ENABLED": "0", "FLWR_DISABLE_UPDATE_CHECK": "1"},
    )


def test_the_launcher_runs_the_cli_flower_and_the_crowds_modules_from_source() -> None:
    version = _launch("atrap-studio", "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"atrap {__version__}"
    flwr = _launch("/somewhere/flwr", "--version")
    assert flwr.returncode == 0, flwr.stderr
    assert importlib.metadata.version("flwr") in flwr.stdout
    supernode = _launch("atrap-studio", "-m", "atrap_studio.crowd.supernode", "--help")
    assert supernode.returncode == 0 and "--parent-pid" in supernode.stdout
    refused = _launch("atrap-studio", "-m", "os")
    assert refused.returncode == 2
    assert "error: atrap-studio -m runs only the crowd's processes" in refused.stderr
