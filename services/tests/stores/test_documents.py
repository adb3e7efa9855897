"""The document store contract: SQLite (embedded) and MongoDB (FerretDB) behave the same."""

from __future__ import annotations

import asyncio
from typing import Any

from storybang.stores import ids
from storybang.stores.documents import Doc, DocumentStore, OneOf


def doc(owner_id: str | None = None, **fields: Any) -> Doc:
    return {"id": ids.new_id(), **({"owner_id": owner_id} if owner_id else {}), **fields}


async def insert_all(store: DocumentStore, collection: str, docs: list[Doc]) -> list[Doc]:
    # One at a time: ids are created in order, and listing is newest (highest id) first.
    return [await store.insert(collection, d) for d in docs]


async def test_an_inserted_document_reads_back_unchanged(documents: DocumentStore, collection: str) -> None:
    owner = ids.new_id()
    original = doc(
        owner,
        name="Zoë 🐉",
        count=3,
        ratio=0.5,
        flag=True,
        nothing=None,
        tags=["a", "b"],
        nested={"deep": {"list": [1, {"x": "y"}]}},
    )
    await documents.insert(collection, original)
    assert await documents.get(collection, original["id"]) == original
    assert await documents.get(collection, original["id"], owner_id=owner) == original


async def test_a_missing_document_is_none(documents: DocumentStore, collection: str) -> None:
    assert await documents.get(collection, ids.new_id()) is None
    assert await documents.update(collection, ids.new_id(), {"a": 1}) is None
    assert await documents.delete(collection, ids.new_id()) is False


async def test_another_owners_document_behaves_as_missing(documents: DocumentStore, collection: str) -> None:
    owner, stranger = ids.new_id(), ids.new_id()
    mine = await documents.insert(collection, doc(owner, name="mine"))
    assert await documents.get(collection, mine["id"], owner_id=stranger) is None
    assert await documents.update(collection, mine["id"], {"name": "taken"}, owner_id=stranger) is None
    assert await documents.delete(collection, mine["id"], owner_id=stranger) is False
    assert (await documents.find(collection, owner_id=stranger)).items == []
    assert await documents.count(collection, owner_id=stranger) == 0
    assert await documents.delete_many(collection, owner_id=stranger) == 0
    assert await documents.get(collection, mine["id"], owner_id=owner) == mine


async def test_collections_are_separate(documents: DocumentStore, collection: str) -> None:
    same = doc(ids.new_id(), name="twin")
    await documents.insert(collection, same)
    await documents.insert(collection + "_other", same)
    assert await documents.delete(collection, same["id"]) is True
    assert await documents.get(collection + "_other", same["id"]) == same


async def test_find_pages_newest_first_until_the_end(documents: DocumentStore, collection: str) -> None:
    owner = ids.new_id()
    inserted = await insert_all(documents, collection, [doc(owner, n=i) for i in range(7)])
    seen: list[Doc] = []
    sizes = []
    cursor = None
    while True:
        page = await documents.find(collection, owner_id=owner, limit=3, cursor=cursor)
        seen += page.items
        sizes.append(len(page.items))
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sizes == [3, 3, 1]
    assert seen == inserted[::-1]


async def test_a_page_that_ends_exactly_at_the_limit_has_no_next_cursor(
    documents: DocumentStore, collection: str
) -> None:
    owner = ids.new_id()
    await insert_all(documents, collection, [doc(owner, n=i) for i in range(4)])
    first = await documents.find(collection, owner_id=owner, limit=2)
    assert first.next_cursor is not None
    second = await documents.find(collection, owner_id=owner, limit=2, cursor=first.next_cursor)
    assert [d["n"] for d in second.items] == [1, 0]
    assert second.next_cursor is None
    assert (await documents.find(collection, owner_id=owner, limit=4)).next_cursor is None


async def test_find_without_owner_sees_every_owner(documents: DocumentStore, collection: str) -> None:
    a, b = ids.new_id(), ids.new_id()
    await insert_all(documents, collection, [doc(a, n=1), doc(b, n=2), doc(a, n=3)])
    assert [d["n"] for d in (await documents.find(collection, owner_id=a)).items] == [3, 1]
    assert [d["n"] for d in (await documents.find(collection)).items] == [3, 2, 1]
    assert await documents.count(collection) == 3
    assert await documents.count(collection, owner_id=b) == 1


