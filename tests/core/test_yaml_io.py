"""Reading and writing graph files, including every kind of bad file."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from ruamel.yaml.scanner import Scanner

from atrap_studio.core.document import GraphDocument
from atrap_studio.core.errors import GraphFileError
from atrap_studio.core.yaml_io import dump_graph, load_graph, parse_graph, save_graph
from atrap_studio.examples import example_names, example_path

HEADER = "format: atrap-graph\nschema_version: 1\n"


@pytest.mark.parametrize("name", example_names())
def test_examples_round_trip_losslessly(name: str, tmp_path: Path) -> None:
    doc = load_graph(example_path(name))
    out = tmp_path / "copy.yaml"
    save_graph(doc, out)
    again = load_graph(out)
    assert again == doc
    assert [n.id for n in again.nodes] == [n.id for n in doc.nodes]
    assert [n.pos for n in again.nodes] == [n.pos for n in doc.nodes]
    save_graph(again, out)
    assert out.read_text() == dump_graph(doc)  # stable: a second save changes nothing


def test_positions_and_props_survive(arm_doc: GraphDocument, tmp_path: Path) -> None:
    arm_doc.nodes[0].pos = (12.5, -3.0)
    arm_doc.nodes[0].props["axes"] = ["z", "y", "y", "z", "y", "z"]
    arm_doc.nodes.reverse()
    save_graph(arm_doc, tmp_path / "g.yaml")
    again = load_graph(tmp_path / "g.yaml")
    assert again.nodes[-1].pos == (12.5, -3.0)
    assert again.nodes[-1].props["axes"] == ["z", "y", "y", "z", "y", "z"]
    assert [n.id for n in again.nodes] == [n.id for n in arm_doc.nodes]


def test_save_is_atomic_and_leaves_no_temp_files(arm_doc: GraphDocument, tmp_path: Path) -> None:
    target = tmp_path / "g.yaml"
    target.write_text("original")
    os.chmod(target, 0o600)
    save_graph(arm_doc, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.yaml"]
    assert os.stat(target).st_mode & 0o777 == 0o600

    class Unwritable(GraphDocument):
        def to_data(self) -> dict:  # type: ignore[type-arg]
            raise OSError("disk full")

    broken = Unwritable.model_validate(arm_doc.model_dump())
    with pytest.raises(OSError):
        save_graph(broken, target)
    assert load_graph(target) == arm_doc
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.yaml"]


BAD_FILES = [
    ("", "empty", None),
    ("   \n\n", "empty", None),
    (HEADER + "nodes: [\n  - id: a\n", "syntax error", 4),
    ("format: atrap-graph\nschema_version: 1\nname: a\nname: b\n", "duplicate key", None),
    ("- 1\n- 2\n", "expected a mapping", 1),
    ("just text", "expected a mapping", 1),
    ("format: something-else\n", "not an ATRAP graph", 1),
    ("name: no format\n", "not an ATRAP graph", None),
    ("format: atrap-graph\nschema_version: 99\n", "newer ATRAP Studio", 2),
    ("format: atrap-graph\nschema_version: 0\n", "older than any version", 2),
    ("format: atrap-graph\nschema_version: '1'\n", "whole number", 2),
    (HEADER + "a: &x [1]\nb: *x\n", "anchors and aliases", 3),
    (HEADER + "x: !!python/object/apply:os.system [ls]\n", "tags", 3),
    (HEADER + "x: !custom 1\n", "tags", 3),
    (HEADER + "---\n" + HEADER, "several YAML documents", None),
    (HEADER + "x: " + "[" * 40 + "]" * 40 + "\n", "nested more than", 3),
    (HEADER + "nodes:\n  - id: a b\n    type: x\n", "id 'a b'", 4),
    (HEADER + "nodes:\n  - type: scene.robot_arm\n", "nodes.0.id", 4),
    (HEADER + "nodes: []\nlinks:\n  - [a, b.c]\n", "'a' is not 'node.port'", 5),
    (HEADER + "nodes: []\nextra: 1\n", "extra", 4),
    (HEADER + "nodes:\n  - id: a\n    type: t\n    pos: [.inf, 0]\n", "finite", 6),
]


@pytest.mark.parametrize(("text", "fragment", "line"), BAD_FILES)
def test_bad_files_give_clear_errors(
    text: str, fragment: str, line: int | None, tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(GraphFileError) as info:
        load_graph(path)
    assert fragment.lower() in str(info.value).lower()
    assert str(path) in str(info.value)
    if line is not None:
        assert info.value.line == line, str(info.value)
    assert path.read_text() == text  # never modified


def test_ruamel_reads_a_graph_file_once_at_most(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plain graph file is read by libyaml's C parser alone (ruamel's pure-Python reader took
    5 s for 5,000 nodes); any other file is read by ruamel once, its strictness checks riding on
    the parse that builds the document (a pass of their own doubled the time)."""
    scanned: list[int] = []  # how often ruamel's scanner reached the end of the text
    end = Scanner.fetch_stream_end

    def counting(self: Scanner) -> None:
        scanned.append(1)
        end(self)

    monkeypatch.setattr(Scanner, "fetch_stream_end", counting)
    path = tmp_path / "graph.yaml"
    doc = load_graph(example_path(example_names()[0]))
    save_graph(doc, path)
    scanned.clear()
    assert load_graph(path) == doc
    assert scanned == []
    escaped = re.sub(r"(?m)^name: .*$", lambda _: 'name: "tab\\there"', path.read_text(), count=1)
    path.write_text(escaped)  # an escape sequence: the fast reader leaves it to ruamel
    assert load_graph(path).name == "tab\there"
    assert len(scanned) == 1


def test_huge_file_refused_without_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.write(HEADER.encode())
        handle.truncate(50 * 1024 * 1024)
    with pytest.raises(GraphFileError, match="limited to"):
        load_graph(path)
    assert path.stat().st_size == 50 * 1024 * 1024


def test_binary_and_missing_files(tmp_path: Path) -> None:
    binary = tmp_path / "net.yaml"
    binary.write_bytes(b"\x80\x04\x95pickle\xff")
    with pytest.raises(GraphFileError, match="not UTF-8"):
        load_graph(binary)
    with pytest.raises(GraphFileError, match="no such file"):
        load_graph(tmp_path / "missing.yaml")
    with pytest.raises(GraphFileError, match="folder"):
        load_graph(tmp_path)


def test_yaml_12_semantics() -> None:
    doc = parse_graph(
        HEADER
        + "nodes:\n  - id: a\n    type: t\n    props: {flag: no, big: 1e6, n: 0x10, s: 'yes'}\n"
    )
    props = doc.nodes[0].props
    assert props == {"flag": "no", "big": 1_000_000.0, "n": 16, "s": "yes"}
