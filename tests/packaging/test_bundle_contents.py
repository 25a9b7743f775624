"""What the PyInstaller bundle holds of ours (packaging/bundle_contents.py, read by the spec),
checked without building: every example, help page and web template, every module of the node
library (imported by name when a run starts), and a loud failure for a file no rule ships."""

from __future__ import annotations

import importlib.util
import shutil
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
        "contents.dropped(",
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


def test_only_the_named_libraries_are_stripped(tmp_path: Path) -> None:
    """Stripping a library that auditwheel patched (numpy's OpenBLAS) breaks it."""
    internal = tmp_path / "atrap-studio" / "_internal"
    names = ("torch/lib/libtorch_cpu.so", "torch/lib/libc10.so", "numpy.libs/libopenblas.so")
    for name in (*names, "libpython3.11.so.1.0", "numpy/_core/_multiarray_umath.so"):
        (internal / name).parent.mkdir(parents=True, exist_ok=True)
        (internal / name).write_bytes(b"\x7fELF")
    (internal / "torch/lib/libtorch.so.2").symlink_to("libtorch_cpu.so")
    found = contents.strippable(tmp_path / "atrap-studio")
    if shutil.which("strip") is None:
        assert found == []
    else:
        assert [p.name for p in found] == ["libpython3.11.so.1.0", "libc10.so", "libtorch_cpu.so"]


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