async def test_where_matches_equal_values(documents: DocumentStore, collection: str) -> None:
    owner = ids.new_id()
    await insert_all(
        documents,
        collection,
        [
            doc(owner, n=1, kind="a", flag=True, meta={"lang": "en"}, maybe="x"),
            doc(owner, n=2, kind="b", flag=False, meta={"lang": "es"}, maybe=None),
            doc(owner, n=3, kind="a", flag=False, meta={"lang": "es"}),
        ],
    )

    async def numbers(where: Doc) -> list[int]:
        return [d["n"] for d in (await documents.find(collection, owner_id=owner, where=where)).items]

    assert await numbers({"kind": "a"}) == [3, 1]
    assert await numbers({"n": 2}) == [2]
    assert await numbers({"flag": True}) == [1]
    assert await numbers({"flag": False, "kind": "a"}) == [3]
    assert await numbers({"meta.lang": "es"}) == [3, 2]
    # null matches both an explicit null and a missing field, as in MongoDB.
    assert await numbers({"maybe": None}) == [3, 2]
    assert await numbers({"kind": "z"}) == []
    assert await documents.count(collection, owner_id=owner, where={"kind": "a"}) == 2


async def test_where_one_of_matches_any_listed_value_in_one_query(documents: DocumentStore, collection: str) -> None:
    owner = ids.new_id()
    await insert_all(
        documents,
        collection,
        [doc(owner, n=1, status="queued"), doc(owner, n=2, status="running"), doc(owner, n=3, status="failed")],
    )
    active = {"status": OneOf(("queued", "running"))}
    assert [d["n"] for d in (await documents.find(collection, owner_id=owner, where=active)).items] == [2, 1]
    assert await documents.count(collection, owner_id=owner, where=active) == 2
    assert await documents.count(collection, owner_id=owner, where={"status": OneOf(())}) == 0
    assert await documents.count(collection, owner_id=owner, where={"status": OneOf(("failed",)), "n": 3}) == 1


async def test_search_is_a_case_insensitive_substring(documents: DocumentStore, collection: str) -> None:
    owner = ids.new_id()
    await insert_all(
        documents,
        collection,
        [doc(owner, name="Captain Nemo"), doc(owner, name="NEMESIS"), doc(owner, name="Alice")],
    )

    async def names(text: str) -> list[str]:
        page = await documents.find(collection, owner_id=owner, search=("name", text))
        return [d["name"] for d in page.items]

    assert await names("nem") == ["NEMESIS", "Captain Nemo"]
    assert await names("TAIN n") == ["Captain Nemo"]
    assert await names("bob") == []
    assert await names("") == ["Alice", "NEMESIS", "Captain Nemo"]  # empty search: no filter


async def test_search_text_is_literal_not_a_pattern(documents: DocumentStore, collection: str) -> None:
    owner = ids.new_id()
    titles = ["100% true", "1000 true", "snake_case", "snakeXcase", "a.b (c)", "axb c", "back\\slash"]
    await insert_all(documents, collection, [doc(owner, title=t) for t in titles])

    async def titles_for(text: str) -> list[str]:
        page = await documents.find(collection, owner_id=owner, search=("title", text))
        return sorted(d["title"] for d in page.items)

    assert await titles_for("0%") == ["100% true"]
    assert await titles_for("e_c") == ["snake_case"]
    assert await titles_for(".b (") == ["a.b (c)"]
    assert await titles_for("k\\s") == ["back\\slash"]
    assert await titles_for(".*") == []


async def test_search_ignores_case_beyond_ascii(documents: DocumentStore, collection: str) -> None:
    owner = ids.new_id()
    await insert_all(documents, collection, [doc(owner, name="Émile Zoë"), doc(owner, name="ДРАКОН")])

    async def names(text: str) -> list[str]:
        return [d["name"] for d in (await documents.find(collection, owner_id=owner, search=("name", text))).items]

    assert await names("émile") == ["Émile Zoë"]
    assert await names("ZOË") == ["Émile Zoë"]
    assert await names("дракон") == ["ДРАКОН"]


