"""What the PyInstaller bundle holds of ours (packaging/bundle_contents.py, read by the spec),
checked without building: every example, help page and web template, every module of the node
library (imported by name when a run starts), and a loud failure for a file no rule ships."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from atrap_studio.examples import example_names
from atrap_studio.nodes import builtin_registry

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "packaging" / "atrap-studio.spec"


def _load() -> ModuleType:
    """packaging/bundle_contents.py by its path: packaging/ is not a package (its name would
    hide the ``packaging`` distribution that Flower and pip import)."""
    spec = importlib.util.spec_from_file_location(
        "bundle_contents", REPO / "packaging" / "bundle_contents.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bundle_contents", module)
    spec.loader.exec_module(module)
    return module


contents = _load()


def test_every_shipped_example_help_page_and_web_template_is_in_the_bundle() -> None:
    shipped = {(source.resolve(), folder) for source, folder in contents.data_files()}
    examples = sorted((REPO / "resources" / "examples").glob("*.yaml"))
    assert len(examples) == len(example_names()) >= 10
    for path in examples:
        assert (path.resolve(), "atrap_studio/resources/examples") in shipped, path.name
    for name in ("help/quick-start.md", "web/policy_page.html", "web/tank_page.html"):
        source = (REPO / "resources" / name).resolve()
        assert (source, f"atrap_studio/resources/{Path(name).parent}") in shipped, name
    assert not (REPO / "packaging" / "__init__.py").exists()


def test_every_node_implementation_and_the_crowd_apps_are_named_for_the_bundle() -> None:
    """Specs name their implementations as strings and Flower imports the crowd's apps by name:
    analysis cannot see them, so the spec names every module of ours."""
    modules = set(contents.modules())
    registry = builtin_registry()
    for spec in registry:
        assert spec.impl.partition(":")[0] in modules, f"{spec.type}: {spec.impl}"
    for name in (
        "atrap_studio.nodes.scenes.tanks.arena",
        "atrap_studio.runtime.trainers.ppo",
        "atrap_studio.runtime.architect.growth",
        "atrap_studio.crowd.apps",
        "atrap_studio.launcher",
        "atrap_studio.self_test",
    ):
        assert name in modules, name


def test_the_stage_holds_every_module_where_an_install_puts_it(tmp_path: Path) -> None:
    staged = contents.stage(tmp_path / "stage")
    for module in contents.modules():
        path = staged.joinpath(*module.split("."))
        assert (path / "__init__.py").is_file() or path.with_suffix(".py").is_file(), module
    assert (staged / "atrap_studio" / "nodes" / "specs" / "scenes.py").is_file()
    assert not (staged / "nodes").exists()


def test_the_spec_takes_its_lists_from_the_contents_module() -> None:
    text = SPEC.read_text()
    for used in (
        "contents.data_files(",
        "contents.modules(",
        "contents.binaries_kept(",
        "contents.datas_kept(",
        "contents.command_links()",
        "PySide6.QtSvg",
        "contents.QT_EXCLUDES",
        "contents.strippable(",
    ):
        assert used in text, used


def _copy_tree(tmp_path: Path) -> Path:
    """A copy of the repository's packages and pyproject to break."""
    repo = tmp_path / "repo"
    for folder in ("atrap_studio", "nodes", "resources"):
        shutil.copytree(REPO / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", repo / "pyproject.toml")
    return repo


def test_a_data_file_no_rule_ships_stops_the_build(tmp_path: Path) -> None:
    repo = _copy_tree(tmp_path)
    icons = repo / "resources" / "icons"
    icons.mkdir()
    (icons / "run.svg").write_text("<svg/>")
    with pytest.raises(contents.MissingResource, match=r"atrap_studio.resources: icons/run.svg"):
        contents.data_files(contents.Layout.read(repo))


def test_a_pattern_that_matches_nothing_stops_the_build(tmp_path: Path) -> None:
    repo = _copy_tree(tmp_path)
    shutil.rmtree(repo / "resources" / "examples")
    with pytest.raises(contents.MissingResource, match=r"'examples/\*.yaml' matches no file"):
        contents.data_files(contents.Layout.read(repo))


def test_a_package_pyproject_does_not_list_stops_the_build(tmp_path: Path) -> None:
    repo = _copy_tree(tmp_path)
    extra = repo / "atrap_studio" / "runtime" / "extras"
    extra.mkdir()
    (extra / "__init__.py").write_text("")
    with pytest.raises(contents.MissingResource, match=r"atrap_studio\.runtime\.extras"):
        contents.modules(contents.Layout.read(repo))


@pytest.mark.parametrize(
    ("path", "left_out"),
    [
        ("torch/include/ATen/Tensor.h", True),
        ("torch/lib/libtorch_cpu.so", False),
        ("torch/share/cmake/Torch/TorchConfig.cmake", True),
        ("torch/bin/test_api", True),
        ("torch/bin/torch_shm_manager", False),
        ("PySide6/Qt/translations/qtbase_de.qm", True),
        ("PySide6/Qt/plugins/platforms/libqxcb.so", False),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", False),
        ("PySide6/Qt/plugins/platforms/libqvnc.so", True),
        ("PySide6/Qt/plugins/imageformats/libqsvg.so", False),
        ("atrap_studio/resources/examples/robot_arm_reach.yaml", False),
    ],
)
def test_what_is_left_out_of_the_bundle(path: str, left_out: bool) -> None:
    assert contents.dropped(path) is left_out


def test_the_commands_beside_the_executable_are_those_flower_starts_by_name() -> None:
    links = contents.command_links()
    assert "atrap" in links
    assert {"flwr", "flower-superexec", "flwr-serverapp", "flwr-clientapp"} <= set(links)


def _site_library(package: str, pattern: str) -> Path:
    """A compiled file of an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations
    return next(Path(next(iter(spec.submodule_search_locations))).glob(pattern))


@pytest.mark.skipif(shutil.which("strip") is None, reason="no strip: nothing is stripped")
def test_every_library_is_stripped_but_those_auditwheel_patched(tmp_path: Path) -> None:
    """Stripping a library that auditwheel patched (numpy's OpenBLAS) breaks it: those in a
    ``.libs`` folder and the extension modules pointed there (RPATH) are left as they are."""
    internal = tmp_path / "atrap-studio" / "_internal"
    copies = {
        "torch/_C.so": _site_library("torch", "_C.*.so"),  # RUNPATH $ORIGIN: stripped
        "numpy/linalg/_umath_linalg.so": _site_library("numpy", "linalg/_umath_linalg.*.so"),
    }
    for name, source in copies.items():
        (internal / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, internal / name)
    (internal / "numpy.libs").mkdir()
    shutil.copy(copies["torch/_C.so"], internal / "numpy.libs/libscipy_openblas64_.so")
    (internal / "torch/lib").mkdir()
    (internal / "torch/lib/libc10.so").write_bytes(b"\x7fELF")
    (internal / "torch/lib/libc10.so.2").symlink_to("libc10.so")
    (internal / "PySide6/Qt/lib").mkdir(parents=True)
    (internal / "PySide6/Qt/lib/libicudata.so.73").write_bytes(b"\x7fELF")
    (internal / "torch/lib/notes.so.txt").write_text("not a library")
    found = contents.strippable(tmp_path / "atrap-studio")
    names = [p.relative_to(internal).as_posix() for p in found]
    assert names == ["PySide6/Qt/lib/libicudata.so.73", "torch/_C.so", "torch/lib/libc10.so"]
    assert contents.auditwheel_repaired(internal / "numpy/linalg/_umath_linalg.so")


def test_the_libraries_only_a_file_left_out_loaded_go_with_it() -> None:
    """The GTK theme plug-in is left out: cairo (which only it loads) goes, and pixman (which
    only cairo loads); glib stays, Qt loads it too. Links to what went go with it."""
    loads = {
        "/qt/libqgtk3.so": [
            "libgtk-3.so.0",
            "libcairo.so.2",
            "libpixman-1.so.0",
            "libglib-2.0.so.0",
        ],
        "/sys/libgtk-3.so.0": ["libcairo.so.2", "libpixman-1.so.0", "libglib-2.0.so.0"],
        "/sys/libcairo.so.2": ["libpixman-1.so.0"],
        "/sys/libpixman-1.so.0": [],
        "/sys/libglib-2.0.so.0": [],
        "/qt/libQt6Core.so.6": ["libglib-2.0.so.0"],
        "/sys/libpython3.11.so.1.0": [],
    }
    binaries = [
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", "/qt/libqgtk3.so", "BINARY"),
        ("libgtk-3.so.0", "/sys/libgtk-3.so.0", "BINARY"),
        ("libcairo.so.2", "/sys/libcairo.so.2", "BINARY"),
        ("libpixman-1.so.0", "/sys/libpixman-1.so.0", "BINARY"),
        ("libglib-2.0.so.0", "/sys/libglib-2.0.so.0", "BINARY"),
        ("PySide6/Qt/lib/libQt6Core.so.6", "/qt/libQt6Core.so.6", "BINARY"),
        ("libpython3.11.so.1.0", "/sys/libpython3.11.so.1.0", "BINARY"),  # nothing loads it
    ]
    kept, gone = contents.binaries_kept(binaries, loads.__getitem__)
    assert [entry[0] for entry in kept] == [
        "libglib-2.0.so.0",
        "PySide6/Qt/lib/libQt6Core.so.6",
        "libpython3.11.so.1.0",
    ]
    assert gone == {entry[0] for entry in binaries} - {entry[0] for entry in kept}
    links = [
        ("libQt6Core.so.6", "PySide6/Qt/lib/libQt6Core.so.6", "SYMLINK"),
        ("libqgtk3.so", "PySide6/Qt/plugins/platformthemes/libqgtk3.so", "SYMLINK"),
        ("torch-2.13.0.dist-info/RECORD", "/site/torch-2.13.0.dist-info/RECORD", "DATA"),
        ("torch-2.13.0.dist-info/METADATA", "/site/torch-2.13.0.dist-info/METADATA", "DATA"),
    ]
    assert [entry[0] for entry in contents.datas_kept(links, gone)] == [
        "libQt6Core.so.6",
        "torch-2.13.0.dist-info/METADATA",
    ]


def _imported_by(path: Path) -> set[str]:
    """The modules a Python file imports, by absolute name (relative imports are ours)."""
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_nothing_the_bundle_leaves_out_is_imported_by_our_code() -> None:
    layout = contents.Layout.read()
    found = {
        f"{path.relative_to(REPO)} imports {module}"
        for package in layout.packages
        for path in layout.folder(package).glob("*.py")
        for module in _imported_by(path)
        if contents.excluded_module(module)
    }
    assert not found


@pytest.mark.slow  # trains a few updates and writes every export format in a fresh Python
def test_training_network_files_and_exports_import_nothing_the_bundle_leaves_out(
    tmp_path: Path,
) -> None:
    """torch imports parts of itself lazily (its compiler, when an optimiser first steps): a
    short run, its network file read back and its exports, in a fresh Python, must not import
    any module the bundle leaves out (the bundle's self-test covers the rest, built)."""
    script = """
import json, sys
started = set(sys.modules)  # and those the virtual environment's .pth files import
from atrap_studio.cli.main import main
assert main(["run", "--example", "robot_arm_reach", "--steps", "3", "--threads", "1",
             "--out", "run", "--quiet"]) == 0
assert main(["export", "run/network.atrapnet", "--onnx", "net.onnx", "--json", "net.json",
             "--html", "net.html"]) == 0
assert main(["info", "run/network.atrapnet"]) == 0
print(json.dumps(sorted(set(sys.modules) - started)))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    imported = json.loads(done.stdout.splitlines()[-1])
    assert "torch._dynamo" in imported  # what makes this check worth its seconds
    assert [module for module in imported if contents.excluded_module(module)] == []


def test_torch_goes_compiled_but_for_the_modules_that_read_their_own_source() -> None:
    modes = contents.torch_sources_needed()
    assert modes["torch"] == "pyz"
    for config in ("torch._dynamo.config", "torch.distributed.config", "torch._inductor.config"):
        assert modes[config] == "pyz+py", config
    for overloads in ("torch.nn.functional", "torch.functional", "torch.nn.modules.rnn"):
        assert modes[overloads] == "pyz+py", overloads
    assert len(modes) < 40  # a few files, not torch's 2,000
    assert not any("testing" in name for name in modes)


def test_the_crowd_apps_go_as_source_too_because_flower_reads_them() -> None:
    from atrap_studio.crowd.app_check import CLIENT_APP, SERVER_APP

    modes = contents.collection_modes()
    for app in (CLIENT_APP, SERVER_APP):
        assert modes[app.partition(":")[0]] == "pyz+py", app
