"""The document store: one small interface, two implementations (MongoDB via PyMongo, SQLite).

Documents are plain JSON-able dicts with an ``id`` (see :mod:`storybang.stores.ids`) and, for
user data, an ``owner_id``. Every read and write may be scoped by ``owner_id``: a document of
another owner behaves exactly like a missing one, which is how the API answers 404 and never 403.

Listing is newest-first by id with an opaque cursor (the last id of the previous page). ``where``
is equality on top-level fields, or membership for a :class:`OneOf` value; ``search`` is a
case-insensitive substring match on one field.
``update`` applies ``changes`` (dotted keys reach into nested objects) and adds ``increment`` to
numeric fields (a missing one counts as 0) atomically, and only when the document still matches
``expect`` — the compare-and-set that job state machines are built on, one write on either store.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

Doc = dict[str, Any]
T = TypeVar("T")
# Results a View keeps. Past that the oldest go first: an evicted one costs one conversion again.
VIEW_ENTRIES = 10_000

# Every collection that holds a person's data, so that deleting an account can remove all of it
# without the identity domain knowing the other domains.
USER_COLLECTIONS = ("characters", "stories", "story_versions", "generations", "push_subscriptions")


@dataclass(frozen=True)
class OneOf:
    """A ``where`` value that matches any of ``values``: one query instead of one per value, so
    that a document changing between two queries is never counted twice (or not at all)."""

    values: tuple[Any, ...]


@dataclass(frozen=True)
class Page:
    items: list[Doc]
    next_cursor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class View(Generic[T]):
    """What a caller makes of each stored document (its public JSON, say), kept by the document's
    stored form (SQLite's JSON text, MongoDB's BSON bytes) for :meth:`DocumentStore.find_view`.

    The same stored form always makes the same result, so a page read again costs one lookup per
    document instead of decoding and converting each; a changed document has another stored form
    and is made afresh. ``make`` must depend on the document alone.
    """

    def __init__(self, make: Callable[[Doc], T], max_entries: int = VIEW_ENTRIES) -> None:
        self._make = make
        self._max = max_entries
        self._kept: dict[Hashable, T] = {}

    def of(self, stored: Hashable, load: Callable[[], Doc]) -> T:
        """The result for the document stored as ``stored``; ``load()`` decodes it when needed."""
        if stored in self._kept:
            return self._kept[stored]
        result = self._make(load())
        if len(self._kept) >= self._max:
            del self._kept[next(iter(self._kept))]  # dicts keep insertion order: the oldest
        self._kept[stored] = result
        return result


@dataclass(frozen=True)
class ViewPage(Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class DocumentStore(Protocol):
    async def insert(self, collection: str, doc: Doc) -> Doc: ...

    async def get(self, collection: str, doc_id: str, *, owner_id: str | None = None) -> Doc | None: ...

    async def find(
        self,
        collection: str,
        *,
        owner_id: str | None = None,
        where: Doc | None = None,
        search: tuple[str, str] | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page: ...

    async def find_view(
        self,
        collection: str,
        view: View[T],
        *,
        owner_id: str | None = None,
        where: Doc | None = None,
        search: tuple[str, str] | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> ViewPage[T]:
        """:meth:`find`, with each document through ``view``."""
        ...

    async def update(
        self,
        collection: str,
        doc_id: str,
        changes: Doc,
        *,
        owner_id: str | None = None,
        expect: Doc | None = None,
        increment: dict[str, int] | None = None,
    ) -> Doc | None: ...

    async def delete(self, collection: str, doc_id: str, *, owner_id: str | None = None) -> bool: ...

    async def delete_many(self, collection: str, *, owner_id: str, where: Doc | None = None) -> int: ...

    async def count(self, collection: str, *, owner_id: str | None = None, where: Doc | None = None) -> int: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...
