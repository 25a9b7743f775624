"""The fast reader (libyaml) agrees with ruamel's careful one on every text it accepts, and
leaves every text that needs care to ruamel."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from atrap_studio.core import yaml_io
from atrap_studio.core.yaml_fast import plain_data
from atrap_studio.examples import example_names, example_path


def careful(text: str) -> Any:
    """What ruamel's strict round-trip reader makes of the text, as plain data."""
    return yaml_io._plain(yaml_io._reader().load(text))


def typed(value: Any) -> Any:
    """The value with every scalar's type beside it (``1 == 1.0 == True`` in Python)."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    return (type(value).__name__, value)


def agree(text: str) -> bool:
    """Whether the fast reader took the text (else ``False``); when it did, it must agree."""
    fast = plain_data(text, yaml_io.MAX_DEPTH)
    if fast is None:
        return False
    assert typed(fast) == typed(careful(text)), text
    return True


@pytest.mark.parametrize("name", example_names())
def test_every_example_is_read_fast_and_alike(name: str) -> None:
    text = example_path(name).read_text(encoding="utf-8")
    assert agree(text)
    assert agree(text.replace("\n", "\r\n"))  # saved on Windows


EXAMPLES = [example_path(name).read_text(encoding="utf-8") for name in example_names()]
EDITS = st.lists(
    st.tuples(
        st.floats(0, 1, exclude_max=True),
        st.sampled_from(["insert", "delete", "replace"]),
        st.sampled_from(list(" \n\r\t\u2028:-#[]{},'\"&*!|>%@`?09az.~\\é\x00")),
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(EXAMPLES), EDITS)
def test_a_damaged_example_is_read_alike_or_left_to_ruamel(
    text: str, edits: list[tuple[float, str, str]]
) -> None:
    """Damage ruamel refuses must never be taken by the fast reader (seen: tabs, NEL)."""
    chars = list(text)
    for where, how, char in edits:
        at = int(where * len(chars))
        if how == "insert":
            chars.insert(at, char)
        elif how == "delete":
            del chars[at]
        else:
            chars[at] = char
    agree("".join(chars))


TAKEN = [
    "0", "7", "007", "-3", "+4", "1.5", "1.", ".5", "-2.5e-3", "3.0E+2", "true", "True", "FALSE",
    "null", "~", "NULL", "", "yes", "no", "on", "off", "n0.reward", "reward.weighted_sum",
    "a b", "-x", "'007'", '"1.5"', "'it''s'", '"é ü"', "[1, 2.5, x]", "{a: 1, b: [true]}",
    "a:b", "x # a comment",
]  # fmt: skip
LEFT = [
    "1e6", "1_000", "0x1f", "0o17", ".inf", "-.inf", ".nan", "2001-12-14", "12:30:00",
    "=", "<<", '"a\\tb"', "|\n  two\n  lines", "first\n  second", "&a x", "!!str 1",
    "!custom x", "{1: x}", "{true: x}", "{null: x}", "{[a]: x}", "{a: 1, a: 2}",
]  # fmt: skip


@pytest.mark.parametrize("value", TAKEN)
def test_plain_values_are_read_fast_and_alike(value: str) -> None:
    assert agree(f"format: atrap-graph\nvalue: {value}\nafter: 1\n")


@pytest.mark.parametrize("value", LEFT)
def test_values_that_need_care_are_left_to_ruamel(value: str) -> None:
    indented = value.replace("\n", "\n  ")
    assert not agree(f"format: atrap-graph\nvalue: {indented}\nafter: 1\n")


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\n---\nb: 2\n",  # two documents
        "%YAML 1.1\n---\na: no\n",  # a directive changes what scalars mean
        "a: &x 1\nb: *x\n",  # anchors and aliases
        "a: [" * 40 + "]" * 40 + "\n",  # deeper than MAX_DEPTH
        "a: [1, 2\n",  # a syntax error: ruamel names the line
        "a: 1\n  b: 2\n",
        "a: " + "9" * 5000 + "\n",  # over Python's 4,300-digit limit
        "a: b\tc\n",  # ruamel refuses some tabs that libyaml reads
        "a: b\u2028c\n",  # a line break in YAML 1.1 (libyaml), a character in YAML 1.2
        "a: b\x85c\n",
    ],
)
def test_texts_that_need_care_are_left_to_ruamel(text: str) -> None:
    assert plain_data(text, yaml_io.MAX_DEPTH) is None


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), values, max_size=6))
def test_whatever_ruamel_writes_is_read_alike_or_left_to_it(data: dict[str, Any]) -> None:
    out = io.StringIO()
    YAML(typ="rt").dump(data, out)
    agree(out.getvalue())
