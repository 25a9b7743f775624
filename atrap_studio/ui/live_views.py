"""What a running training shows: the live views' frames and the status-bar dashboard.

Both are paced so that watching costs the trainer little. Frames (scene and neurons) are asked
for only while a 3-D view is on screen, and spaced so that drawing takes at most
:data:`VIEW_BUDGET` of the GUI thread's time; the status bar, the progress bar and the curves
change together on one tick a second, because each repaint of the window has a cost.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6 import QtCore, QtWidgets

from atrap_studio.core.events import Event
from atrap_studio.ui.run_control import RunController
from atrap_studio.ui.views import scenes
from atrap_studio.ui.views.curves import QtCurves
from atrap_studio.ui.views.neuron_view import QtNeuronView
from atrap_studio.ui.views.scene_view import QtSceneView

#: Most frames per second the scene and neuron views ask the run for (each costs it a copy).
VIEW_FPS = 20
#: Share of wall time the scene and neuron views may spend drawing; frames thin out to fit.
VIEW_BUDGET = 0.02
MAX_FRAME_INTERVAL_S = 2.0
#: How often the status bar, progress and curves show a running training's news.
DASHBOARD_MS = 1000
#: The curves redraw every this many dashboard ticks (a redraw of all plots costs 10-40 ms).
CURVES_EVERY_TICKS = 2
#: How the status bar says why a run ended.
FINISHED = {"completed": "finished", "goal": "goal reached", "stopped": "stopped"}


class LiveViews(QtCore.QObject):
    """Owns the views and paces what a run shows in them and in the status bar.

    The Scene dock holds one view per snapshot kind (``scene_stack``), made when a run's scene
    first needs it and shown by the kind each snapshot carries; the arm's 3-D view is there from
    the start (``scene_view``), since the editor steers its targets.
    """

    def __init__(
        self,
        runs: RunController,
        run_label: QtWidgets.QLabel,
        progress: QtWidgets.QProgressBar,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runs, self.run_label, self.progress = runs, run_label, progress
        self.scene_view = QtSceneView()
        self.scene_stack = QtWidgets.QStackedWidget()
        self.scene_stack.addWidget(self.scene_view)
        #: By kind; each offers show_snapshot, paint_now, set_instance_count, instances_changed.
        self.scene_views: dict[str, Any] = {"arm": self.scene_view}
        self._instances = 1
        self.neuron_view = QtNeuronView()
        self.curves = QtCurves(auto_redraw=False)
        self._frames = QtCore.QTimer(self)
        self._frames.setInterval(int(1000 / VIEW_FPS))
        self._frames.timeout.connect(self._ask_for_frame)
        self._dashboard = QtCore.QTimer(self)
        self._dashboard.setInterval(DASHBOARD_MS)
        self._dashboard.timeout.connect(self.refresh)
        self._latest_step: Event | None = None
        self._rates: list[str] = []  # the latest speeds, kept in the label when a run ends
        self._ticks = 0
        runs.event_received.connect(self.on_event)
        runs.event_received.connect(self.curves.on_event)
        self.scene_view.instances_changed.connect(runs.set_shown_instances)
        self.scene_view.target_held.connect(runs.hold_target)
        self.scene_view.target_released.connect(runs.release_target)
        self.scene_view.target_placed.connect(runs.announce_hold)

    def on_event(self, event: Event) -> None:
        data = event.data
        if event.kind == "snapshot":
            self._draw_frame(event.step, data)
        elif event.kind == "started":
            self._rates = []
            outcome = data.get("outcome")
            if outcome is not None:
                self.scene_view_for(outcome.snapshot)
            self.scene_view.forget_hold()  # a hold belonged to the run before
            if data.get("resumed_from") is None:  # a new run: its views start empty
                self.neuron_view.clear()
                self.scene_view.clear_trail()
            self.progress.setMaximum(max(1, int(data.get("steps", 1))))
            self._frames.start()
            self._dashboard.start()
        elif event.kind == "step":
            self._latest_step = event
        elif event.kind == "paused":
            self.run_label.setText(f"paused at update {event.step:,}")
        elif event.kind == "finished":
            self._frames.stop()
            self._dashboard.stop()
            self.refresh()
            self.curves.redraw()
            reason = str(data.get("reason", "completed"))  # not "paused" any more
            ended = f"{FINISHED.get(reason, reason)} at update {event.step:,}"
            self.run_label.setText("  ·  ".join([ended, *self._rates]))

    def clear(self) -> None:
        """Another graph: nothing of the previous graph's run stays on screen."""
        self._frames.stop()
        self._dashboard.stop()
        self._latest_step, self._rates = None, []
        self.run_label.clear()
        self.progress.setValue(0)
        self.progress.hide()
        self.neuron_view.clear()
        self.curves.store.clear()
        self.curves.redraw()
        for kind in [k for k in self.scene_views if k != "arm"]:  # made again when needed
            view = self.scene_views.pop(kind)
            self.scene_stack.removeWidget(view)
            view.deleteLater()
        self.scene_view.clear()
        self.scene_stack.setCurrentWidget(self.scene_view)

    def refresh(self) -> None:
        """Show the latest step's news (status bar, progress) and, every other tick, the curves."""
        event, self._latest_step = self._latest_step, None
        if event is not None:
            data = event.data
            metrics = data.get("metrics", {})
            total = int(data.get("total_steps", self.progress.maximum()))
            self.progress.setMaximum(max(1, total))
            self.progress.setValue(min(event.step, total))
            parts = [
                f"update {event.step:,}/{total:,}",
                f"{metrics.get('perf/updates_per_s', 0.0):,.0f} updates/s",
                f"{metrics.get('perf/env_steps_per_s', 0.0):,.0f} steps/s",
                f"{data.get('elapsed_s', 0.0):.1f} s",
            ]
            if "explore/random_share" in metrics:
                parts.append(f"random {metrics['explore/random_share']:.0%}")
            self.run_label.setText("  ·  ".join(parts))
            self._rates = parts[1:]
        self._ticks += 1
        if self._ticks % CURVES_EVERY_TICKS == 0 and not self.curves.visibleRegion().isEmpty():
            self.curves.redraw()

    def scene_view_for(self, kind: str) -> Any:
        """The Scene dock's view of ``kind``, made if needed and brought to the front."""
        view: Any = self.scene_views.get(kind)
        if view is None:
            view = scenes.live_view(kind)
            if view is None:
                return None
            view.instances_changed.connect(self.runs.set_shown_instances)
            view.set_instance_count(self._instances)
            self.scene_views[kind] = view
            self.scene_stack.addWidget(view)
        self.scene_stack.setCurrentWidget(view)
        return view

    def set_instance_count(self, count: int) -> None:
        """How many instances the scene views may choose from."""
        self._instances = count
        for view in self.scene_views.values():
            view.set_instance_count(count)

    def _on_screen(self) -> bool:
        """Whether a view would show a new frame (hidden or tabbed-away ones would not)."""
        return any(
            not view.visibleRegion().isEmpty() for view in (self.scene_stack, self.neuron_view)
        )

    def _ask_for_frame(self) -> None:
        if self._on_screen():
            self.runs.request_snapshot()

    def _draw_frame(self, step: int, data: dict[str, Any]) -> None:
        """Draw a snapshot, then space the next request so drawing stays within its budget.

        The GUI thread and training share the CPU (and Python's lock): a costly frame means
        fewer frames, never a slower trainer.
        """
        start = time.perf_counter()
        scene = data.get("scene")
        for view, snap in (
            (self.scene_view_for(scene.kind) if scene is not None else None, scene),
            (self.neuron_view, data.get("network")),
        ):
            if view is not None and snap is not None:
                view.show_snapshot(step, snap)
                view.paint_now()
        cost = time.perf_counter() - start
        interval = min(max(cost / VIEW_BUDGET, 1.0 / VIEW_FPS), MAX_FRAME_INTERVAL_S)
        self._frames.setInterval(int(interval * 1000))
