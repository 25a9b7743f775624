"""Reading and writing graph files: strict YAML 1.2 in, pretty YAML out, atomically.

Reading is defensive because graph files are shared between people: size-capped, UTF-8 only,
no tags (so nothing names Python code), no anchors or aliases (no "billion laughs"), duplicate
keys refused, nesting bounded; every error names the file, line and column.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.parser import RoundTripParser

from atrap_studio.core.blocks import BLOCK_FORMAT, BlockFile
from atrap_studio.core.document import FORMAT, GraphDocument
from atrap_studio.core.errors import GraphFileError, quoted, shortened
from atrap_studio.core.migrations import migrate
from atrap_studio.core.yaml_fast import plain_data

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 32


def load_graph(path: str | os.PathLike[str]) -> GraphDocument:
    """Read and parse a graph file (it is never modified)."""
    return parse_graph(_read_text(path), path=str(path))


def _read_text(path: str | os.PathLike[str]) -> str:
    """A size-capped, UTF-8 regular file's text, with the file's name in every error.

    The file is opened without blocking and checked on the open descriptor, so a named pipe
    cannot hang the reader and a link to a device (``/dev/zero`` reads as size 0) cannot feed
    it without end; at most one byte past the limit is ever read.
    """
    name = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise GraphFileError("no such file", path=name) from None
    except IsADirectoryError:
        raise GraphFileError("is a folder, not a graph file", path=name) from None
    except OSError as exc:
        raise GraphFileError(f"cannot be read ({exc.strerror})", path=name) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise GraphFileError("is a folder, not a graph file", path=name)
        if not stat.S_ISREG(info.st_mode):
            raise GraphFileError(
                "is not a regular file (a named pipe, device or socket); graph files are plain "
                "files",
                path=name,
            )
        raw = b"" if info.st_size > MAX_FILE_BYTES else _read_some(fd, name)
    finally:
        os.close(fd)
    size = max(info.st_size, len(raw))  # a file may grow after fstat: read at most limit + 1
    if size > MAX_FILE_BYTES:
        raise GraphFileError(
            f"the file is {size / 1e6:.1f} MB; graph files are limited to "
            f"{MAX_FILE_BYTES / 1e6:.0f} MB",
            path=name,
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise GraphFileError(
            f"is not UTF-8 text (byte {exc.start}); is it really a graph file?", path=name
        ) from None


def _read_some(fd: int, name: str) -> bytes:
    try:
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise GraphFileError(f"cannot be read ({exc.strerror})", path=name) from None


def parse_graph(text: str, *, path: str | None = None) -> GraphDocument:
    """Parse graph YAML text into a document, migrating older schema versions."""
    data = _quick_data(text, FORMAT)
    if data is not None:
        try:
            return GraphDocument.model_validate(data)
        except ValidationError:
            pass  # read again carefully: its messages name the lines
    tree, data = _read_tree(text, path, FORMAT, "graph")
    try:
        return GraphDocument.model_validate(data)
    except ValidationError as exc:
        raise _structure_error(exc, tree, path) from None


def parse_block(text: str, *, path: str | None = None) -> BlockFile:
    """Parse a block file (a re-usable group of nodes) as strictly as a graph file."""
    data = _quick_data(text, BLOCK_FORMAT)
    if data is not None:
        try:
            return BlockFile.model_validate(data)
        except ValidationError:
            pass  # read again carefully: its messages name the lines
    tree, data = _read_tree(text, path, BLOCK_FORMAT, "block")
    try:
        return BlockFile.model_validate(data)
    except ValidationError as exc:
        raise _structure_error(exc, tree, path) from None


def load_block(path: str | os.PathLike[str]) -> BlockFile:
    """Read and parse a block file (it is never modified)."""
    return parse_block(_read_text(path), path=str(path))


def _quick_data(text: str, fmt: str) -> dict[str, Any] | None:
    """The data of a plain, well-formed file whose ``format`` is ``fmt``, read fast (see
    :mod:`yaml_fast`); ``None`` for anything else, which :func:`_read_tree` then reads and
    refuses with its careful messages."""
    if len(text) > MAX_FILE_BYTES:
        return None
    data = plain_data(text, MAX_DEPTH)
    if not isinstance(data, dict) or data.get("format") != fmt:
        return None
    version = data.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int):
        return None
    try:
        return migrate(data, version)
    except ValueError:
        return None


def _read_tree(text: str, path: str | None, fmt: str, what: str) -> tuple[Any, dict[str, Any]]:
    """Strictly parse YAML text whose ``format`` must be ``fmt``; returns (tree, plain data)."""
    if len(text) > MAX_FILE_BYTES:
        raise GraphFileError(f"the text is too large for a {what} file", path=path)
    if not text.strip():
        raise GraphFileError(f"the file is empty; a {what} starts with 'format: {fmt}'", path=path)
    yaml = _reader(path)
    try:
        tree = yaml.load(text)
    except MarkedYAMLError as exc:
        raise _syntax_error(exc, path) from None
    except (YAMLError, RecursionError) as exc:
        raise GraphFileError(f"YAML error: {exc}", path=path) from None
    except ValueError as exc:  # Python refuses integers of over 4,300 digits
        why = (
            "it holds a whole number of over 4,300 digits, longer than Python reads"
            if "integer string conversion" in str(exc)
            else f"a value cannot be read: {shortened(str(exc), 200)}"
        )
        raise GraphFileError(why, path=path) from None
    if not isinstance(tree, CommentedMap):
        raise GraphFileError(
            f"expected a mapping starting with 'format: {fmt}', found {_kind(tree)}",
            path=path,
            line=1,
        )
    data = _plain(tree)
    if data.get("format") != fmt:
        found = data.get("format")
        raise GraphFileError(
            f"not an ATRAP {what}: 'format' is {quoted(found)}, expected '{fmt}'",
            path=path,
            line=_line(tree, ("format",)),
        )
    version = data.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise GraphFileError(
            f"'schema_version' must be a whole number, found {quoted(version)}",
            path=path,
            line=_line(tree, ("schema_version",)),
        )
    try:
        data = migrate(data, version)
    except ValueError as exc:
        raise GraphFileError(str(exc), path=path, line=_line(tree, ("schema_version",))) from None
    return tree, data


def dump_graph(doc: GraphDocument) -> str:
    """The document as YAML text: block nodes, flow props, positions and links."""
    return _dump(doc.to_data())


def dump_block(block: BlockFile) -> str:
    """A block file as YAML text, laid out like a graph file."""
    return _dump(block.to_data())


def _dump(data: dict[str, Any]) -> str:
    root = CommentedMap()
    for key, value in data.items():
        root[key] = value
    nodes = CommentedSeq()
    for node in data["nodes"]:
        item = CommentedMap(node)
        if "props" in item:
            item["props"] = _flow_map(item["props"])
        if "pos" in item:
            item["pos"] = _flow_seq(item["pos"])
        nodes.append(item)
    root["nodes"] = nodes
    root["links"] = CommentedSeq(_flow_seq(pair) for pair in data["links"])
    for side in ("inputs", "outputs"):
        if side in data:
            root[side] = CommentedSeq(_flow_map(p) for p in data[side])
    if "blocks" in data:
        blocks = CommentedSeq()
        for block in data["blocks"]:
            item = CommentedMap(block)
            item["nodes"] = _flow_seq(item["nodes"])
            if "pos" in item:
                item["pos"] = _flow_seq(item["pos"])
            for side in ("inputs", "outputs"):
                if side in item:
                    item[side] = CommentedSeq(_flow_map(p) for p in item[side])
            blocks.append(item)
        root["blocks"] = blocks
    out = io.StringIO()
    _writer().dump(root, out)
    return out.getvalue()


def save_graph(doc: GraphDocument, path: str | os.PathLike[str]) -> None:
    """Write atomically: a temp file in the same folder, flushed, then renamed over ``path``.

    A crash or a full disk never leaves a half-written graph where the user's file was.
    """
    write_text_atomic(dump_graph(doc), path)


def save_block(block: BlockFile, path: str | os.PathLike[str]) -> None:
    """Write a block file atomically, like :func:`save_graph`."""
    write_text_atomic(dump_block(block), path)


def write_text_atomic(text: str, path: str | os.PathLike[str]) -> None:
    """Write ``text`` to a temp file beside ``path``, flush it to disk, then rename it over."""
    write_bytes_atomic(text.encode("utf-8"), path)


def write_bytes_atomic(
    data: bytes, path: str | os.PathLike[str], *, mode: int | None = None
) -> None:
    """Write ``data`` so that ``path`` holds either the old file or the whole new one.

    Args:
        mode: the new file's permissions (e.g. 0o600 for a private key: the temp file is
            private from the start); by default the old file's, or 0o644.

    Raises:
        OSError: naming ``path`` (never our temp file), e.g. for a full disk.
    """
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or "."
        )
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), os.fspath(target)) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is None:
            mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OSError(exc.errno, exc.strerror or str(exc), os.fspath(target)) from None
        raise


def _reader(path: str | None = None) -> YAML:
    """A strict round-trip reader: every event is checked as the parser yields it, so the file
    is parsed once (checking it in a pass of its own took half the time of reading it)."""
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    check = _EventCheck(path)

    class CheckedParser(RoundTripParser):
        def get_event(self) -> Any:
            event = super().get_event()
            check(event)
            return event

    yaml.Parser = CheckedParser
    return yaml


def _writer() -> YAML:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    return yaml


class _EventCheck:
    """Refuse what the data model never needs, event by event, before it is constructed:
    anchors and aliases (no "billion laughs"), tags (nothing names Python code), a second
    document, nesting deeper than MAX_DEPTH (checked before the composer recurses)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.depth = 0
        self.documents = 0

    def __call__(self, event: Any) -> None:
        name = type(event).__name__
        mark = getattr(event, "start_mark", None)
        line = mark.line + 1 if mark is not None else None
        if name == "AliasEvent" or getattr(event, "anchor", None):
            raise GraphFileError(
                "YAML anchors and aliases (&name, *name) are not allowed in graph files",
                path=self.path,
                line=line,
            )
        if getattr(event, "tag", None) is not None:
            raise GraphFileError(
                f"YAML tags such as {quoted(event.tag)} are not allowed in graph files; "
                "a graph file holds plain data only",
                path=self.path,
                line=line,
            )
        if name == "DocumentStartEvent":
            self.documents += 1
            if self.documents > 1:
                raise GraphFileError(
                    "the file holds several YAML documents; a graph file holds one",
                    path=self.path,
                    line=line,
                )
        if name in ("MappingStartEvent", "SequenceStartEvent"):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise GraphFileError(
                    f"nested more than {MAX_DEPTH} levels deep", path=self.path, line=line
                )
        elif name in ("MappingEndEvent", "SequenceEndEvent"):
            self.depth -= 1


