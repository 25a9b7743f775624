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
import subprocess
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

REPO = Path(__file__).resolve().parents[1]
#: The one executable; links to it carry the other commands' names (atrap_studio/launcher.py).
EXECUTABLE = "atrap-studio"
#: Qt modules nothing of ours uses (most are not even in PySide6-Essentials; named so that a
#: machine with the Addons installed does not bundle them either). QtNetwork went too (with
#: the Kerberos libraries only it loads: 5 MB); QtDBus's library stays, Qt's GUI loads it.
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
        "QtNetworkAuth", "QtAxContainer", "QtNetwork", "QtDBus",
    )
)  # fmt: skip
#: Python packages and modules the program never imports that analysis would otherwise follow
#: into, mostly from optional code paths of torch. Those added with issue 17's size goal were
#: checked by running every feature from source with every import recorded (the self-test with
#: its crowd; the commands the docs show: run, eval, info, export to JSON, HTML and ONNX,
#: import, merge, ik, the experiments): none of them was imported. tests/packaging checks that
#: our code imports none, and that training, network files and exports do not either. More
#: (onnx.reference, _pytest, numpy.f2py, mujoco.sysid...) went unimported too, but leaving them
#: out as well made the bundle's OpenGL views crash (docs/packaging.md).
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
    "functorch",
    "torch.utils.benchmark",
    "torch.utils.tensorboard",
    "torch.utils.cpp_extension",
    "torch.utils.hipify",
    # torch.compile's code generators: torch imports its compiler when an optimiser steps (to
    # keep the step out of it), never these, as nothing of ours compiles (3 MB compressed)
    "torch._inductor.codegen",
    "torch._inductor.fx_passes",
    "torch._inductor.kernel",
    "torch._inductor.codecache",
    "torch._inductor.ir",
    "torch._inductor.lowering",
    "torch._inductor.scheduler",
    "torch._inductor.select_algorithm",
    "torch._vendor.quack",  # GPU kernels
    # torch's own test helpers (torch imports a few others of torch.testing._internal)
    "torch.testing._internal.common_methods_invocations",
    "torch.testing._internal.common_utils",
    "torch.testing._internal.common_nn",
    "torch.testing._internal.opinfo",
    "torch.testing._internal.generated",
    "torch.testing._internal.distributed.rpc",
    "torch.testing._internal.distributed.distributed_test",
    # training on several machines with torch (the crowd is Flower's)
    "torch.distributed.checkpoint",
    "torch.distributed.elastic",
    "torch.distributed.pipelining",
    # sound (pygame's mixer and the decoders only it loads: 6 MB); gymnasium plays none
    "pygame.mixer",
    "pygame.mixer_music",
    "pygame._sdl2.mixer",
    "pygame.sndarray",
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
    "torch/lib/libaoti_custom_ops.so",  # examples of torch's own tests
    "torch/lib/libbackend_with_compiler.so",
    "torch/bin/*",  # C++ test programs and protoc: 50 MB
    "torchgen/*",
    "*/tests/*",
    "*.dist-info/RECORD",  # the lists of installed files (torch's: 1.5 MB); licences stay
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


def excluded_module(name: str) -> bool:
    """Whether the bundle leaves a Python module out (PYTHON_EXCLUDES or QT_EXCLUDES names it or
    a package holding it)."""
    return any(
        name == excluded or name.startswith(excluded + ".")
        for excluded in (*PYTHON_EXCLUDES, *QT_EXCLUDES)
    )


def dropped(bundle_path: str) -> bool:
    """Whether a file of the analysis (its path in the bundle) is left out of the bundle."""
    posix = bundle_path.replace("\\", "/")
    if any(fnmatch.fnmatchcase(posix, pattern) for pattern in KEEP_PATTERNS):
        return False
    return any(fnmatch.fnmatchcase(posix, pattern) for pattern in DROP_PATTERNS)


