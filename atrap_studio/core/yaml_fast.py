"""A fast reader for plain graph files: libyaml's C parser, plain data, no line numbers.

ruamel's round-trip reader (:mod:`yaml_io`) is pure Python, about 1 ms a node: a 5,000-node
graph took 5 s to read. This reader builds the same data from libyaml's events (PyYAML's C
parser) in a small fraction of that, but only for files that use nothing beyond what graph
files need: one document of mappings, sequences and one-line scalars, plain numbers written
plainly. Anything else (anchors, aliases, tags, directives, duplicate or non-text keys, escaped
or multi-line scalars, tabs and unusual line breaks, other number notations, deep nesting, a
syntax error) gives ``None``, and the caller reads the text with the careful reader, whose
messages name lines and columns. Both readers therefore agree on every text this one accepts
(tests compare them, on examples, random documents and damaged copies of the examples).
"""

from __future__ import annotations

import re
from typing import Any

try:
    from yaml import YAMLError
    from yaml import events as _events
    from yaml.cyaml import CParser
except ImportError:  # PyYAML without libyaml: every file takes the careful reader
    CParser = None

#: How plain scalars resolve under YAML 1.2's core schema, as ruamel reads them; the number
#: patterns are narrower than the schema's (no underscores, hex, octal, infinities), so that a
#: number in another notation is left to ruamel.
_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_OTHER_NUMBER = re.compile(r"[-+]?\.?[0-9]|[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)$")
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_NULL = frozenset({"", "~", "null", "Null", "NULL"})
#: Characters the two parsers read differently: ruamel refuses some tabs that libyaml takes, and
#: libyaml (YAML 1.1) breaks lines at NEL, LS and PS where YAML 1.2 does not; a byte-order mark
#: anywhere but at the start. Rare in graph files: any of them sends the text to ruamel.
_LEFT_TO_RUAMEL = ("\t", "\x85", "\u2028", "\u2029", "\ufeff")
#: Plain scalars that YAML 1.2 gives other meanings (merge keys, the value key).
_SPECIAL = frozenset({"<<", "="})


class _NotPlain(Exception):
    """The text uses something this reader leaves to the careful one."""


def plain_data(text: str, max_depth: int) -> Any | None:
    """The text's data if it is a plain YAML document, else ``None`` (read it carefully)."""
    if CParser is None or any(char in text for char in _LEFT_TO_RUAMEL):
        return None
    parser = CParser(text)
    try:
        return _build(parser, text, max_depth)
    except (_NotPlain, YAMLError, ValueError):
        return None
    finally:
        parser.dispose()


def _build(parser: Any, text: str, max_depth: int) -> Any:
    """Data from the parser's events, built with an explicit stack (no recursion)."""
    # Each open collection with, for a mapping, the key waiting for its value.
    stack: list[tuple[dict[str, Any] | list[Any], list[str | None]]] = []
    root: Any = None
    documents = 0

    def add(value: Any) -> None:
        nonlocal root
        if not stack:
            root = value
            return
        into, pending = stack[-1]
        if isinstance(into, list):
            into.append(value)
        elif pending[0] is None:
            if not isinstance(value, str) or value in into:
                raise _NotPlain  # a non-text or duplicate key: ruamel says which
            pending[0] = value
        else:
            into[pending[0]] = value
            pending[0] = None

    while True:
        event = parser.get_event()
        kind = type(event)
        if kind is _events.ScalarEvent:
            if event.anchor is not None or event.tag is not None:
                raise _NotPlain
            raw = text[event.start_mark.index : event.end_mark.index]
            if "\\" in raw or "\n" in raw or "\r" in raw:
                raise _NotPlain  # escapes and line folding: leave them to ruamel
            add(_scalar(event.value) if event.implicit[0] else event.value)
        elif kind is _events.MappingStartEvent or kind is _events.SequenceStartEvent:
            if event.anchor is not None or event.tag is not None or len(stack) >= max_depth:
                raise _NotPlain
            if stack and isinstance(stack[-1][0], dict) and stack[-1][1][0] is None:
                raise _NotPlain  # a collection as a mapping key
            stack.append(({} if kind is _events.MappingStartEvent else [], [None]))
        elif kind is _events.MappingEndEvent or kind is _events.SequenceEndEvent:
            done, _ = stack.pop()
            add(done)
        elif kind is _events.DocumentStartEvent:
            documents += 1
            if documents > 1 or event.version is not None or event.tags:
                raise _NotPlain
        elif kind is _events.AliasEvent:
            raise _NotPlain
        elif kind is _events.StreamEndEvent:
            return root


def _scalar(value: str) -> Any:
    """A plain scalar's value under YAML 1.2's core schema (see the patterns above)."""
    if value in _NULL:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if value in _SPECIAL:
        raise _NotPlain
    if _INT.fullmatch(value):
        return int(value)  # over 4,300 digits: ValueError, left to ruamel
    if _FLOAT.fullmatch(value):
        return float(value)
    if _OTHER_NUMBER.match(value) or value[0] in "0123456789":
        raise _NotPlain  # hex, octal, underscores, infinities, dates and times: ruamel's call
    return value
