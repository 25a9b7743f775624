"""Fixtures shared by the crowd's tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from flwr.supercore.task_identity import TaskIdentity

#: Settings of a crowd run for tests that are about Flower: short rounds and no distilling
#: aggregator (the default's 300 steps a round cost seconds; tests/crowd/test_guard.py and
#: test_drift.py run it in-process). A round waits for late peers up to its timeout: generous, so
#: that a loaded machine's slow peers are not mistaken for lost ones (a killed peer is reported
#: by Flower's heartbeat first).
FAST = {
    "local-steps": 10,
    "eval-episodes": 256,
    "round-timeout": 120.0,
    "poll-interval": 0.2,
    "distill-steps": 0,
}


@pytest.fixture
def in_a_flower_task(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Flower builds messages only inside a run's task; give the test one (and a quiet Flower
    log), undone afterwards: other tests in the same process read Flower's log."""
    for name, value in (("_run_id", 1), ("_task_id", 1), ("_node_id", 0)):
        monkeypatch.setattr(TaskIdentity, name, value)
    flower = logging.getLogger("flwr")
    level = flower.level
    flower.setLevel(logging.ERROR)  # setLevel, not the attribute: it clears the loggers' cache
    yield
    flower.setLevel(level)