async def test_search_where_and_paging_combine(documents: DocumentStore, collection: str) -> None:
    owner = ids.new_id()
    await insert_all(
        documents,
        collection,
        [doc(owner, name=f"Dragon {i}", kind="a" if i % 2 else "b") for i in range(6)] + [doc(owner, name="Cat")],
    )
    found: list[str] = []
    cursor = None
    while True:
        page = await documents.find(
            collection, owner_id=owner, where={"kind": "a"}, search=("name", "drag"), limit=2, cursor=cursor
        )
        found += [d["name"] for d in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert found == ["Dragon 5", "Dragon 3", "Dragon 1"]


async def test_update_sets_fields_and_dotted_keys_and_keeps_the_rest(documents: DocumentStore, collection: str) -> None:
    owner = ids.new_id()
    original = await documents.insert(collection, doc(owner, name="a", card={"mood": "calm", "age": 3}, keep=1))
    updated = await documents.update(
        collection,
        original["id"],
        {"name": "b", "card.mood": "angry", "fresh.deep.value": [1, 2], "keep_none": None},
        owner_id=owner,
    )
    expected = {
        **original,
        "name": "b",
        "card": {"mood": "angry", "age": 3},
        "fresh": {"deep": {"value": [1, 2]}},
        "keep_none": None,
    }
    assert updated == expected
    assert await documents.get(collection, original["id"]) == expected


async def test_update_replaces_whole_values(documents: DocumentStore, collection: str) -> None:
    original = await documents.insert(collection, doc(ids.new_id(), card={"mood": "calm", "age": 3}, tags=[1, 2]))
    updated = await documents.update(collection, original["id"], {"card": {"mood": "new"}, "tags": []})
    assert updated is not None
    assert updated["card"] == {"mood": "new"}
    assert updated["tags"] == []


async def test_update_with_expect_is_a_compare_and_set(documents: DocumentStore, collection: str) -> None:
    owner = ids.new_id()
    job = await documents.insert(collection, doc(owner, status="queued", progress={"done": 0}))
    assert await documents.update(collection, job["id"], {"status": "done"}, expect={"status": "running"}) is None
    assert (await documents.get(collection, job["id"]) or {})["status"] == "queued"
    running = await documents.update(
        collection, job["id"], {"status": "running"}, owner_id=owner, expect={"status": "queued"}
    )
    assert running is not None and running["status"] == "running"
    # Expectations may name nested fields and null (missing counts as null).
    assert await documents.update(collection, job["id"], {"x": 1}, expect={"progress.done": 0, "error": None})
    assert await documents.update(collection, job["id"], {"x": 2}, expect={"progress.done": 1}) is None


async def test_update_without_changes_returns_the_document_when_it_matches(
    documents: DocumentStore, collection: str
) -> None:
    original = await documents.insert(collection, doc(ids.new_id(), status="queued"))
    assert await documents.update(collection, original["id"], {}) == original
    assert await documents.update(collection, original["id"], {}, expect={"status": "queued"}) == original
    assert await documents.update(collection, original["id"], {}, expect={"status": "done"}) is None


async def test_increment_adds_in_the_same_write_and_only_when_expected(
    documents: DocumentStore, collection: str
) -> None:
    job = await documents.insert(collection, doc(ids.new_id(), status="queued", attempt=2))
    refused = await documents.update(
        collection, job["id"], {"status": "running"}, expect={"status": "done"}, increment={"attempt": 1}
    )
    assert refused is None
    claimed = await documents.update(
        collection, job["id"], {"status": "running"}, expect={"status": "queued"}, increment={"attempt": 1, "tries": 2}
    )
    assert claimed is not None and (claimed["status"], claimed["attempt"], claimed["tries"]) == ("running", 3, 2)
    assert await documents.get(collection, job["id"]) == claimed
    # Nothing but an increment, on a nested field whose parent is missing.
    counted = await documents.update(collection, job["id"], {}, increment={"stats.runs": 1})
    assert counted is not None and counted["stats"] == {"runs": 1} and counted["attempt"] == 3


async def test_exactly_one_of_concurrent_compare_and_sets_wins(
    racing_documents: DocumentStore, collection: str
) -> None:
    documents = racing_documents
    job = await documents.insert(collection, doc(ids.new_id(), status="queued", worker=None))
    workers = [f"worker-{i}" for i in range(12)]
    results = await asyncio.gather(
        *(
            documents.update(collection, job["id"], {"status": "running", "worker": w}, expect={"status": "queued"})
            for w in workers
        )
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    final = await documents.get(collection, job["id"])
    assert final == winners[0]
    assert final is not None and final["worker"] in workers


async def test_delete_removes_a_document_once(documents: DocumentStore, collection: str) -> None:
    owner = ids.new_id()
    d = await documents.insert(collection, doc(owner))
    assert await documents.delete(collection, d["id"], owner_id=owner) is True
    assert await documents.delete(collection, d["id"], owner_id=owner) is False
    assert await documents.get(collection, d["id"]) is None


async def test_delete_many_removes_only_the_owners_matching_documents(
    documents: DocumentStore, collection: str
) -> None:
    owner, other = ids.new_id(), ids.new_id()
    await insert_all(
        documents,
        collection,
        [doc(owner, story="s1"), doc(owner, story="s1"), doc(owner, story="s2"), doc(other, story="s1")],
    )
    assert await documents.delete_many(collection, owner_id=owner, where={"story": "s1"}) == 2
    assert await documents.count(collection, owner_id=owner) == 1
    assert await documents.delete_many(collection, owner_id=owner) == 1
    assert await documents.count(collection, owner_id=other) == 1
