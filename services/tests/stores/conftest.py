"""Both implementations of each store, so one contract suite runs against all of them.

The embedded ones (SQLite, a directory) and the real ones (FerretDB speaking the MongoDB wire
protocol, GridFS on it). Each test gets its own collection, so tests never see each other's data.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storybang.stores.blobs import BlobStore, DirectoryBlobStore
from storybang.stores.blobs_gridfs import GridFSBlobStore
from storybang.stores.documents import DocumentStore
from storybang.stores.documents_mongo import MongoDocumentStore
from storybang.stores.documents_sqlite import SQLiteDocumentStore


@pytest.fixture(scope="session")
async def mongo_store(mongo_url: str, session_tag: str) -> AsyncIterator[MongoDocumentStore]:
    """The MongoDB store on a database of its own, dropped at the end of the session."""
    name = f"storybang_c{session_tag}"
    store = await MongoDocumentStore.open(mongo_url, name)
    yield store
    await store.client.drop_database(name)
    await store.close()


@pytest.fixture
def mongo_atomic_store(mongo_store: MongoDocumentStore, session_tag: str) -> MongoDocumentStore:
    """The MongoDB store as on MongoDB itself: each compare-and-set one filtered ``findAndModify``.
    FerretDB, the server here, does not apply those atomically, so only the tests without
    concurrent writers use it; the contract is MongoDB's single-document atomicity."""
    return MongoDocumentStore(mongo_store.client, f"storybang_c{session_tag}", atomic_updates=True)


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLiteDocumentStore]:
    store = await SQLiteDocumentStore.open(tmp_path / "documents.db")
    yield store
    await store.close()


# Plain (not async) fixtures pick the implementation, so each store's own async fixture is set up
# by pytest-asyncio rather than from inside a running event loop.
@pytest.fixture(params=["sqlite", "mongo", "mongo_atomic"])
def documents(request: pytest.FixtureRequest) -> DocumentStore:
    store: DocumentStore = request.getfixturevalue(f"{request.param}_store")
    return store


@pytest.fixture(params=["sqlite", "mongo"])
def racing_documents(request: pytest.FixtureRequest) -> DocumentStore:
    """The stores whose compare-and-set concurrent writers can race on here (see ``mongo_atomic_store``)."""
    store: DocumentStore = request.getfixturevalue(f"{request.param}_store")
    return store


@pytest.fixture
async def gridfs_blobs(mongo_store: MongoDocumentStore, session_tag: str) -> GridFSBlobStore:
    # Made on the event loop: Motor binds the bucket to the loop current at construction.
    return GridFSBlobStore(mongo_store.client, f"storybang_c{session_tag}")


@pytest.fixture(params=["directory", "gridfs"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "directory":
        return DirectoryBlobStore(tmp_path / "blobs")
    store: BlobStore = request.getfixturevalue("gridfs_blobs")
    return store


@pytest.fixture
def collection() -> str:
    return f"contract_{secrets.token_hex(4)}"
