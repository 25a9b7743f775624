"""The project's own error types: every refusal of bad input is one of these, never a traceback."""

from __future__ import annotations


class AtrapError(Exception):
    """Base of all errors ATRAP Studio reports to a user.

    The message is meant to be shown as is: it names what is wrong, where, and how to fix it.
    """


class GraphFileError(AtrapError):
    """A graph file could not be read: syntax, format, schema version or structure.

    Attributes:
        path: the file, when the document came from one.
        line: 1-based line of the problem, when known.
        column: 1-based column of the problem, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.detail = message
        super().__init__(self._format())

    def _format(self) -> str:
        where = self.path or "<graph>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.detail}"


class NetworkFileError(AtrapError):
    """A network or checkpoint file was refused: format, version, shapes, sizes or values."""


class RunError(AtrapError):
    """A run could not start or had to stop: a node failed, a loss was not finite...

    Attributes:
        node: id of the node at fault, when one is (the editor marks it; no message parsing).
    """

    def __init__(self, message: str, *, node: str | None = None) -> None:
        self.node = node
        super().__init__(message)


class AtrapWarning(UserWarning):
    """Something a user should know that does not stop the work (an unverifiable old file).

    The CLI prints these as ``warning: <message>``; the message names the file and what to do.
    """


#: How much of a value a message quotes: enough to recognise it, never a whole hostile file.
QUOTE_CHARS = 60


def quoted(value: object, limit: int = QUOTE_CHARS) -> str:
    """``repr(value)`` for a message, cut short: ``'xxxx…' (100,000 characters)``.

    Files come from strangers: a 100,000-character property must not fill a terminal, a log
    or the editor's problem list.
    """
    try:
        text = repr(value)
    except ValueError:  # an integer too long for Python to write out
        return "a number too long to show"
    return _cut(text, value, limit)


def shortened(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text`` as is, or cut short like :func:`quoted` (for names shown without quotes)."""
    return _cut(text, text, limit)


def _cut(text: str, value: object, limit: int) -> str:
    if len(text) <= limit:
        return text
    size = f" ({len(value):,} characters)" if isinstance(value, str) else ""
    return f"{text[:limit]}…{size}"
