"""Revisions for conditional writes: a document that clients edit concurrently (a story, a
character) carries ``revision``, bumped by each of its writes, and its HTTP ``ETag`` is that number
in quotes. A write made on a revision that is no longer current (``If-Match``) is refused with 412
and the current ETag, so that a client shows the conflict instead of overwriting someone's change.

A document written before it had a revision reads as revision 0.
"""

from __future__ import annotations

from storybang.errors import PreconditionFailed
from storybang.stores.documents import Doc


def of(doc: Doc) -> int:
    return int(doc.get("revision") or 0)


def etag(revision: int) -> str:
    return f'"{revision}"'


def check(doc: Doc, if_revision: int | None, detail: str) -> None:
    """412 when ``if_revision`` is given and ``doc`` is no longer at it."""
    if if_revision is not None and of(doc) != if_revision:
        raise PreconditionFailed(detail, etag=etag(of(doc)))
