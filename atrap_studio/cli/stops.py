"""Stop signals: SIGINT, SIGTERM and SIGHUP end any command as Ctrl+C does, cleanly.

``kill``, ``docker stop`` and a closed SSH session send SIGTERM or SIGHUP, whose default action
ends Python at once: no ``finally``, so a crowd's Flower processes would be left running. Here
each becomes a :class:`Stopped` exception, which unwinds the command (context managers stop
their child processes) and exits 128 + the signal, as shells report it (130 for Ctrl+C).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Signals that stop a command as Ctrl+C does (``kill``, ``docker stop``, a closed SSH session).
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def exit_code(signum: int) -> int:
    """The exit code of a command cut short by ``signum``: what a shell shows for it."""
    return 130 if signum == signal.SIGINT else 128 + signum


class Stopped(KeyboardInterrupt):
    """A stop signal arrived; raised in the main thread so that clean-ups run on the way out.

    A KeyboardInterrupt, so that ``except Exception`` never swallows it, as with Ctrl+C.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def code(self) -> int:
        return exit_code(self.signum)


def stop_within(exc: BaseException) -> Stopped | None:
    """The :class:`Stopped` that ``exc`` wraps, if any: Python turns an exception raised while
    a class is being made (``__set_name__``, as when a signal lands inside ``import torch``)
    into a RuntimeError whose cause it is."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, Stopped):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


@contextmanager
def stopped_by_signals() -> Iterator[None]:
    """Within the block, a stop signal raises :class:`Stopped` (once: signals that arrive
    while the clean-ups run are ignored, so a second Ctrl+C cannot cut a clean-up short)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers; its own stay in place
        return

    def ignore(_signum: int, _frame: Any) -> None:
        """A Python no-op, not SIG_IGN: children started meanwhile must not inherit it."""

    def stop(signum: int, _frame: Any) -> None:
        for number in STOP_SIGNALS:
            signal.signal(number, ignore)
        raise Stopped(signum)

    def unraisable(info: Any) -> None:
        """Where Python swallows exceptions (a weakref callback of the import machinery, a
        ``__del__``) a Stopped would be lost, and the command run on with its stop signals
        ignored: deliver the signal again, to be raised in ordinary code."""
        if isinstance(info.exc_value, Stopped):
            for number in STOP_SIGNALS:
                signal.signal(number, stop)
            # a moment later, from another thread: raised in this hook, it would be swallowed
            again = threading.Timer(0.05, os.kill, (os.getpid(), info.exc_value.signum))
            again.daemon = True
            again.start()
            return
        hook(info)

    hook = sys.unraisablehook
    sys.unraisablehook = unraisable
    previous = {number: signal.signal(number, stop) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        sys.unraisablehook = hook
