"""What the PyInstaller bundle must hold of ATRAP Studio itself, and what it leaves out.

Read by packaging/atrap-studio.spec and by tests/packaging (which checks it without building).
Our own files follow pyproject.toml: the packages and their folders (``package-dir``) and the
data files (``package-data``), so the bundle holds what ``pip install`` would install. A file
in a package folder that is neither Python nor named by ``package-data`` stops the build
(:class:`MissingResource`): a new icon or example that would be missing from the bundle is
found at build time, not at a user's first click.

This module needs only the standard library (the spec runs it inside PyInstaller, the tests
without it).
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

REPO = Path(__file__).resolve().parents[1]
#: The one executable; links to it carry the other commands' names (atrap_studio/launcher.py).
EXECUTABLE = "atrap-studio"
#: Qt modules nothing of ours uses (most are not even in PySide6-Essentials; named so that a
#: machine with the Addons installed does not bundle them either).
QT_EXCLUDES = tuple(
    f"PySide6.{name}"
    for name in (
        "QtWebEngineCore", "QtWebEngineWidgets", "QtWebEngineQuick", "QtWebChannel",
        "QtWebSockets", "QtMultimedia", "QtMultimediaWidgets", "QtSpatialAudio",
        "Qt3DCore", "Qt3DRender", "Qt3DInput", "Qt3DLogic", "Qt3DAnimation", "Qt3DExtras",
        "QtQuick", "QtQuick3D", "QtQuickControls2", "QtQuickWidgets", "QtQml", "QtCharts",
        "QtDataVisualization", "QtGraphs", "QtPdf", "QtPdfWidgets", "QtDesigner", "QtHelp",
        "QtUiTools", "QtSql", "QtTest", "QtBluetooth", "QtNfc", "QtPositioning",
        "QtLocation", "QtSensors", "QtSerialPort", "QtSerialBus", "QtRemoteObjects",
        "QtScxml", "QtStateMachine", "QtTextToSpeech", "QtHttpServer", "QtConcurrent",
        "QtNetworkAuth", "QtAxContainer",
    )
)  # fmt: skip
#: Python packages the program never imports that analysis would otherwise follow into (from
#: torch's optional code paths mostly: scipy and networkx alone were 80 MB).
PYTHON_EXCLUDES = (
    "tkinter",
    "PyQt5",
    "PyQt6",
    "PySide2",
    "IPython",
    "matplotlib",
    "pandas",
    "scipy",
    "networkx",
    "jax",
    "onnxruntime",  # our ONNX export writes the file with onnx alone; only tests run it
    "uvloop",  # uvicorn runs the crowd's aggregator on its own asyncio loop
    "PIL",
    "pytest",
    "hypothesis",
    "mypy",
    "torch.utils.benchmark",
    "torch.utils.tensorboard",
)
#: Files of the analysis (bundle paths, POSIX style) left out: torch's headers, CMake files,
#: static libraries and test libraries; MuJoCo's headers, docs and viewer; Qt's translations,
#: the plug-ins of other platforms (Wayland, EGLFS, input devices, network status, TLS) and
#: the GTK theme's plug-in with the GTK libraries only it loads.
DROP_PATTERNS = (
    "torch/include/*",
    "torch/share/*",
    "torch/test/*",
    "torch/lib/*.a",
    "torch/lib/*_test.so",
    "torch/bin/*",  # C++ test programs and protoc: 50 MB
    "torchgen/*",
    "*/tests/*",
    "mujoco/include/*",
    "mujoco/doc/*",
    "mujoco/studio/*",
    "mujoco/testdata/*",
    "PySide6/Qt/translations/*",
    "PySide6/Qt/plugins/platforms/*",
    "PySide6/Qt/plugins/platformthemes/*",
    "PySide6/Qt/plugins/printsupport/*",
    "PySide6/Qt/plugins/wayland-*",
    "PySide6/Qt/plugins/egldeviceintegrations/*",
    "PySide6/Qt/plugins/generic/*",
    "PySide6/Qt/plugins/networkinformation/*",
    "PySide6/Qt/plugins/tls/*",
    "PySide6/Qt/lib/libQt6Wayland*",
    "PySide6/Qt/lib/libQt6Wl*",
    "PySide6/Qt/lib/libQt6EglFs*",
    *(
        f"{library}*"
        for library in (
            "libgtk-3.so",
            "libgdk-3.so",
            "libgdk_pixbuf-2.0.so",
            "libatk-1.0.so",
            "libatk-bridge-2.0.so",
            "libatspi.so",
            "libcairo-gobject.so",
            "libpangocairo-1.0.so",
            "libepoxy.so",
        )
    ),
)
#: Platform plug-ins kept (matched after DROP_PATTERNS drops the others): xcb for X11 and
#: XWayland desktops, offscreen for headless runs and the self-test; Windows and macOS have
#: one each.
KEEP_PATTERNS = (
    "torch/bin/torch_shm_manager",  # torch looks for it when imported
    "PySide6/Qt/plugins/platforms/libqxcb.so",
    "PySide6/Qt/plugins/platforms/libqoffscreen.so",
    "PySide6/plugins/platforms/qwindows.dll",
    "PySide6/plugins/platforms/qoffscreen.dll",
    "PySide6/Qt/plugins/platforms/libqcocoa.dylib",
    "PySide6/Qt/plugins/platforms/libqoffscreen.dylib",
)


#: Libraries whose symbol tables and debugging information are stripped after the build
#: (Linux, where ``strip`` is): torch's, Python's own (23 -> 6 MB when built from source) and
#: cryptography's. Not those auditwheel patched (numpy's OpenBLAS...): stripping breaks them.
STRIP_PATTERNS = (
    "torch/lib/*.so*",
    "libpython3*.so*",
    "cryptography/hazmat/bindings/_rust*.so",
)


class MissingResource(Exception):
    """A file the bundle needs is missing, or a package holds a file no rule ships."""


@dataclass(frozen=True)
class Layout:
    """pyproject.toml's description of our packages: import name → folder, data patterns."""

    package_dirs: dict[str, Path]
    packages: tuple[str, ...]
    package_data: dict[str, tuple[str, ...]]

    @classmethod
    def read(cls, repo: Path = REPO) -> Layout:
        settings = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]
        dirs = {name: repo / folder for name, folder in settings["package-dir"].items()}
        data = {name: tuple(pats) for name, pats in settings.get("package-data", {}).items()}
        return cls(dirs, tuple(settings["packages"]), data)

    def folder(self, package: str) -> Path:
        """Where a package's files are in the source tree (following ``package-dir``)."""
        if package in self.package_dirs:
            return self.package_dirs[package]
        parent, _, leaf = package.rpartition(".")
        if not parent:
            raise MissingResource(f"pyproject.toml maps no folder to package {package!r}")
        return self.folder(parent) / leaf


