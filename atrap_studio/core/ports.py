"""Port types: what flows along a link, parsed from spec strings like ``Vector[6]``."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Kinds of data a port carries, with the number of dimensions their shape has.
#: ``Action`` is a command for a scene (from an action node into a scene's actuators).
KINDS: dict[str, int] = {
    "Scene": 0,
    "Vector": 1,
    "Image": 3,
    "Reward": 0,
    "Network": 0,
    "Action": 0,
    "Event": 0,
}

_TYPE_RE = re.compile(r"^\s*([A-Za-z]+)\s*(?:\[\s*([0-9?,\s]*)\s*\])?\s*$")


@dataclass(frozen=True)
class PortType:
    """A port kind and, for Vector/Image, its shape (``None`` dims are inferred along links)."""

    kind: str
    shape: tuple[int | None, ...] = ()

    @classmethod
    def parse(cls, text: str) -> PortType:
        """Parse ``Scene``, ``Vector``, ``Vector[6]``, ``Image[32,32,3]`` or ``Image[?,?,3]``."""
        match = _TYPE_RE.match(text)
        if not match or match.group(1) not in KINDS:
            known = ", ".join(KINDS)
            raise ValueError(f"unknown port type {text!r}; known kinds: {known}")
        kind, dims_text = match.group(1), match.group(2)
        ndim = KINDS[kind]
        if dims_text is None:
            return cls(kind, (None,) * ndim)
        parts = [p.strip() for p in dims_text.split(",")]
        if len(parts) != ndim:
            raise ValueError(f"port type {text!r}: {kind} takes {ndim} dimension(s)")
        dims: list[int | None] = []
        for part in parts:
            if part == "?":
                dims.append(None)
            elif part.isdigit() and int(part) > 0:
                dims.append(int(part))
            else:
                raise ValueError(
                    f"port type {text!r}: dimension {part!r} must be a positive integer"
                )
        return cls(kind, tuple(dims))

    def __str__(self) -> str:
        if not self.shape:
            return self.kind
        dims = ",".join("?" if d is None else str(d) for d in self.shape)
        return f"{self.kind}[{dims}]"

    def accepts(self, source: PortType) -> bool:
        """Whether an output of type ``source`` may link into an input of this type.

        Shapes are compared only where both sides know them; Vector sizes are checked by the
        validator's size inference instead, because several links into one input concatenate.
        """
        if self.kind != source.kind:
            return False
        if self.kind == "Vector":
            return True
        return all(
            a is None or b is None or a == b for a, b in zip(self.shape, source.shape, strict=True)
        )
