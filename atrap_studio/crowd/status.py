"""What a crowd run reports as it goes: one record per round, in a JSON file beside the
networks, read by ``atrap crowd`` and by the editor's crowd panel."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from atrap_studio.core.yaml_io import write_text_atomic

STATUS_FILE = "crowd.json"


class RoundRecord(BaseModel):
    """One round: who answered, who was left out and why, and how good the merged network is."""

    model_config = ConfigDict(extra="forbid")

    round: int
    peers: dict[str, str] = {}  # node id -> its variant (region), for those that answered
    dropped: dict[str, str] = {}  # node id -> why its update was refused
    failed: dict[str, str] = {}  # node id -> the error it (or the SuperLink for it) reported
    missing: list[str] = []  # sampled nodes with no reply in time
    median: float | None = None  # the merged network's median score (see CrowdStatus.score)
    success_rate: float | None = None
    seconds: float = 0.0
    network: str = ""


class CrowdStatus(BaseModel):
    """The whole run so far."""

    model_config = ConfigDict(extra="forbid")

    run_id: str = ""  # Flower's id of the run
    graph: str = ""
    strategy: str = ""
    rounds_planned: int = 0
    score: str = ""  # what the scene's episodes are judged by, e.g. "tip error"
    unit: str = ""
    better: str = "higher"
    state: str = "starting"  # starting, running, finished, failed
    message: str = ""
    rounds: list[RoundRecord] = []

    def save(self, folder: Path) -> None:
        write_text_atomic(self.model_dump_json(indent=1), folder / STATUS_FILE)


def read_status(folder: Path) -> CrowdStatus | None:
    """The status in ``folder``, or None while there is none (or it is being replaced)."""
    try:
        return CrowdStatus.model_validate(json.loads((folder / STATUS_FILE).read_text()))
    except (OSError, ValueError, ValidationError):
        return None
