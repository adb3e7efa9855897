"""How the embedded document store reads: a page of one owner's documents comes off the owner index
in id order, so it costs the same however many documents other owners have."""

from __future__ import annotations

from pathlib import Path

from storybang.stores import ids
from storybang.stores.documents_sqlite import SQLiteDocumentStore


async def test_an_owners_page_is_read_off_the_owner_index_without_sorting(tmp_path: Path) -> None:
    store = await SQLiteDocumentStore.open(tmp_path / "documents.db")
    try:
        for owner in ("reader", "someone-else"):
            for i in range(5):
                await store.insert("characters", {"id": ids.new_id(), "owner_id": owner, "name": f"c{i}"})
        statements: list[str] = []
        store.connection.set_trace_callback(statements.append)
        page = await store.find("characters", owner_id="reader", limit=3)
        store.connection.set_trace_callback(None)
        assert [d["owner_id"] for d in page.items] == ["reader"] * 3
        (listing,) = [s for s in statements if s.startswith("SELECT")]
        plan = " ".join(row[3] for row in store.connection.execute(f"EXPLAIN QUERY PLAN {listing}"))
        assert "USING INDEX ix_documents_owner (owner_id=? AND collection=?)" in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # no sort: the index gives the order
    finally:
        await store.close()


async def test_a_store_made_before_the_owner_index_gets_it_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "documents.db"
    store = await SQLiteDocumentStore.open(path)
    store.connection.executescript(
        "DROP INDEX ix_documents_owner; CREATE INDEX ix_documents_owner_id ON documents (owner_id);"
    )
    await store.close()
    store = await SQLiteDocumentStore.open(path)
    try:
        names = {row[0] for row in store.connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "ix_documents_owner" in names
        assert "ix_documents_owner_id" not in names
    finally:
        await store.close()