#: An entry of PyInstaller's lists of files: (path in the bundle, source, kind).
Entry = tuple[str, str, str]


def binaries_kept(
    binaries: list[Entry], imports: Callable[[str], Iterable[str]]
) -> tuple[list[Entry], set[str]]:
    """The analysis's binaries less those DROP_PATTERNS leaves out and less the libraries that
    only those needed: a plug-in left out leaves its libraries behind otherwise (the GTK theme's
    cairo, pango, gio...: 8 MB that nothing kept loads). ``imports(source)`` names the libraries
    a binary loads (PyInstaller's ``bindepend.get_imports``: on Linux ``ldd``, all of them, not
    only the direct ones). Returns the kept entries and the bundle paths of those left out."""
    libraries = [entry for entry in binaries if entry[2] != "SYMLINK"]
    loads = {
        entry[1]: {PurePosixPath(name).name.casefold() for name in imports(entry[1])}
        for entry in libraries
    }
    gone = {entry[0] for entry in binaries if dropped(entry[0])}
    needed_by_gone = {name for entry in libraries if entry[0] in gone for name in loads[entry[1]]}
    while True:
        kept = [entry for entry in libraries if entry[0] not in gone]
        needed = {name for entry in kept for name in loads[entry[1]]}
        orphans = {
            entry[0]
            for entry in kept
            if PurePosixPath(entry[0]).name.casefold() in needed_by_gone - needed
        }
        if not orphans:
            break
        gone |= orphans
    return [entry for entry in binaries if entry[0] not in gone], gone


def datas_kept(datas: list[Entry], binaries_gone: set[str]) -> list[Entry]:
    """The analysis's data files less those DROP_PATTERNS leaves out and less PyInstaller's
    links to binaries that were left out (``libQt6Core.so.6`` -> ``PySide6/Qt/lib/...``)."""
    return [
        entry
        for entry in datas
        if not dropped(entry[0]) and not (entry[2] == "SYMLINK" and entry[1] in binaries_gone)
    ]


def strippable(bundle: Path) -> list[Path]:
    """The bundle's shared libraries to strip of their symbol tables and debugging information
    after the build (Linux, where ``strip`` is; the dynamic symbols stay): all of them (28 MB
    more than torch's, Python's and cryptography's alone: Python's extension modules,
    sqlalchemy's, PyYAML's, ICU...), except those auditwheel repaired (:func:`auditwheel_repaired`),
    which stripping breaks."""
    internal = bundle / "_internal"
    if shutil.which("strip") is None or not internal.is_dir():
        return []
    return sorted(
        path
        for path in internal.rglob("*.so*")
        if path.is_file()
        and not path.is_symlink()
        and _is_shared_library(path)
        and not auditwheel_repaired(path)
    )


def _is_shared_library(path: Path) -> bool:
    name = path.name
    if not (name.endswith(".so") or ".so." in name):
        return False
    with path.open("rb") as file:
        return file.read(4) == b"\x7fELF"


#: How auditwheel points an extension module at the libraries it copied into the wheel.
_AUDITWHEEL_RPATH = re.compile(r"\((?:RPATH|RUNPATH)\)[^\n]*\.libs\b")


def auditwheel_repaired(library: Path) -> bool:
    """Whether auditwheel rewrote this library with patchelf when it made a manylinux wheel:
    a library it copied into ``<package>.libs/`` (numpy's OpenBLAS...) or an extension module
    it pointed there (RPATH ``$ORIGIN/../<package>.libs``). ``strip`` rewrites the segments
    patchelf added and the library no longer loads (a first build lost numpy so)."""
    if any(part.endswith(".libs") for part in library.parent.parts):
        return True
    if shutil.which("readelf") is None:
        return True  # cannot tell: leave it as it is
    found = subprocess.run(
        ["readelf", "--dynamic", str(library)], capture_output=True, text=True, check=False
    )
    return bool(_AUDITWHEEL_RPATH.search(found.stdout))


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
