"""Why a run is slow: its speed against this machine's earlier runs of the graph, and threads.

Each finished run of a graph leaves its typical updates per second (and the thread count) in
the editor's settings, keyed by what the graph computes; a later run of the same graph that
falls far below it says so in the status bar, naming the likely causes: another program using
the processor, or a different number of threads (chosen in Run → Threads, remembered).
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
from collections.abc import Callable

from PySide6 import QtCore, QtGui, QtWidgets

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.events import Event

#: A run is "slow" below this share of the earlier speed, and fine again above RECOVERED.
SLOW_SHARE = 0.5
RECOVERED = 0.6
#: Speed reports skipped at the start and after a pause (compiling, warming up, pausing).
WARMUP_REPORTS = 3
#: Reports in the rolling median that is compared (one slow report is not a slow run).
WINDOW = 5
#: Properties that change how long a run lasts or what it keeps, not how fast it updates.
NOT_SPEED = frozenset({"steps", "goal_success_rate", "checkpoint_every", "seed", "explore_to"})


def usable_cores() -> int:
    """The processor cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def graph_key(doc: GraphDocument) -> str:
    """What a graph computes (nodes, properties that bear on speed, links), as a short hash:
    moving or renaming a node keeps its speed record, resizing the network starts a new one."""
    content = {
        "nodes": sorted(
            [n.id, n.type, {k: v for k, v in n.props.items() if k not in NOT_SPEED}]
            for n in doc.nodes
        ),
        "links": sorted(lk.to_pair() for lk in doc.links),
    }
    text = json.dumps(content, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


class SpeedWatch(QtCore.QObject):
    """Compares a running training's updates per second with the graph's earlier runs.

    Signals:
        slow(str): a warning for the status bar; an empty text when the speed is back.
    """

    slow = QtCore.Signal(str)

    def __init__(self, settings: QtCore.QSettings, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._key: str | None = None
        self._threads = 0
        self._reference: tuple[float, int] | None = None
        self._samples: list[float] = []
        self._skip = WARMUP_REPORTS
        self._warned = False

    def expect(self, doc: GraphDocument, threads: int) -> None:
        """The graph and thread count of the run about to start."""
        self._key, self._threads = f"speed/{graph_key(doc)}", threads
        self._reference = self.reference()

    def reference(self) -> tuple[float, int] | None:
        """The graph's earlier typical updates/s and its thread count, if it ran before."""
        if self._key is None:
            return None
        try:
            speed = float(self.settings.value(f"{self._key}/updates_per_s", 0.0))
            threads = int(self.settings.value(f"{self._key}/threads", 0))
        except (TypeError, ValueError):
            return None
        return (speed, threads) if speed > 0 else None

    def on_event(self, event: Event) -> None:
        kind = event.kind
        if kind == "started":
            self._samples, self._skip, self._warned = [], WARMUP_REPORTS, False
        elif kind in ("paused", "resumed"):
            self._skip = max(self._skip, 1)  # the report spanning the pause is not a speed
        elif kind == "step":
            speed = event.data.get("metrics", {}).get("perf/updates_per_s")
            if speed is None:
                return
            if self._skip > 0:
                self._skip -= 1
                return
            self._samples.append(float(speed))
            self._judge()
        elif kind == "finished":
            if self._warned:
                self.slow.emit("")
            if event.data.get("reason") in ("completed", "goal", "stopped"):
                self._record()
            self._warned = False

    def _judge(self) -> None:
        if self._reference is None or len(self._samples) < min(WINDOW, 2):
            return
        now = statistics.median(self._samples[-WINDOW:])
        earlier, threads = self._reference
        if not self._warned and now < SLOW_SHARE * earlier:
            self._warned = True
            self.slow.emit(self._message(now, earlier, threads))
        elif self._warned and now > RECOVERED * earlier:
            self._warned = False
            self.slow.emit("")

    def _message(self, now: float, earlier: float, threads: int) -> str:
        said = (
            f"Slower than before: {now:,.0f} updates/s, where this machine did {earlier:,.0f} "
            f"with this graph"
        )
        if threads and threads != self._threads:
            return f"{said} on {threads} thread(s); this run has {self._threads} (Run → Threads)."
        return (
            f"{said}. Another program may be using the processor; or try another number of "
            "threads (Run → Threads)."
        )

    def _record(self) -> None:
        """Keep this run's typical speed when it is the graph's best so far (a busy run does not
        lower the bar)."""
        if self._key is None or len(self._samples) < 2:
            return
        typical = statistics.median(self._samples)
        if self._reference is None or typical > self._reference[0]:
            self.settings.setValue(f"{self._key}/updates_per_s", round(typical, 3))
            self.settings.setValue(f"{self._key}/threads", self._threads)
            self._reference = (typical, self._threads)


class ThreadChoice(QtCore.QObject):
    """Run → Threads: how many processor threads training uses, remembered in the settings.

    ``forced`` (the ``--threads`` flag) wins for this session until another is chosen.
    """

    def __init__(
        self,
        settings: QtCore.QSettings,
        forced: int | None,
        say: Callable[[str], None],
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings, self._say = settings, say
        saved = settings.value("run/threads", 0)
        try:
            chosen = int(saved)
        except (TypeError, ValueError):
            chosen = 0
        self.chosen = forced if forced else max(0, chosen)  # 0: every usable core

    @property
    def threads(self) -> int:
        """The thread count for the next run."""
        return self.chosen or usable_cores()

    def fill(self, menu: QtWidgets.QMenu) -> None:
        """One checkable entry per choice: every core, then 1 to the usable cores."""
        group = QtGui.QActionGroup(menu)
        cores = usable_cores()
        for count in range(0, max(cores, 2) + 1):
            text = f"&Automatic: all {cores} cores" if count == 0 else f"&{count} thread(s)"
            action = menu.addAction(text)
            action.setCheckable(True)
            action.setChecked(count == self.chosen)
            action.setData(count)
            group.addAction(action)
            action.triggered.connect(lambda *_, n=count: self.choose(n))
            if count == 0:
                menu.addSeparator()

    def choose(self, count: int) -> None:
        self.chosen = count
        self.settings.setValue("run/threads", count)
        self._say(f"The next run trains on {self.threads} thread(s).")
