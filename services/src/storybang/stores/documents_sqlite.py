"""The embedded document store: one SQLite table of JSON documents, on the event loop's own thread.

Every call is one short statement (or a few, in one transaction) on the standard library's
``sqlite3``, run right where it is awaited. An SQLite read of a page takes tens of microseconds;
handing it to a thread and back (what an asyncio driver does) costs tens of times that in context
switches and GIL hand-overs. WAL keeps readers from waiting on a writer; a writer waits for
another process's or thread's write (the workers of `storybang dev` run their own connection)
for at most ``BUSY_SECONDS``, and those writes are as short as these. No transaction is held
across an ``await``, so the loop's own calls never wait on each other.

The SQL is written once per shape of query (which filters, how many listed values) and prepared
once per connection by ``sqlite3``'s statement cache; a call binds values only.

Writes are single statements (``json_set`` with the ``expect`` conditions in the WHERE clause), so
a compare-and-set is atomic and one statement; only a change to a nested field whose parent object
is missing takes a transaction (the parent is made first).
"""

from __future__ import annotations

import functools
import json
import sqlite3
from pathlib import Path
from typing import Any

from storybang.stores.documents import Doc, OneOf, Page, T, View, ViewPage

# How long a writer waits for another connection's write to finish; far longer than any of ours.
BUSY_SECONDS = 30
# Prepared statements kept per connection: every shape of query the domains make, with room.
STATEMENT_CACHE = 512

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    collection VARCHAR(64) NOT NULL,
    id VARCHAR(24) NOT NULL,
    owner_id VARCHAR(64),
    data TEXT NOT NULL,
    PRIMARY KEY (collection, id)
);
-- An owner's documents of one collection in id order: a page of them is read straight off this
-- index, newest first, however many documents other owners have (the primary key would walk the
-- whole collection). It serves lookups by owner alone as well, which had an index of their own.
CREATE INDEX IF NOT EXISTS ix_documents_owner ON documents (owner_id, collection, id);
DROP INDEX IF EXISTS ix_documents_owner_id;
"""


def _path(key: str) -> str:
    if not all(part.isidentifier() for part in key.split(".")):
        raise ValueError(f"invalid document field name: {key!r}")
    return "$." + key


def _unicode_lower(value: Any) -> str | None:
    # SQLite's own lower() folds ASCII only; MongoDB's case-insensitive $regex folds all of Unicode.
    return None if value is None else str(value).lower()


def _load(raw: str) -> Doc:
    return dict(json.loads(raw))


# A ``where`` item's shape: the field, then how many values a OneOf lists, -1 for a plain value
# and -2 for None (IS NULL); the values themselves are bound.
Shape = tuple[tuple[str, int], ...]


def _shape(where: Doc | None) -> Shape:
    return tuple(
        (k, len(v.values) if isinstance(v, OneOf) else -2 if v is None else -1) for k, v in (where or {}).items()
    )


def _binds(where: Doc | None) -> list[Any]:
    values: list[Any] = []
    for key, value in (where or {}).items():
        if value is None:
            values.append(_path(key))
        for v in value.values if isinstance(value, OneOf) else () if value is None else (value,):
            values += [_path(key), json.dumps({"v": v})]
    return values


def _equal(count: int) -> str:
    one = "json_extract(data, ?) = json_extract(?, '$.v')"
    if count == -2:
        return "json_extract(data, ?) IS NULL"
    if count == -1:
        return one
    return "(" + " OR ".join(["0", *[one] * count]) + ")"


@functools.lru_cache(maxsize=STATEMENT_CACHE)
def _scope(owner: bool, shape: Shape) -> str:
    """The WHERE clause of a collection, maybe an owner, and ``where``; binds in that order."""
    clauses = ["collection = ?", *(["owner_id = ?"] if owner else []), *(_equal(n) for _, n in shape)]
    return " AND ".join(clauses)


_GET = "SELECT data FROM documents WHERE {scope} AND id = ?"
_FIND = "SELECT id, data FROM documents WHERE {scope}{cursor}{search} ORDER BY id DESC LIMIT ?"
_AFTER = " AND id < ?"
_SEARCH = " AND unicode_lower(json_extract(data, ?)) LIKE ? ESCAPE '\\'"
_FILL_PARENT = (
    "UPDATE documents SET data = json_set(data, ?, json('{{}}')) "
    "WHERE {scope} AND id = ? AND json_type(data, ?) IS NULL"
)
_UPDATE = "UPDATE documents SET data = json_set(data{setting}) WHERE {scope} AND id = ? RETURNING data"
_DELETE = "DELETE FROM documents WHERE {scope} AND id = ?"
_DELETE_MANY = "DELETE FROM documents WHERE {scope}"
_COUNT = "SELECT count(*) FROM documents WHERE {scope}"


@functools.lru_cache(maxsize=STATEMENT_CACHE)
def _sql(
    template: str,
    owner: bool,
    shape: Shape = (),
    cursor: bool = False,
    search: bool = False,
    sets: int = 0,
    incs: int = 0,
) -> str:
    """A statement from the templates above: fixed SQL fragments only; every value is bound."""
    return template.format(
        scope=_scope(owner, shape),
        cursor=_AFTER if cursor else "",
        search=_SEARCH if search else "",
        setting=", ?, json(?)" * sets + ", ?, coalesce(json_extract(data, ?), 0) + ?" * incs,
    )


def _scope_binds(collection: str, owner_id: str | None, where: Doc | None) -> list[Any]:
    return [collection, *([owner_id] if owner_id is not None else []), *_binds(where)]


class SQLiteDocumentStore:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    @property
    def connection(self) -> sqlite3.Connection:
        """The one connection every call runs on (tests count its statements)."""
        return self._db

    @classmethod
    async def open(cls, path: Path) -> SQLiteDocumentStore:
        # autocommit off-by-default semantics are not wanted: isolation_level=None lets each
        # statement commit on its own and `BEGIN IMMEDIATE` open the few multi-statement writes.
        db = sqlite3.connect(
            path,
            timeout=BUSY_SECONDS,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=STATEMENT_CACHE,
        )
        db.create_function("unicode_lower", 1, _unicode_lower, deterministic=True)
        db.execute("PRAGMA journal_mode=WAL")
        # WAL with synchronous=NORMAL never corrupts the database; a power cut may lose the last
        # commits, which an embedded single-machine store accepts for not syncing on every write.
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        return cls(db)

    async def insert(self, collection: str, doc: Doc) -> Doc:
        self._db.execute(
            "INSERT INTO documents (collection, id, owner_id, data) VALUES (?, ?, ?, ?)",
            (collection, doc["id"], doc.get("owner_id"), json.dumps(doc)),
        )
        return doc

    async def get(self, collection: str, doc_id: str, *, owner_id: str | None = None) -> Doc | None:
        sql = _sql(_GET, owner_id is not None)
        row = self._db.execute(sql, [*_scope_binds(collection, owner_id, None), doc_id]).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    async def find(
        self,
        collection: str,
        *,
        owner_id: str | None = None,
        where: Doc | None = None,
        search: tuple[str, str] | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page:
        rows = self._find(collection, owner_id, where, search, limit, cursor)
        items = [dict(json.loads(raw)) for _, raw in rows[:limit]]
        return Page(items, rows[limit - 1][0] if limit and len(rows) > limit else None)

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
        rows = self._find(collection, owner_id, where, search, limit, cursor)
        # The JSON text is the stored form: a document read before is not even parsed again.
        items = [view.of(raw, functools.partial(_load, raw)) for _, raw in rows[:limit]]
        return ViewPage(items, rows[limit - 1][0] if limit and len(rows) > limit else None)

    def _find(
        self,
        collection: str,
        owner_id: str | None,
        where: Doc | None,
        search: tuple[str, str] | None,
        limit: int,
        cursor: str | None,
    ) -> list[tuple[str, str]]:
        """Up to ``limit + 1`` rows of (id, data), newest first."""
        binds = _scope_binds(collection, owner_id, where)
        if cursor:
            binds.append(cursor)
        searching = bool(search and search[1])
        if search and searching:
            field, text = search
            escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            binds += [_path(field), f"%{escaped}%"]
        sql = _sql(_FIND, owner_id is not None, _shape(where), bool(cursor), searching)
        return self._db.execute(sql, [*binds, limit + 1]).fetchall()

    async def update(
        self,
        collection: str,
        doc_id: str,
        changes: Doc,
        *,
        owner_id: str | None = None,
        expect: Doc | None = None,
        increment: dict[str, int] | None = None,
    ) -> Doc | None:
        owner, shape = owner_id is not None, _shape(expect)
        binds = [*_scope_binds(collection, owner_id, expect), doc_id]
        if not changes and not increment:
            row = self._db.execute(_sql(_GET, owner, shape), binds).fetchone()
            return None if row is None else dict(json.loads(row[0]))
        values: list[Any] = [x for key, value in changes.items() for x in (_path(key), json.dumps(value))]
        values += [x for key, amount in (increment or {}).items() for x in (_path(key), _path(key), amount)]
        sql = _sql(_UPDATE, owner, shape, sets=len(changes), incs=len(increment or {}))
        nested = [key for key in [*changes, *(increment or {})] if "." in key]
        if not nested:
            # Every row fetched: the statement runs to its end, which commits it.
            rows = self._db.execute(sql, [*values, *binds]).fetchall()
            return dict(json.loads(rows[0][0])) if rows else None
        with self._transaction():
            # json_set cannot create a missing parent object: fill those in first.
            for key in nested:
                parts = key.split(".")
                for depth in range(1, len(parts)):
                    parent = _path(".".join(parts[:depth]))
                    self._db.execute(_sql(_FILL_PARENT, owner, shape), [parent, *binds, parent])
            row = self._db.execute(sql, [*values, *binds]).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def _transaction(self) -> sqlite3.Connection:
        # BEGIN IMMEDIATE takes the write lock up front (waiting up to BUSY_SECONDS), so the
        # statements inside see and change one state; the connection's context manager commits
        # or rolls back.
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    async def delete(self, collection: str, doc_id: str, *, owner_id: str | None = None) -> bool:
        sql = _sql(_DELETE, owner_id is not None)
        return self._db.execute(sql, [*_scope_binds(collection, owner_id, None), doc_id]).rowcount > 0

    async def delete_many(self, collection: str, *, owner_id: str, where: Doc | None = None) -> int:
        sql = _sql(_DELETE_MANY, True, _shape(where))
        return int(self._db.execute(sql, _scope_binds(collection, owner_id, where)).rowcount)

    async def count(self, collection: str, *, owner_id: str | None = None, where: Doc | None = None) -> int:
        sql = _sql(_COUNT, owner_id is not None, _shape(where))
        return int(self._db.execute(sql, _scope_binds(collection, owner_id, where)).fetchone()[0])

    async def ping(self) -> None:
        self._db.execute("SELECT 1").fetchone()

    async def close(self) -> None:
        self._db.close()
