"""Content digests of the networks a crowd sends: every update and every merged network
travels with a digest per tensor (BLAKE3, as files), checked before it is aggregated or loaded.

Flower carries arrays, not our files, so the file digests of runtime/digests.py do not cover
them. TLS protects them on the wire where the crowd uses it; these digests also catch damage
between the sender's arrays and the receiver's (a faulty proxy, memory or serialisation), and
name the tensor that changed, as a damaged file is named.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from atrap_studio.runtime.digests import tensor_digest

#: The config key under which a message's arrays' digests travel ("name=hexdigest" each).
DIGESTS_KEY = "digests"


def array_digests(arrays: Mapping[str, np.ndarray]) -> list[str]:
    """One ``name=digest`` entry per array, by name (dtype and shape covered too)."""
    return [f"{name}={_digest(arrays[name])}" for name in sorted(arrays)]


def digest_problem(arrays: Mapping[str, np.ndarray], said: object) -> str | None:
    """Why ``arrays`` are not the arrays whose digests were ``said`` to come with them, or None."""
    if not isinstance(said, list) or not all(isinstance(entry, str) for entry in said):
        return "it came without the digests of its arrays"
    sent = dict(entry.partition("=")[::2] for entry in said)
    if sorted(sent) != sorted(arrays):
        return "the digests sent with it name other arrays than it holds"
    for name in sorted(arrays):
        if _digest(arrays[name]) != sent[name]:
            return f"{name} does not match the digest sent with it (damaged on the way)"
    return None


def _digest(array: np.ndarray) -> str:
    data = np.ascontiguousarray(array)
    return tensor_digest(str(data.dtype), tuple(data.shape), data.data.cast("B"))