def _syntax_error(exc: MarkedYAMLError, path: str | None) -> GraphFileError:
    mark = exc.problem_mark or exc.context_mark
    return GraphFileError(
        f"YAML syntax error: {exc.problem or exc.context or 'invalid YAML'}",
        path=path,
        line=mark.line + 1 if mark else None,
        column=mark.column + 1 if mark else None,
    )


def _plain(value: Any) -> Any:
    """ruamel's round-trip objects as plain dicts, lists and scalars."""
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if type(value).__name__ == "ScalarBoolean" or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def _line(tree: Any, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest part of ``loc`` found in the round-trip tree."""
    line: int | None = getattr(getattr(tree, "lc", None), "line", None)
    node = tree
    for key in loc:
        lc = getattr(node, "lc", None)
        try:
            if isinstance(node, CommentedMap) and key in node:
                line = lc.key(key)[0] if lc is not None else line
                node = node[key]
            elif isinstance(node, CommentedSeq) and isinstance(key, int) and key < len(node):
                line = lc.item(key)[0] if lc is not None else line
                node = node[key]
            else:
                break
        except (KeyError, IndexError, TypeError):
            break
    return None if line is None else line + 1


def _structure_error(exc: ValidationError, tree: Any, path: str | None) -> GraphFileError:
    lines: list[str] = []
    first_line: int | None = None
    for error in exc.errors(include_url=False)[:20]:
        loc = tuple(
            p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function"))
        )
        line = _line(tree, loc)
        first_line = first_line if first_line is not None else line
        where = ".".join(str(p) for p in loc) or "document"
        at = f"line {line}: " if line else ""
        lines.append(f"{at}{where}: {error['msg']}")
    if len(exc.errors()) > 20:
        lines.append(f"... and {len(exc.errors()) - 20} more")
    message = "the graph's structure is invalid:\n  " + "\n  ".join(lines)
    return GraphFileError(message, path=path, line=first_line)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return "a list"
    return f"a single value ({quoted(value)})"


def _flow_map(mapping: dict[str, Any]) -> CommentedMap:
    result = CommentedMap(mapping)
    result.fa.set_flow_style()
    return result


def _flow_seq(items: list[Any]) -> CommentedSeq:
    result = CommentedSeq(items)
    result.fa.set_flow_style()
    return result
