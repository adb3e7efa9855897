"""Input rules every domain shares: text a person can see, no control characters, bounded JSON.

Pure functions, used as pydantic validators in the domains' request models and by the parsers of
uploaded documents (Character Cards). They run before anything is stored, so what they refuse is
answered 422 naming the field and never half-written.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from storybang.errors import InvalidInput

# Free-form JSON that people upload (a card's `extensions`, its `character_book`) is a few levels
# deep in every application that writes it; 32 leaves room for any of them and stays far below what
# Python's parser, pydantic's serializer (255) and BSON (100) refuse with a crash.
MAX_JSON_DEPTH = 32
# A whole document (a request body, a card file) wraps such values a few levels down; the text is
# refused before parsing past twice that, and the models name the field at fault in between.
MAX_DOCUMENT_DEPTH = 2 * MAX_JSON_DEPTH

# Line breaks and tabs are text; every other C0/C1 control (NUL above all: SQL drivers truncate at
# it, and it hides text from people) is not.
_ALLOWED_CONTROLS = frozenset("\t\n\r")
# Characters that take no space: a name made only of these looks empty to every reader.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me"})


def _has_control(value: str) -> bool:
    return any(unicodedata.category(c) == "Cc" and c not in _ALLOWED_CONTROLS for c in value)


def plain_text(value: str) -> str:
    """Free text (a description, a paragraph): anything but control characters."""
    if _has_control(value):
        raise ValueError("must not contain control characters")
    return value


def visible_text(value: str) -> str:
    """A name or title: no control characters, and at least one character a person can see."""
    plain_text(value)
    if not any(unicodedata.category(c) not in _INVISIBLE_CATEGORIES for c in value):
        raise ValueError("must contain a visible character")
    return value


def json_depth(value: Any) -> int:
    """How deeply ``value`` nests lists and objects (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest  # deep enough to refuse; the rest need not be walked
        stack.extend((child, depth) for child in children)
    return deepest


def bounded_json(value: Any) -> Any:
    """A parsed JSON value nested at most :data:`MAX_JSON_DEPTH` deep (a pydantic validator)."""
    if json_depth(value) > MAX_JSON_DEPTH:
        raise ValueError(f"is nested more than {MAX_JSON_DEPTH} levels deep")
    return value


def too_deep(data: bytes | str) -> bool:
    """Whether JSON text nests more than :data:`MAX_DOCUMENT_DEPTH` deep, read before parsing it:
    the parser recurses once per level and crashes long before it could report a depth."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    # Counting brackets is done in C; only text with enough of them to matter is walked in Python.
    if text.count("[") + text.count("{") <= MAX_DOCUMENT_DEPTH:
        return False
    depth = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            if depth > MAX_DOCUMENT_DEPTH:
                return True
        elif c in "]}":
            depth -= 1
    return False


def loads(data: bytes | str, *, field: str) -> Any:
    """Parse JSON that a person uploaded, refusing nesting past :data:`MAX_DOCUMENT_DEPTH` before parsing.

    Raises :class:`~storybang.errors.InvalidInput` naming ``field`` when the JSON nests too deeply,
    and lets ``UnicodeDecodeError``/``json.JSONDecodeError`` through for the caller to answer.
    """
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    if too_deep(text):
        raise InvalidInput(f"The JSON is nested more than {MAX_DOCUMENT_DEPTH} levels deep.", field=field)
    return json.loads(text)
