"""Schema migrations: older graph files are upgraded on load, one version step at a time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from atrap_studio.core.document import SCHEMA_VERSION

Migration = Callable[[dict[str, Any]], dict[str, Any]]

#: ``MIGRATIONS[v]`` turns a version ``v`` document into a version ``v + 1`` one. Version 1 is
#: the first released schema, so there is nothing to migrate yet; a schema change adds its step
#: here together with a test that loads a file of the old version.
MIGRATIONS: dict[int, Migration] = {}

OLDEST_READABLE = 1


def migrate(data: dict[str, Any], version: int) -> dict[str, Any]:
    """Upgrade raw document data from ``version`` to the current :data:`SCHEMA_VERSION`.

    Raises:
        ValueError: when the version is newer than this program or older than it can read.
    """
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"schema_version {version} was written by a newer ATRAP Studio; this one reads up to "
            f"{SCHEMA_VERSION}. Update ATRAP Studio to open it."
        )
    if version < OLDEST_READABLE:
        raise ValueError(
            f"schema_version {version} is older than any version ATRAP Studio can read "
            f"(oldest: {OLDEST_READABLE})"
        )
    while version < SCHEMA_VERSION:
        data = MIGRATIONS[version](data)
        version += 1
        data["schema_version"] = version
    return data