def _own_files(folder: Path, layout: Layout) -> list[Path]:
    """Files of a package folder, less subfolders that are packages of their own or caches."""
    mapped = {d.resolve() for d in layout.package_dirs.values()}
    found = []
    for path in sorted(folder.iterdir()):
        if path.name in ("__pycache__",) or path.name.startswith("."):
            continue
        if path.is_dir():
            if path.resolve() in mapped or (path / "__init__.py").exists():
                continue  # a package: listed under its own name
            found.extend(p for p in sorted(path.rglob("*")) if p.is_file() and _kept(p))
        elif _kept(path):
            found.append(path)
    return found


def _kept(path: Path) -> bool:
    return "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo")


def modules(layout: Layout | None = None) -> list[str]:
    """Every module of our packages, by import name. The node library's implementations are
    imported by name when a run starts (core/registry.load_impl) and Flower imports the crowd's
    apps by name, so analysis cannot find them: the spec names them all."""
    layout = layout or Layout.read()
    unlisted = sorted(
        _package_of(init.parent, layout)
        for package in layout.packages
        for init in layout.folder(package).glob("*/__init__.py")
        if _package_of(init.parent, layout) not in layout.packages
    )
    if unlisted:
        raise MissingResource(
            "packages that pyproject.toml's [tool.setuptools] packages does not list (an "
            "install or the bundle would lack them): " + ", ".join(unlisted)
        )
    found = []
    for package in layout.packages:
        folder = layout.folder(package)
        if not (folder / "__init__.py").is_file():
            raise MissingResource(f"package {package!r}: {folder}/__init__.py is missing")
        found.append(package)
        for path in sorted(folder.glob("*.py")):
            if path.name != "__init__.py":
                found.append(f"{package}.{path.stem}")
    return found


def _package_of(folder: Path, layout: Layout) -> str:
    """The import name of a package folder found inside one of ours."""
    for package in layout.packages:
        if layout.folder(package).resolve() == folder.parent.resolve():
            return f"{package}.{folder.name}"
    return folder.name


