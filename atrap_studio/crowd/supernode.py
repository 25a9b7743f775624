"""A peer's SuperNode: Flower's own, which also ends when the command that started it dies.

Flower's SuperNode outlives its parent: after ``kill -9`` of ``atrap crowd join`` (nothing of
ours runs on the way out) it would go on training for the crowd. Run as ``python -m
atrap_studio.crowd.supernode --parent-pid PID <flower-supernode options>``: once PID is gone
it stops as Ctrl+C would, or at once if that does not end it within seconds.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence

#: Seconds a process whose parent died has to stop as Ctrl+C would before it is ended. (Flower's
#: own parent monitor raises SIGINT once; a SuperNode that got it while starting, or while
#: retrying its connection, swallowed it and went on.)
GRACE_S = 10.0


def stop_with_parent(parent_pid: int) -> None:
    """Watch from a thread: when ``parent_pid`` is no longer this process's parent (it died,
    even by kill -9), stop as Ctrl+C would, or end at once after GRACE_S. Flower's children
    watch their own parent (``--parent-pid``) and follow."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.2)
        signal.raise_signal(signal.SIGINT)
        time.sleep(GRACE_S)
        os._exit(1)

    threading.Thread(target=watch, name="stop-with-parent", daemon=True).start()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parent-pid", type=int, required=True, help="stop when it ends")
    ours, flower_args = parser.parse_known_args(argv)

    stop_with_parent(ours.parent_pid)
    from flwr.supernode.cli import flower_supernode

    sys.argv = ["flower-supernode", *flower_args]  # Flower's own parser reads sys.argv
    flower_supernode()


if __name__ == "__main__":
    main()
