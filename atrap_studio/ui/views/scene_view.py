"""The scene view: the running robot arm in 3D, drawn from snapshots (it never simulates).

Links are shaded cylinders and joints spheres for the shown instance; a few more instances can
be drawn as ghosts; the target is a sphere that turns green on success, and the tip leaves a
trail. Where the scene judges orientation, the target's and the tip's frames are drawn as axes
(x red, y green, z blue; thick at the target, thin at the tip), so that a person sees the turn
still to make. Ctrl+drag carries the target (the user helping the network): the target is held where
the cursor puts it while the button is down and for :data:`HOLD_AFTER_S` after it is let go,
whatever the scene's target mode, so it can be grabbed even when every update starts new
episodes with new targets. The view emits ``target_held`` and ``target_released``; the run
controller hands them to the training thread.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pyqtgraph.opengl as gl
from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.runtime.snapshots import ArmSnapshot
from atrap_studio.ui.views.gl_window import GLViewWindow

TRAIL = 120
SUCCESS = (0.25, 0.85, 0.35, 1.0)
MISS = (0.95, 0.45, 0.15, 1.0)
LINK = (0.55, 0.62, 0.72, 1.0)
JOINT = (0.95, 0.75, 0.25, 1.0)
GHOST = (0.7, 0.75, 0.85, 0.25)
#: Colours of a frame's x, y and z axes, each given twice (a line's two ends).
AXES = np.repeat(
    np.array([(0.95, 0.3, 0.25, 1.0), (0.35, 0.85, 0.35, 1.0), (0.3, 0.55, 1.0, 1.0)]), 2, axis=0
)
NOT_RUN = "Run the graph to see the scene."
#: How long a target stays held after the person lets go of it (a user-driven scene keeps it).
HOLD_AFTER_S = 10.0
HELP = (
    "Drag to orbit, right-drag or wheel to zoom. Ctrl+drag carries the shown arm's target: "
    f"it stays where you put it while you drag and for {HOLD_AFTER_S:.0f} s after you let go "
    "(in a user-driven scene, until you move it again)."
)


class ArmGLView(GLViewWindow):
    """The 3-D view, where Ctrl+drag carries the target in the plane facing the camera."""

    dragging = QtCore.Signal(object)  # where the target is being carried, (3,) metres
    dragged = QtCore.Signal(object)  # where it was let go: the one move the run is told of

    def __init__(self) -> None:
        super().__init__()
        self.target: np.ndarray | None = None
        self._dragging = False
        #: Where the target was when the drag began: the plane it is carried in goes through
        #: it for the whole drag (one plane, so the cursor and the target never drift apart).
        self._anchor: np.ndarray | None = None

    @property
    def carrying(self) -> bool:
        """Whether the person is carrying the target now (Ctrl and the button held)."""
        return self._dragging

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        ctrl = event.modifiers() & QtCore.Qt.KeyboardModifier.ControlModifier
        if ctrl and event.button() == QtCore.Qt.MouseButton.LeftButton and self.target is not None:
            self._anchor = self.target.copy()
            self._dragging = True
            self._drag_to(event.position())
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:
        if self._dragging:
            self._drag_to(event.position())
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QtGui.QMouseEvent) -> None:
        if self._dragging:
            point = self.unproject_on_target_plane(event.position().x(), event.position().y())
            self._dragging, self._anchor = False, None
            if point is not None:
                self.dragged.emit(point)
            return
        super().mouseReleaseEvent(event)

    def _drag_to(self, pos: QtCore.QPointF) -> None:
        point = self.unproject_on_target_plane(pos.x(), pos.y())
        if point is not None:
            self.dragging.emit(point)

    def project(self, point: np.ndarray) -> QtCore.QPointF:
        """Where a 3-D point appears in widget pixels."""
        matrix = self.mvp()
        clip = matrix @ np.append(point, 1.0)
        ndc = clip[:3] / clip[3]
        return QtCore.QPointF((ndc[0] + 1) / 2 * self.width(), (1 - ndc[1]) / 2 * self.height())

    def unproject_on_target_plane(self, x: float, y: float) -> np.ndarray | None:
        """The point under a pixel on the plane through the target that faces the camera (the
        target where a drag began, while one goes on)."""
        anchor = self._anchor if self._dragging and self._anchor is not None else self.target
        if anchor is None:
            return None
        inverse = np.linalg.inv(self.mvp())
        ndc = np.array([2 * x / max(self.width(), 1) - 1, 1 - 2 * y / max(self.height(), 1)])
        near = inverse @ np.array([ndc[0], ndc[1], -1.0, 1.0])
        far = inverse @ np.array([ndc[0], ndc[1], 1.0, 1.0])
        near, far = near[:3] / near[3], far[:3] / far[3]
        direction = far - near
        camera = np.array(list(self.cameraPosition()), dtype=float)
        normal = anchor - camera
        denom = float(normal @ direction)
        if abs(denom) < 1e-12:
            return None
        t = float(normal @ (anchor - near)) / denom
        result: np.ndarray = near + t * direction
        return result


class QtSceneView(QtWidgets.QWidget):
    """Dock content: the 3-D arm, which instance to show, ghosts, and a reset-view button.

    Signals:
        instances_changed(list[int]): the instances snapshots should carry (shown one first).
        target_held(int, ndarray): hold that instance's target at that point (while it is
            carried, and once more where it is let go).
        target_released(int): the hold of that instance's target is over.
        target_placed(int, ndarray, float): the person let the target go there; it stays held
            for that many seconds (for the log).
    """

    instances_changed = QtCore.Signal(object)
    target_held = QtCore.Signal(int, object)
    target_released = QtCore.Signal(int)
    target_placed = QtCore.Signal(int, object, float)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.gl = ArmGLView()
        self.gl.setBackgroundColor((24, 26, 30))
        self.instance = QtWidgets.QSpinBox(minimum=0, maximum=0)
        self.instance.setToolTip("Which of the simulated arms to show")
        self.ghosts = QtWidgets.QSpinBox(minimum=0, maximum=32, value=0)
        self.ghosts.setToolTip("How many more arms to draw faintly behind it")
        reset = QtWidgets.QPushButton("Reset view")
        self.status = QtWidgets.QLabel(NOT_RUN)
        # a longer line must not widen the dock (and move the 3-D view under a dragged target)
        self.status.setSizePolicy(
            QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred
        )
        bar = QtWidgets.QHBoxLayout()
        bar.addWidget(QtWidgets.QLabel("Arm"))
        bar.addWidget(self.instance)
        bar.addWidget(QtWidgets.QLabel("ghosts"))
        bar.addWidget(self.ghosts)
        bar.addWidget(reset)
        bar.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.gl.container, 1)
        layout.addWidget(self.status)
        self.gl.setToolTip(HELP)
        self._grid = gl.GLGridItem(size=QtGui.QVector3D(2, 2, 1))
        self.gl.addItem(self._grid)
        self._links: list[gl.GLMeshItem] = []
        self._joints: list[gl.GLMeshItem] = []
        self._ghosts = gl.GLLinePlotItem(mode="lines", color=GHOST, width=1.5)
        self._trail = gl.GLLinePlotItem(color=(1.0, 0.85, 0.3, 0.6), width=1.5)
        self._target = gl.GLMeshItem(
            meshdata=gl.MeshData.sphere(rows=12, cols=16, radius=1.0),
            smooth=True,
            shader="shaded",
            color=MISS,
        )
        #: The frames of the target and of the tip (drawn only where orientation is judged).
        self._target_axes = gl.GLLinePlotItem(mode="lines", width=4.0, antialias=True)
        self._tip_axes = gl.GLLinePlotItem(mode="lines", width=2.0, antialias=True)
        for axes in (self._target_axes, self._tip_axes):
            axes.setGLOptions("opaque")  # hidden where they run inside a sphere
        for item in (self._ghosts, self._trail, self._target, self._target_axes, self._tip_axes):
            item.setVisible(False)  # until a snapshot gives them something to draw
            self.gl.addItem(item)
        self._trail_points: deque[np.ndarray] = deque(maxlen=TRAIL)
        self.snapshot: ArmSnapshot | None = None
        self.step = 0
        self._framed = False
        self.instance.valueChanged.connect(self._instances_changed)
        self.ghosts.valueChanged.connect(self._instances_changed)
        reset.clicked.connect(self.reset_view)
        #: The instance whose target is held, and the timer that lets it go.
        self.held: int | None = None
        self.hold_after_s = HOLD_AFTER_S
        self._hold = QtCore.QTimer(self)
        self._hold.setSingleShot(True)
        self._hold.timeout.connect(self.release_target)
        self.gl.dragging.connect(self._carry)
        self.gl.dragged.connect(self.move_target)

    # -- API --------------------------------------------------------------------------------

    def set_instance_count(self, count: int) -> None:
        self.instance.setMaximum(max(0, count - 1))

    def wanted_instances(self) -> list[int]:
        first = self.instance.value()
        return [first + k for k in range(self.ghosts.value() + 1)]

    def paint_now(self) -> None:
        """Paint at once (when on screen), so that the cost of a frame can be measured."""
        if not self.visibleRegion().isEmpty():
            self.gl.repaint()

    def show_snapshot(self, step: int, snap: ArmSnapshot) -> None:
        """Draw a snapshot: the shown arm in full, the others as ghosts."""
        self.step, self.snapshot = step, snap
        if snap.joints.shape[0] == 0:
            return
        joints = snap.joints[0]
        self._ensure_meshes(joints.shape[0] - 1, snap.reach)
        for mesh, start, end in zip(self._links, joints[:-1], joints[1:], strict=True):
            _place_cylinder(mesh, start, end)
        for mesh, point in zip(self._joints, joints, strict=True):
            mesh.resetTransform()
            mesh.translate(*point)
        success = bool(snap.success[0])
        self._target.setColor(SUCCESS if success else MISS)
        if not self.gl.carrying:  # the sphere stays under the cursor while it is carried
            self._place_target(snap.target[0], snap.reach)
        tip = joints[-1]
        self._tip_axes.setVisible(snap.tip_rotation is not None)
        if snap.tip_rotation is not None:
            self._tip_axes.setData(
                pos=_axes(tip, snap.tip_rotation[0], 0.1 * snap.reach), color=AXES
            )
        if self._trail_points and np.linalg.norm(self._trail_points[-1] - tip) > snap.reach:
            self._trail_points.clear()
        self._trail_points.append(tip.copy())
        if len(self._trail_points) > 1:
            self._trail.setData(pos=np.array(self._trail_points))
            self._trail.setVisible(True)
        others = snap.joints[1:]
        if len(others):
            segments = np.concatenate([np.repeat(arm, 2, axis=0)[1:-1] for arm in others])
            self._ghosts.setData(pos=segments)
        self._ghosts.setVisible(len(others) > 0)
        if not self._framed:
            self.reset_view()
        instance = int(snap.instances[0])
        turned = "" if snap.error_deg is None else f" and {snap.error_deg[0]:.1f}°"
        self.status.setText(
            f"update {step:,} · arm {instance}: {snap.error_mm[0]:.1f} mm{turned} from the target"
            f"{self._held_words(instance, snap)} · {'reached' if success else 'reaching'}"
        )

    def _held_words(self, instance: int, snap: ArmSnapshot) -> str:
        """What the status line says of a target the person holds."""
        if instance != self.held and instance not in snap.user_targets:
            return ""
        if instance == self.held and self.gl.carrying:
            return " (held by you while you drag)"
        if instance == self.held and self._hold.isActive():
            left = max(1, round(self._hold.remainingTime() / 1000))
            return f" (held by you for {left} s more)"
        return " (placed by you)" if instance in snap.user_targets else ""

    def clear(self) -> None:
        """Show no arm (another graph is open; its run has not started)."""
        self.snapshot, self.step, self._framed = None, 0, False
        for item in (*self._links, *self._joints):
            self.gl.removeItem(item)
        self._links, self._joints = [], []
        for item in (self._ghosts, self._target, self._target_axes, self._tip_axes):
            item.setVisible(False)
        self.gl.target = None
        self.forget_hold()
        self.clear_trail()
        self.status.setText(NOT_RUN)

    def clear_trail(self) -> None:
        """Forget the tip's trail (a new run, another arm)."""
        self._trail_points.clear()
        self._trail.setVisible(False)

    def move_target(self, position: object) -> None:
        """Put the shown arm's target at ``position`` and hold it there for
        :attr:`hold_after_s` (what letting go after a Ctrl+drag does)."""
        point = self._carry(position)
        self._hold.start(int(self.hold_after_s * 1000))
        assert self.held is not None
        self.target_placed.emit(self.held, point, self.hold_after_s)
        self.status.setText(
            f"Target of arm {self.held} held at ({point[0]:.2f}, {point[1]:.2f}, "
            f"{point[2]:.2f}) m for {self.hold_after_s:.0f} s: watch the arm reach for it."
        )

    def forget_hold(self) -> None:
        """Drop the hold without telling the run (a new run starts with none)."""
        self._hold.stop()
        self.held = None

    def release_target(self) -> None:
        """End the hold now (its time is up, another arm is shown, or the run is new)."""
        self._hold.stop()
        held, self.held = self.held, None
        if held is not None:
            self.target_released.emit(held)

    def _carry(self, position: object) -> np.ndarray:
        """Hold the shown arm's target at ``position`` (each move of a Ctrl+drag)."""
        instance = self.instance.value()
        if self.held is not None and self.held != instance:
            self.release_target()  # one held target at a time
        self._hold.stop()
        self.held = instance
        point = np.asarray(position, dtype=float).reshape(3)
        self._place_target(point, self.snapshot.reach if self.snapshot else 1.0)
        self.target_held.emit(instance, point)
        return point

    def reset_view(self) -> None:
        reach = self.snapshot.reach if self.snapshot else 1.0
        self.gl.setCameraPosition(
            pos=QtGui.QVector3D(0, 0, reach * 0.4), distance=reach * 2.6, elevation=20, azimuth=40
        )
        self._framed = self.snapshot is not None

    def render_image(self, width: int, height: int) -> QtGui.QImage:
        """The 3-D view as drawn now, scaled to the given size."""
        image: QtGui.QImage = self.gl.grabFramebuffer()
        return image.scaled(
            width,
            height,
            QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
            QtCore.Qt.TransformationMode.SmoothTransformation,
        )

    # -- drawing ------------------------------------------------------------------------------

    def _ensure_meshes(self, links: int, reach: float) -> None:
        """Meshes sized to the arm (made again only when the number of links changes)."""
        if len(self._links) == links:
            return
        for item in (*self._links, *self._joints):
            self.gl.removeItem(item)
        r = 0.03 * reach
        cylinder = gl.MeshData.cylinder(rows=2, cols=16, radius=[r, 0.8 * r], length=1.0)
        sphere = gl.MeshData.sphere(rows=8, cols=12, radius=1.25 * r)
        self._grid.setSize(2.4 * reach, 2.4 * reach)
        self._grid.setSpacing(reach / 5, reach / 5)
        self._links = [
            gl.GLMeshItem(meshdata=cylinder, smooth=True, shader="shaded", color=LINK)
            for _ in range(links)
        ]
        self._joints = [
            gl.GLMeshItem(meshdata=sphere, smooth=True, shader="shaded", color=JOINT)
            for _ in range(links + 1)
        ]
        for item in (*self._links, *self._joints):
            self.gl.addItem(item)

    def _place_target(self, point: np.ndarray, reach: float) -> None:
        """A sphere a little larger than the joints, so that a reached target still shows."""
        self._target.resetTransform()
        self._target.translate(*point)
        self._target.scale(0.05 * reach, 0.05 * reach, 0.05 * reach)
        self._target.setVisible(True)
        self.gl.target = np.asarray(point, dtype=float)
        turn = None if self.snapshot is None else self.snapshot.target_rotation
        self._target_axes.setVisible(turn is not None)
        if turn is not None:  # a carried target keeps its orientation
            self._target_axes.setData(pos=_axes(point, turn[0], 0.16 * reach), color=AXES)

    def _instances_changed(self) -> None:
        self.release_target()
        self.clear_trail()
        self.instances_changed.emit(self.wanted_instances())


