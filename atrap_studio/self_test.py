"""``atrap-studio --self-test``: does this installation work, end to end, without a person?

Made for the packaged program (packaging/, scripts/package runs it on every build and fails
the build when it fails): a bundle that lacks a module, a data file, a Qt plug-in or one of
Flower's commands shows it here, not at a user's first click. It runs from source as well
(``python -m atrap_studio.self_test``; tests/test_self_test.py runs it at tiny sizes).

Steps, each reported on one line as ``ok`` or ``FAIL`` with what went wrong:

1. every shipped example loads, validates without errors, compiles (importing every node
   implementation it names), trains two updates at a tiny size and draws its scene;
2. the robot-arm example trains ``--steps`` updates headless and writes its network file,
   which is read back and must give the same actions as the network that was trained;
3. one frame of the scene view and of the neuron view: the OpenGL views when this Qt platform
   has OpenGL (under a display or Xvfb), else the pictures ``atrap run --snapshots`` draws;
4. the editor's main window opens the arm example and draws (offscreen without a display);
5. the crowd's commands answer: Flower's ``flwr`` and ``flower-superexec`` as the crowd finds
   them, and the crowd's own processes (``-m atrap_studio.crowd...``); with ``--crowd``, a
   real crowd of two peers on loopback trains one round.

Exit status 0 when every step passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

#: The example the training, picture and editor steps use.
EXAMPLE = "robot_arm_reach"
#: Seconds a helper command may take to answer ``--help`` (it imports Flower: seconds).
COMMAND_TIMEOUT_S = 120.0


class SelfTestError(Exception):
    """A step found something wrong; the message says what."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="atrap-studio --self-test",
        description="Check this installation end to end: examples, training, network files, "
        "views, the editor and the crowd's commands.",
    )
    parser.add_argument("--steps", type=int, default=300, help="training updates (default 300)")
    parser.add_argument(
        "--instances", type=int, default=256, help="arms trained at once (default 256)"
    )
    parser.add_argument("--out", help="folder for the files it writes (default: a temporary one)")
    parser.add_argument(
        "--crowd", action="store_true", help="also train one round with a crowd of two peers"
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["examples", "training", "views", "editor", "crowd-commands"],
        help="leave a step out (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.steps < 1 or args.instances < 1:
        parser.error("--steps and --instances must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("QT_PREFERRED_BINDING", "PySide6")
    os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import torch

    torch.set_num_threads(1)  # tiny networks: one thread is fastest and leaves the machine be
    with tempfile.TemporaryDirectory(prefix="atrap-self-test-") as scratch:
        out = Path(args.out) if args.out else Path(scratch)
        out.mkdir(parents=True, exist_ok=True)
        # the editor's settings, autosaves and Qt's caches stay in the scratch folder
        os.environ["XDG_CONFIG_HOME"] = str(Path(scratch, "config"))
        os.environ["XDG_DATA_HOME"] = str(Path(scratch, "data"))
        os.environ["XDG_CACHE_HOME"] = str(Path(scratch, "cache"))
        print(f"ATRAP Studio self-test ({where_from()}), files in {out}", flush=True)
        state: dict[str, Any] = {}
        steps: list[tuple[str, Callable[[], str]]] = [
            ("examples", check_examples),
            ("training", lambda: check_training(out, args.steps, args.instances, state)),
            ("views", lambda: check_views(out, state)),
            ("editor", lambda: check_editor(out, Path(scratch))),
            ("crowd-commands", lambda: check_crowd_commands(Path(scratch))),
        ]
        if args.crowd:
            steps.append(("crowd", lambda: check_crowd(out)))
        failed = [name for name, step in steps if name not in args.skip and not _run(name, step)]
        close_qt()
    if failed:
        print(f"self-test FAILED: {', '.join(failed)}", flush=True)
        return 1
    print("self-test passed", flush=True)
    return 0


def where_from() -> str:
    """Which installation runs: the bundle's executable, or the Python running from source."""
    if getattr(sys, "frozen", False):
        return f"bundle {sys.executable}"
    return f"Python {sys.version.split()[0]} at {sys.executable}"


def _run(name: str, step: Callable[[], str]) -> bool:
    started = time.perf_counter()
    try:
        detail = step()
    except Exception as exc:
        seconds = time.perf_counter() - started
        print(f"FAIL {name} ({seconds:.1f} s): {type(exc).__name__}: {exc}", flush=True)
        if not isinstance(exc, SelfTestError):
            traceback.print_exc(file=sys.stdout)
        return False
    print(f"ok   {name} ({time.perf_counter() - started:.1f} s): {detail}", flush=True)
    return True


# -- the steps ------------------------------------------------------------------------------


def check_examples() -> str:
    """Every shipped example loads, validates, compiles and trains two updates, tiny, and its
    scene draws (gymnasium scenes render their frames with pygame or MuJoCo)."""
    from atrap_studio.core.validation import validate
    from atrap_studio.core.yaml_io import load_graph
    from atrap_studio.examples import example_names, example_path
    from atrap_studio.nodes import builtin_registry
    from atrap_studio.runtime.pipeline import Pipeline
    from atrap_studio.ui.views.scenes import scene_picture

    qt_app()
    # As in the editor, whose views exist before any run: PyOpenGL picks its platform (GLX,
    # Qt's) at its first import, before MuJoCo's EGL renderer could ask for EGL.
    importlib.import_module("atrap_studio.ui.views.gl_window")
    registry = builtin_registry()
    names = example_names()
    if not names:
        raise SelfTestError("no shipped examples found (resources/examples is missing)")
    for name in names:
        doc = load_graph(example_path(name))
        errors = [i for i in validate(doc, registry) if i.severity == "error"]
        if errors:
            raise SelfTestError(f"example {name!r} does not validate: {errors[0].format(name)}")
        try:
            pipeline = Pipeline(sized(doc, instances=4, steps=2), registry)
            for step in range(2):
                pipeline.train(step)
            scene = pipeline.snapshot([0])["scene"]
        except Exception as exc:
            raise SelfTestError(
                f"example {name!r} does not train: {type(exc).__name__}: {exc}"
            ) from exc
        picture = scene_picture(scene, 160, 120, 2)
        if picture is None or picture.isNull():
            raise SelfTestError(f"example {name!r}: no picture of its {scene.kind!r} scene")
    return f"{len(names)} examples load, validate, train and draw ({', '.join(names)})"


def check_training(out: Path, steps: int, instances: int, state: dict[str, Any]) -> str:
    """The arm example trains headless and its network file reads back the same network."""
    import torch

    from atrap_studio.core.yaml_io import load_graph
    from atrap_studio.examples import example_path
    from atrap_studio.nodes import builtin_registry
    from atrap_studio.runtime.netfile import load_network
    from atrap_studio.runtime.pipeline import Pipeline
    from atrap_studio.runtime.runner import Runner

    doc = sized(load_graph(example_path(EXAMPLE)), instances=instances, steps=steps)
    pipeline = Pipeline(doc, builtin_registry())
    result = Runner(pipeline, out_dir=out / "run").run(steps)
    if result.reason not in ("completed", "goal") or result.network_path is None:
        raise SelfTestError(f"the run ended {result.reason!r}: {result.error}")
    loaded = load_network(result.network_path)
    trained = pipeline.network
    inputs = torch.randn(64, loaded.manifest.architecture.inputs, generator=torch.Generator())
    with torch.no_grad():
        if not torch.equal(loaded.module(inputs), trained(inputs)):
            raise SelfTestError(
                f"{result.network_path} does not give the trained network's actions"
            )
    state["snapshot"] = pipeline.snapshot([0])
    evaluation = result.evaluation or {}
    score = ", ".join(f"{k} {v:.3g}" for k, v in evaluation.items() if k.startswith("median"))
    return (
        f"{result.step} updates of {instances} arms in {result.elapsed_s:.1f} s ({score}); "
        f"{result.network_path.name} written and read back identical"
    )


def check_views(out: Path, state: dict[str, Any]) -> str:
    """One frame of the scene and neuron views, drawn from the trained run's snapshot."""
    if "snapshot" not in state:
        raise SelfTestError("no snapshot to draw: the training step did not run or failed")
    from PySide6 import QtWidgets

    from atrap_studio.ui.views.gl_window import gl_available
    from atrap_studio.ui.views.neuron_view import QtNeuronView
    from atrap_studio.ui.views.pictures import network_picture
    from atrap_studio.ui.views.scenes import live_view, scene_picture

    app = qt_app()
    data = state["snapshot"]
    scene, network = data["scene"], data["network"]
    width, height = 480, 320
    scene_view = live_view(scene.kind)
    if scene_view is None:
        raise SelfTestError(f"no view draws scenes of kind {scene.kind!r}")
    neuron_view = QtNeuronView()
    views: list[Any] = [scene_view, neuron_view]
    try:
        for view in views:
            view.resize(width, height)
        scene_view.show_snapshot(1, scene)  # type: ignore[attr-defined]
        neuron_view.show_snapshot(1, network)
        if gl_available():
            how = f"OpenGL ({QtWidgets.QApplication.platformName()})"
            for view in views:
                view.show()
            wait_until(app, lambda: all(view.gl.isValid() for view in views))
            scene_view.paint_now()  # type: ignore[attr-defined]
            images = [view.render_image(width, height) for view in views]
        else:
            how = f"no OpenGL on Qt's {QtWidgets.QApplication.platformName()} platform: pictures"
            images = [
                scene_picture(scene, width, height, 1),
                network_picture(network, width, height, 1),
            ]
    finally:
        for view in views:
            view.close()
            view.deleteLater()
    for name, image in zip(("scene", "neurons"), images, strict=True):
        if image is None or image.isNull():
            raise SelfTestError(f"the {name} view drew nothing")
        if len({image.pixel(x, y) for x in range(0, width, 8) for y in range(0, height, 8)}) < 3:
            raise SelfTestError(f"the {name} view's frame is blank")
        path = out / f"{name}.png"
        if not image.save(str(path)):
            raise SelfTestError(f"could not write {path}")
    return f"{how}: scene.png and neurons.png, {width}x{height}"


def check_editor(out: Path, scratch: Path) -> str:
    """The main window opens the arm example (its nodes from the specs) and draws."""
    from atrap_studio.nodes import builtin_registry
    from atrap_studio.ui.main_window import MainWindow
    from atrap_studio.ui.session_files import AppPaths

    app = qt_app()
    window = MainWindow(builtin_registry(), AppPaths(scratch / "config", scratch / "data"))
    try:
        window.resize(1200, 800)
        if not window.open_example(EXAMPLE):
            raise SelfTestError(f"the editor could not open the {EXAMPLE} example")
        window.show()
        wait_until(app, lambda: window.windowHandle() is not None)
        picture = window.grab()
        nodes, ports = len(window.canvas.doc.nodes), len(window.canvas.port_views())
        if nodes == 0 or ports == 0:
            raise SelfTestError(f"the editor shows {nodes} nodes with {ports} ports drawn")
        if not picture.save(str(out / "editor.png")):
            raise SelfTestError(f"could not write {out / 'editor.png'}")
    finally:
        window.close()
        window.deleteLater()
    return f"main window with {nodes} nodes, {ports} ports drawn: editor.png"


def check_crowd_commands(scratch: Path) -> str:
    """Flower's commands, found as the crowd finds them, and the crowd's own processes answer."""
    from atrap_studio.crowd.processes import CrowdFolder, tool

    env = CrowdFolder(scratch / "crowd").env()
    commands = {
        "flwr": [tool("flwr"), "--version"],
        "flower-superexec": [_which("flower-superexec", env), "--help"],
        "flwr-serverapp": [_which("flwr-serverapp", env), "--help"],
        "crowd.superlink": [sys.executable, "-m", "atrap_studio.crowd.superlink", "--help"],
        "crowd.supernode": [sys.executable, "-m", "atrap_studio.crowd.supernode", "--help"],
        "crowd.app_check": [sys.executable, "-m", "atrap_studio.crowd.app_check", "--help"],
    }
    for name, command in commands.items():
        try:
            done = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SelfTestError(f"{name} ({command[0]}) did not run: {exc}") from exc
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip()[-800:]
            raise SelfTestError(f"{name} exited with {done.returncode}: {tail}")
    return f"{len(commands)} commands answer ({', '.join(commands)})"


def check_crowd(out: Path) -> str:
    """A crowd of two peers on loopback (real processes, TLS, keys) trains one round."""
    from atrap_studio.core.yaml_io import load_graph, save_graph
    from atrap_studio.crowd.local import LocalCrowd
    from atrap_studio.examples import example_path

    graph = out / "crowd-graph.yaml"
    save_graph(sized(load_graph(example_path(EXAMPLE)), instances=64, steps=4), graph)
    settings = {"local-steps": 4, "eval-episodes": 64, "min-peers": 2}
    with LocalCrowd(graph, out / "crowd", peers=2) as crowd:
        status = crowd.run(1, settings, timeout=600.0)
    if not status.rounds:
        raise SelfTestError("the crowd finished without a round")
    return f"{len(status.rounds)} round with 2 peers: {out / 'crowd' / 'rounds'}"


# -- helpers --------------------------------------------------------------------------------


def sized(doc: Any, *, instances: int, steps: int) -> Any:
    """A copy of a graph with ``instances`` scene instances, a small network and a budget of
    ``steps`` updates, tested and saved at the end only."""
    small = doc.model_copy(deep=True)
    for node in small.nodes:
        if node.type.startswith("scene."):
            node.props["instances"] = instances
        elif node.type == "nn.factory" and "hidden" in node.props:
            node.props["hidden"] = [min(64, int(h)) for h in node.props["hidden"]]
        elif node.type.startswith("trainer."):
            node.props.update(
                steps=steps,
                eval_every=steps,
                checkpoint_every=steps,
                log_every=max(1, steps // 10),
                eval_episodes=min(256, 4 * instances),
                goal_success_rate=0.0,
            )
            if node.type in ("trainer.sac", "trainer.dqn"):
                node.props["batch_size"] = min(int(node.props.get("batch_size", 64)), instances)
            if node.type == "trainer.ppo":  # a short rollout per update
                node.props.update(horizon=8, minibatches=1, epochs=1)
    return small


def qt_app() -> Any:
    """The running QApplication, or a new one (GL contexts shared, as in the editor)."""
    from PySide6 import QtCore, QtWidgets

    existing = QtWidgets.QApplication.instance()
    if existing is not None:
        return existing
    share = QtCore.Qt.ApplicationAttribute.AA_ShareOpenGLContexts
    QtCore.QCoreApplication.setAttribute(share)
    return QtWidgets.QApplication(sys.argv[:1])


def close_qt() -> None:
    """Delete every window now, while the GL contexts' display is still there (left to the
    interpreter's exit, pyqtgraph's GL items outlive it and the exit crashes under xcb)."""
    if "PySide6.QtWidgets" not in sys.modules:
        return
    from PySide6 import QtCore, QtWidgets

    app = QtWidgets.QApplication.instance()
    if app is None:
        return
    for widget in QtWidgets.QApplication.topLevelWidgets():
        widget.close()
        widget.deleteLater()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    app.processEvents()


def wait_until(app: Any, ready: Callable[[], bool], timeout_s: float = 15.0) -> None:
    """Let Qt work until ``ready()`` (windows shown, contexts made), at most ``timeout_s``."""
    from PySide6 import QtCore

    deadline = time.monotonic() + timeout_s
    while True:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if ready():
            break
        if time.monotonic() > deadline:
            raise SelfTestError(f"Qt did not get ready within {timeout_s:.0f} s")
    app.processEvents()


def _which(name: str, env: dict[str, str]) -> str:
    """Where ``name`` is on the crowd's PATH (Flower starts it so), or a clear error."""
    import shutil

    found = shutil.which(name, path=env["PATH"])
    if found is None:
        raise SelfTestError(f"Flower's {name!r} command is not on the crowd's PATH")
    return found


if __name__ == "__main__":
    sys.exit(main())
