"""Conditional requests at the edge: the ``ETag`` of what a route returns and the ``If-Match`` a
write sends back (:mod:`storybang.stores.revisions` says what a revision is)."""

from __future__ import annotations

from typing import Annotated, Protocol, TypeVar

from fastapi import Header, Response

from storybang.stores import revisions

IfMatch = Annotated[
    str | None,
    Header(description='The ETag as last read (`"7"`): 412 if it has changed since', max_length=64),
]


class Revised(Protocol):
    @property
    def revision(self) -> int: ...


R = TypeVar("R", bound=Revised)


def if_revision(if_match: str | None) -> int | None:
    """The revision an ``If-Match`` names; ``None`` for none or ``*``. A tag that is no revision of
    ours (or several tags) matches nothing, so the write is refused rather than done blindly."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/")
    digits = tag[1:-1] if len(tag) > 2 and tag[0] == tag[-1] == '"' else ""
    return int(digits) if digits.isdigit() and len(digits) < 19 else -1


def tagged(model: R, response: Response) -> R:
    """``model`` as it is, its ETag set on ``response``."""
    response.headers["ETag"] = revisions.etag(model.revision)
    return model
