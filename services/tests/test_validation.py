"""The input rules every domain shares, as plain functions."""

from __future__ import annotations

import json

import pytest

from storybang import validation
from storybang.errors import InvalidInput
from storybang.validation import MAX_DOCUMENT_DEPTH, MAX_JSON_DEPTH


def brackets(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_json_depth_counts_lists_and_objects_without_recursion() -> None:
    assert validation.json_depth(1) == 0
    assert validation.json_depth({"a": [1, {"b": []}]}) == 4
    deep: list[object] = []
    for _ in range(100_000):  # far past Python's recursion limit
        deep = [deep]
    assert validation.json_depth(deep) > MAX_JSON_DEPTH


def test_too_deep_reads_text_before_it_is_parsed() -> None:
    assert not validation.too_deep(brackets(MAX_DOCUMENT_DEPTH))
    assert validation.too_deep(brackets(MAX_DOCUMENT_DEPTH + 1))
    assert validation.too_deep(b'{"a": ' + brackets(100_000).encode() + b"}")
    # Brackets inside strings are text, escaped quotes included.
    in_strings = json.dumps({"text": "[" * 1000 + '\\"' + "{" * 1000})
    assert not validation.too_deep(in_strings)
    # Many brackets side by side are wide, not deep.
    assert not validation.too_deep(json.dumps([[] for _ in range(1000)]))


def test_loads_refuses_deep_json_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as e:
        validation.loads(brackets(10_000), field="file")
    assert e.value.field == "file"
    assert validation.loads(brackets(3), field="file") == [[[]]]
    with pytest.raises(json.JSONDecodeError):
        validation.loads("{nope", field="file")


@pytest.mark.parametrize("text", ["", "\u200b", "\u200b\u200c\u200d\ufeff", " \t\n", "\u0301"])
def test_text_without_a_visible_character_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="visible"):
        validation.visible_text(text)


@pytest.mark.parametrize("text", ["a\x00b", "\x1b[31mred", "x\x7f", "\x85next"])
def test_control_characters_are_refused_but_line_breaks_are_text(text: str) -> None:
    with pytest.raises(ValueError, match="control"):
        validation.plain_text(text)
    assert validation.plain_text("one\ntwo\r\n\tthree") == "one\ntwo\r\n\tthree"
    assert validation.visible_text("Ñandú 🐦") == "Ñandú 🐦"
