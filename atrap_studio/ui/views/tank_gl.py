"""The tank arena in 3-D: ground, walls, pillars, both tanks with their guns, shells in flight
and, on demand, each tank's camera rays — drawn from snapshots (it never simulates).

An OpenGL window (:class:`~atrap_studio.ui.views.gl_window.GLViewWindow`), made only when the
Scene dock's 3-D switch is turned on; orbit with the mouse as in the arm's view.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pyqtgraph.opengl as gl
from PySide6 import QtCore, QtGui

from atrap_studio.nodes.scenes.tanks.snapshot import TankSnapshot
from atrap_studio.ui.views.gl_window import GLViewWindow
from atrap_studio.ui.views.scenes.tank_arena import RAY_TANKS, ray_segments

AGENT = (0.35, 0.67, 1.0, 1.0)
ENEMY = (0.92, 0.35, 0.27, 1.0)
DEAD = (0.25, 0.25, 0.27, 1.0)
PILLAR = (0.55, 0.57, 0.6, 1.0)
WALL = (0.72, 0.74, 0.78, 1.0)
RAY = (0.8, 0.8, 0.8, 0.35)
RAY_ENEMY = (1.0, 0.45, 0.35, 0.9)
#: Heights in metres: tank body, gun, pillars, walls.
BODY, GUN, PILLAR_H, WALL_H = 0.45, 0.5, 1.2, 0.5
#: x, y, z: a scale or an offset.
Vec3 = tuple[float, float, float]
#: Frames per second the view plays a snapshot's recent steps at: a little over 30, so that
#: the frames a busy machine makes late and cannot make up still leave 30 a second.
PLAY_FPS = 32
#: How far behind its deadlines the player may fall and still catch up (then it lets go).
CATCH_UP_S = 0.1
#: Most steps the view keeps to play: it lags the run by at most this many.
QUEUE = 64
#: Frames over which the view would play the steps queued now (it speeds up as more come).
DRAIN_FRAMES = PLAY_FPS
#: The slowest the view moves through queued steps, in steps a frame.
SLOWEST = 0.2


def _box(size: tuple[float, float, float]) -> gl.MeshData:
    """A box of ``size`` (x, y, z) standing on the ground, centred on the z axis."""
    hx, hy, top = size[0] / 2, size[1] / 2, size[2]
    corners = np.array(
        [
            [sx * hx, sy * hy, h]
            for h in (0.0, top)
            for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))
        ]
    )
    faces = np.array(
        [
            [0, 1, 2], [0, 2, 3], [4, 6, 5], [4, 7, 6],  # bottom, top
            [0, 4, 5], [0, 5, 1], [1, 5, 6], [1, 6, 2],
            [2, 6, 7], [2, 7, 3], [3, 7, 4], [3, 4, 0],
        ]
    )  # fmt: skip
    return gl.MeshData(vertexes=corners, faces=faces)


def _drum(sides: int = 24) -> gl.MeshData:
    """A closed cylinder of radius 1 and height 1 standing on the ground (pyqtgraph's own is
    open at both ends, so pillars looked hollow from above)."""
    angles = np.linspace(0.0, 2 * np.pi, sides, endpoint=False)
    ring = np.column_stack([np.cos(angles), np.sin(angles)])
    vertexes = np.vstack(
        [np.column_stack([ring, np.zeros(sides)]), np.column_stack([ring, np.ones(sides)]),
         [[0.0, 0.0, 1.0]]]
    )  # fmt: skip
    top = 2 * sides
    faces = []
    for i in range(sides):
        j = (i + 1) % sides
        faces += [[i, j, sides + j], [i, sides + j, sides + i], [sides + i, sides + j, top]]
    return gl.MeshData(vertexes=vertexes, faces=np.array(faces))


def between(first: TankSnapshot, second: TankSnapshot, share: float) -> TankSnapshot:
    """The first arena ``share`` of the way from one step to the next, for a frame between
    two steps: tanks and shells in flight moved and turned part way; health, rays and
    pillars those of the nearer step. Across a new fight no frame is made up."""
    near = first if share < 0.5 else second
    if int(second.steps[0]) != int(first.steps[0]) + 1:  # a new fight began (or a gap)
        return near
    turn = np.remainder(second.heading - first.heading + np.pi, 2 * np.pi) - np.pi
    flying = (first.shell_alive & second.shell_alive)[..., None]
    shells = np.where(flying, first.shells + (second.shells - first.shells) * share, near.shells)
    return replace(
        near,
        position=first.position + (second.position - first.position) * share,
        heading=first.heading + turn * share,
        shells=shells,
    )


def _merged(parts: Sequence[tuple[gl.MeshData, Vec3, Vec3]]) -> gl.MeshData:
    """One mesh of several, each ``(mesh, scale, offset)`` scaled then moved into place."""
    vertexes, faces, count = [], [], 0
    for mesh, scale, offset in parts:
        points = mesh.vertexes()
        vertexes.append(points * np.asarray(scale) + np.asarray(offset))
        faces.append(mesh.faces() + count)
        count += len(points)
    return gl.MeshData(vertexes=np.vstack(vertexes), faces=np.vstack(faces))


class TankGLView(GLViewWindow):
    """One arena of a snapshot in 3-D, played step by step.

    A training run sends a snapshot about once an update (a second or so); each carries the
    watched arena's steps since the last one (``recent``). The view queues them and draws
    :data:`PLAY_FPS` frames a second, moving through the queue at a speed that grows with its
    length (a second's worth behind the run when steps keep coming), between two steps a
    frame part of the way from one to the next; at most :data:`QUEUE` steps wait.

    Attributes:
        steps_shown: steps played so far (frames between steps not counted).
    """

    def __init__(self) -> None:
        super().__init__()
        self._steps: deque[TankSnapshot] = deque(maxlen=QUEUE)  # the first one on screen
        self._share = 0.0  # how far from the first queued step to the second
        self._last: TankSnapshot | None = None  # the snapshot last given
        self._current: TankSnapshot | None = None  # what is on screen
        self.steps_shown = 0
        # a one-shot timer set for each frame's deadline, so that the rate holds on a busy
        # machine (a repeating timer drifts later with every late frame)
        self._player = QtCore.QTimer()
        self._player.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._player.setSingleShot(True)
        self._player.timeout.connect(self._play)
        self._due = 0.0  # when the next frame should be drawn (perf_counter seconds)
        self.setBackgroundColor((24, 26, 30))
        self.setCameraPosition(distance=19.0, elevation=40.0, azimuth=-70.0)
        #: Whose camera rays are drawn: "none", "agent" or "both".
        self.rays = "agent"
        self._half = 0.0
        self._ground = gl.GLGridItem()
        self.addItem(self._ground)
        # the walls in one item and the pillars in another: each item drawn costs the GUI
        # thread more in Python and OpenGL calls than its triangles cost to rasterise
        self._walls = self._mesh(_box((1.0, 1.0, 1.0)), WALL)
        self._pillars = self._mesh(_drum(), PILLAR)
        self._pillar_key: bytes = b""
        self._bodies = [
            self._mesh(gl.MeshData.cylinder(1, 24, [1.0, 1.0], 1.0), c) for c in (AGENT, ENEMY)
        ]
        self._guns = [self._mesh(_box((1.0, 0.16, 0.14)), c) for c in (AGENT, ENEMY)]
        self._shells = gl.GLScatterPlotItem(size=0.35, pxMode=False, color=(1.0, 0.9, 0.5, 1.0))
        self._rays = gl.GLLinePlotItem(mode="lines", width=1.0)
        for item in (self._shells, self._rays):
            item.setVisible(False)
            self.addItem(item)

    def _mesh(self, data: gl.MeshData, colour: tuple[float, ...]) -> gl.GLMeshItem:
        item = gl.GLMeshItem(meshdata=data, smooth=False, shader="shaded", color=colour)
        item.setVisible(False)
        self.addItem(item)
        return item

    def show_snapshot(self, snap: TankSnapshot) -> None:
        """Show the snapshot's first arena, or queue its recent steps to play them."""
        if snap is self._last and self._current is not None:  # the same again: redraw
            self._place(self._current)
            return
        self._last = snap
        steps = snap.recent
        if steps is None:  # no steps: the run is paused, or another arena was chosen
            self._steps.clear()
            self._place(snap)
            return
        if not self._steps:
            self._place(steps.row(0))
        self._steps.extend(steps.row(index) for index in range(len(steps.steps)))
        if not self._player.isActive():
            self._due = time.perf_counter() + 1 / PLAY_FPS
            self._player.start(round(1000 / PLAY_FPS))

    def _play(self) -> None:
        """Draw the next frame: a little further through the queued steps."""
        if len(self._steps) < 2:  # the last step is on screen: wait for more
            return
        now = time.perf_counter()
        # a late frame is made up by the next ones coming sooner, up to CATCH_UP_S behind
        self._due = max(self._due + 1 / PLAY_FPS, now - CATCH_UP_S)
        self._player.start(max(0, round((self._due - now) * 1000)))
        self._share += max(len(self._steps) / DRAIN_FRAMES, SLOWEST)
        while self._share >= 1.0 and len(self._steps) > 1:
            self._steps.popleft()
            self._share -= 1.0
            self.steps_shown += 1
        if len(self._steps) == 1:
            self._share = 0.0
            self._place(self._steps[0])
        else:
            self._place(between(self._steps[0], self._steps[1], self._share))
        self.repaint()  # now: a frame made up after a late one must not merge with it

    def _place(self, snap: TankSnapshot) -> None:
        """Place everything where the snapshot's first arena has it."""
        self._current = snap
        if snap.half != self._half:
            self._build_walls(snap.half)
        self._place_pillars(snap.pillars[0])
        position, heading, health = snap.position[0], snap.heading[0], snap.health[0]
        for tank in (0, 1):
            x, y = (float(v) for v in position[tank])
            angle = math.degrees(float(heading[tank]))
            colour = (AGENT, ENEMY)[tank] if health[tank] > 0 else DEAD
            body, gun = self._bodies[tank], self._guns[tank]
            body.resetTransform()
            body.scale(snap.tank_radius, snap.tank_radius, BODY)
            body.translate(x, y, 0.0)
            gun.resetTransform()
            gun.translate(0.5, 0.0, 0.0)  # the barrel starts at the tank's centre
            gun.scale(snap.tank_radius * 1.6, 1.0, 1.0)
            gun.rotate(angle, 0, 0, 1)
            gun.translate(x, y, GUN - 0.07)
            for item in (body, gun):
                item.setColor(colour)
                item.setVisible(True)
        flying = [snap.shells[0][t] for t in (0, 1) if snap.shell_alive[0][t]]
        if flying:
            self._shells.setData(pos=np.array([[x, y, GUN] for x, y in flying]))
        self._shells.setVisible(bool(flying))
        self._draw_rays(snap)

    def _draw_rays(self, snap: TankSnapshot) -> None:
        """The cameras asked for: a line from each tank to what each ray meets, red where it is
        the other tank or its shell."""
        segments = [
            segment for tank in range(RAY_TANKS[self.rays]) for segment in ray_segments(snap, tank)
        ]
        if not segments:
            self._rays.setVisible(False)
            return
        points = np.array([[*point, GUN] for start, end, _ in segments for point in (start, end)])
        hot = np.repeat([sees for _, _, sees in segments], 2)
        colours = np.where(hot[:, None], RAY_ENEMY, RAY)
        self._rays.setData(pos=points, color=colours)
        self._rays.setVisible(True)

    def _build_walls(self, half: float) -> None:
        self._half = half
        self._ground.setSize(2 * half, 2 * half)
        self._ground.setSpacing(1.0, 1.0)
        box, long, thin = _box((1.0, 1.0, WALL_H)), 2 * half, 0.1
        sides = ((0, half, long, thin), (0, -half, long, thin), (half, 0, thin, long),
                 (-half, 0, thin, long))  # fmt: skip
        walls = [(box, (sx, sy, 1.0), (x, y, 0.0)) for x, y, sx, sy in sides]
        self._walls.setMeshData(meshdata=_merged(walls))
        self._walls.setVisible(True)

    def _place_pillars(self, pillars: np.ndarray) -> None:
        """Rebuild the pillars when the arena's map changed (a random map: every fight)."""
        key = np.asarray(pillars, np.float32).tobytes()
        if key == self._pillar_key:
            return
        self._pillar_key = key
        drum = _drum()
        parts = [
            (drum, (float(radius), float(radius), PILLAR_H), (float(x), float(y), 0.0))
            for x, y, radius in pillars
            if radius > 0
        ]
        if parts:
            self._pillars.setMeshData(meshdata=_merged(parts))
        self._pillars.setVisible(bool(parts))

    def render_image(self, width: int, height: int) -> QtGui.QImage:
        """The view as a picture (rendered afresh into a framebuffer)."""
        return self.grabFramebuffer().scaled(width, height)