def data_files(layout: Layout | None = None) -> list[tuple[Path, str]]:
    """Every data file of our packages as ``(source file, folder in the bundle)``, exactly the
    files ``package-data`` names.

    Raises:
        MissingResource: a pattern matches nothing (a folder moved or emptied), or a
            package holds a file that is not Python and that no pattern names.
    """
    layout = layout or Layout.read()
    found: list[tuple[Path, str]] = []
    unshipped: list[str] = []
    for package in layout.packages:
        folder = layout.folder(package)
        bundle_folder = PurePosixPath(*package.split("."))
        patterns = layout.package_data.get(package, ())
        for pattern in patterns:
            if not any(folder.glob(pattern)):
                raise MissingResource(f"{package}: package-data {pattern!r} matches no file")
        for path in _own_files(folder, layout):
            relative = path.relative_to(folder).as_posix()
            if any(fnmatch.fnmatchcase(relative, pattern) for pattern in patterns):
                found.append((path, str(bundle_folder / PurePosixPath(relative).parent)))
            elif path.suffix != ".py":
                unshipped.append(f"{package}: {relative}")
    if unshipped:
        raise MissingResource(
            "files in our packages that no package-data pattern in pyproject.toml ships (add "
            "a pattern, or move them out of the package): " + ", ".join(unshipped)
        )
    return found


def stage(destination: Path, layout: Layout | None = None) -> Path:
    """Copy our packages' Python files into ``destination`` laid out as installed
    (``nodes/`` as ``atrap_studio/nodes``...), for analysis to find them there: PyInstaller
    does not follow the editable install's import hook. Returns ``destination``."""
    layout = layout or Layout.read()
    if destination.exists():
        shutil.rmtree(destination)
    for package in layout.packages:
        target = destination.joinpath(*package.split("."))
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(layout.folder(package).glob("*.py")):
            shutil.copy2(path, target / path.name)
    return destination


def dropped(bundle_path: str) -> bool:
    """Whether a file of the analysis (its path in the bundle) is left out of the bundle."""
    posix = bundle_path.replace("\\", "/")
    if any(fnmatch.fnmatchcase(posix, pattern) for pattern in KEEP_PATTERNS):
        return False
    return any(fnmatch.fnmatchcase(posix, pattern) for pattern in DROP_PATTERNS)


def strippable(bundle: Path) -> list[Path]:
    """The bundle's libraries that STRIP_PATTERNS names (none where there is no ``strip``)."""
    internal = bundle / "_internal"
    if shutil.which("strip") is None or not internal.is_dir():
        return []
    return sorted(
        path
        for pattern in STRIP_PATTERNS
        for path in internal.glob(pattern)
        if path.is_file() and not path.is_symlink()
    )


#: Our modules that also go as source files: Flower reads the crowd's apps' module as text
#: (checking that ``server_app`` and ``client_app`` are defined there) before it starts a run.
SOURCE_MODULES = ("atrap_studio.crowd.apps",)


def collection_modes() -> dict[str, str]:
    """PyInstaller's ``module_collection_mode``: torch's (below) and ours (SOURCE_MODULES)."""
    return {**torch_sources_needed(), **dict.fromkeys(SOURCE_MODULES, "pyz+py")}


#: How a torch module declares TorchScript overloads (torch then reads its source).
_DECLARES_OVERLOADS = re.compile(
    r"_jit_internal import[^\n]*\b_overload\b|@_overload\b|_overload as overload|_overload_method"
)


def torch_sources_needed() -> dict[str, str]:
    """PyInstaller's collection mode for torch: its modules compiled in the archive only
    ("pyz"), except those whose source torch reads when they are imported, which also go as
    files ("pyz+py"): its config modules (``install_config_module``, an error without) and
    those declaring TorchScript overloads (``_overload``, a warning per function without).
    torch's hook ships every source file (40 MB); found by scanning the installed torch,
    without importing it."""
    import importlib.util

    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        raise MissingResource("torch is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    modes = {"torch": "pyz"}
    init = root / "__init__.py"
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent)
        if "testing" in relative.parts or path.name == "_jit_internal.py" or path == init:
            continue  # torch/__init__.py itself would put every module of torch as a file
        text = path.read_text(encoding="utf-8", errors="replace")
        if "install_config_module(" not in text and not _DECLARES_OVERLOADS.search(text):
            continue
        parts = relative.with_suffix("").parts
        modes[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = "pyz+py"
    return modes


def mypyc_helpers(*distributions: str) -> list[str]:
    """The top-level helper modules of packages compiled with mypyc (tomli's
    ``<hash>__mypyc``): their compiled modules import it by name, unseen by analysis."""
    import importlib.metadata

    found = []
    for name in distributions:
        for file in importlib.metadata.files(name) or []:
            if len(file.parts) == 1 and "__mypyc" in file.name:
                found.append(file.name.split(".")[0])
    return found


def command_links() -> list[str]:
    """The names the executable also answers to, as links beside it: the CLI and Flower's
    commands that a crowd starts by name (atrap_studio/launcher.py routes on the name)."""
    from atrap_studio.launcher import CLI, FLOWER_COMMANDS

    return [CLI, *FLOWER_COMMANDS]