def _axes(origin: np.ndarray, rotation: np.ndarray, length: float) -> np.ndarray:
    """Line ends (6, 3) of a frame's three axes: the columns of ``rotation`` from ``origin``."""
    ends = np.asarray(origin, dtype=float) + length * np.asarray(rotation, dtype=float).T
    return np.stack([np.repeat(origin[None], 3, axis=0), ends], axis=1).reshape(6, 3)


def _place_cylinder(mesh: gl.GLMeshItem, start: np.ndarray, end: np.ndarray) -> None:
    """Stretch a unit cylinder along z so that it runs from ``start`` to ``end``."""
    axis = end - start
    length = float(np.linalg.norm(axis))
    mesh.resetTransform()
    if length < 1e-9:
        mesh.setVisible(False)
        return
    mesh.setVisible(True)
    z = np.array([0.0, 0.0, 1.0])
    direction = axis / length
    rotation_axis = np.cross(z, direction)
    angle = float(np.degrees(np.arccos(np.clip(z @ direction, -1.0, 1.0))))
    mesh.scale(1.0, 1.0, length)
    if np.linalg.norm(rotation_axis) > 1e-9:
        mesh.rotate(angle, *rotation_axis, local=False)
    elif direction[2] < 0:
        mesh.rotate(180.0, 1.0, 0.0, 0.0, local=False)
    mesh.translate(*start, local=False)
