"""Saving a graph over the file it came from without losing the file's comments and layout.

A graph file is written by people: a header that explains the example, a note after a link,
numbers written their way (``1.0e-3``). Writing the document afresh would drop all of that, so
the editor keeps the file's round-trip tree (ruamel's ``CommentedMap``, which carries the
comments) and, on save, updates it in place from the document: values that did not change keep
their original text, list items are matched by node id, block id or link so their comments
travel with them, and only what the person changed is written anew (styled as a fresh file).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from atrap_studio.core.document import FORMAT, GraphDocument

# The reading and writing rules live in yaml_io (its strict reader, its writer's layout).
from atrap_studio.core.yaml_io import (
    _plain,
    _read_text,
    _read_tree,
    _writer,
    dump_graph,
    load_graph,
    write_text_atomic,
)

#: How list items are matched between the file and the document: by what identifies them.
_KEYED_LISTS: dict[str, Callable[[Any], Any]] = {
    "nodes": lambda item: item.get("id") if isinstance(item, dict) else None,
    "blocks": lambda item: item.get("id") if isinstance(item, dict) else None,
    "links": lambda item: tuple(item) if isinstance(item, list) else None,
}


def load_graph_with_layout(path: str | os.PathLike[str]) -> tuple[GraphDocument, CommentedMap]:
    """Read a graph (every check of :func:`load_graph`) and the tree that keeps its comments."""
    doc = load_graph(path)
    tree, _ = _read_tree(_read_text(path), str(path), FORMAT, "graph")
    return doc, tree


def dump_graph_into(doc: GraphDocument, layout: CommentedMap) -> str:
    """The document as YAML text, written into ``layout`` (updated in place) so the file's
    comments and unchanged values stay as they were."""
    fresh = YAML(typ="rt").load(dump_graph(doc))
    _merge_map(layout, fresh)
    out = io.StringIO()
    _writer().dump(layout, out)
    return out.getvalue()


def _merge_map(old: CommentedMap, new: CommentedMap) -> None:
    """Make ``old`` hold ``new``'s keys and values, keeping what is equal untouched."""
    for key in [k for k in old if k not in new]:
        del old[key]
    for index, (key, value) in enumerate(new.items()):
        if key not in old:
            old.insert(index, key, value)
        else:
            old[key] = _merged(old[key], value, key)


def _merged(old: Any, new: Any, key: Any) -> Any:
    """``old`` itself if it already says ``new``; else ``old`` updated, or ``new``'s node."""
    if _plain(old) == _plain(new) and type(_plain(old)) is type(_plain(new)):
        return old
    if isinstance(old, CommentedMap) and isinstance(new, CommentedMap):
        _merge_map(old, new)
        return old
    if isinstance(old, CommentedSeq) and isinstance(new, CommentedSeq) and key in _KEYED_LISTS:
        _merge_keyed_seq(old, new, _KEYED_LISTS[key])
        return old
    return new


def _merge_keyed_seq(old: CommentedSeq, new: CommentedSeq, key_of: Callable[[Any], Any]) -> None:
    """Put ``new``'s items in ``old``, re-using the old item (and the comment after it) that has
    the same identity, so a note stays with its node or link wherever it moves."""
    by_key: dict[Any, tuple[Any, Any]] = {}
    for index, item in enumerate(old):
        by_key.setdefault(key_of(_plain(item)), (item, old.ca.items.get(index)))
    items: list[Any] = []
    comments: dict[int, Any] = {}
    for index, item in enumerate(new):
        found = by_key.pop(key_of(_plain(item)), None)
        if found is None:
            items.append(item)
            continue
        kept, comment = found
        items.append(_merged(kept, item, None))
        if comment is not None:
            comments[index] = comment
    old.ca.items.clear()
    del old[:]
    old.extend(items)
    old.ca.items.update(comments)


def save_graph_into(doc: GraphDocument, layout: CommentedMap, path: str | os.PathLike[str]) -> None:
    """Write atomically like :func:`~atrap_studio.core.yaml_io.save_graph`, keeping the layout."""
    write_text_atomic(dump_graph_into(doc, layout), path)
