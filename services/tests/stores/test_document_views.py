"""The document store contract for ``find_view``: pages like ``find``, each document through a
view that is made once per stored version of the document, on SQLite and on MongoDB (FerretDB)."""

from __future__ import annotations

from storybang.stores import ids
from storybang.stores.documents import Doc, DocumentStore, View


class Counting:
    """A view's function that records which documents it was made from."""

    def __init__(self) -> None:
        self.made: list[Doc] = []

    def __call__(self, doc: Doc) -> tuple[str, int]:
        self.made.append(doc)
        return doc["id"], doc["n"]


async def test_find_view_pages_like_find(documents: DocumentStore, collection: str) -> None:
    owner = ids.new_id()
    for n in range(5):
        await documents.insert(collection, {"id": ids.new_id(), "owner_id": owner, "n": n, "name": f"Fox {n}"})
    await documents.insert(collection, {"id": ids.new_id(), "owner_id": ids.new_id(), "n": 9, "name": "Fox 9"})
    view = View(Counting())
    cursor = None
    for _ in range(3):
        page = await documents.find(collection, owner_id=owner, limit=2, cursor=cursor)
        viewed = await documents.find_view(collection, view, owner_id=owner, limit=2, cursor=cursor)
        assert viewed.items == [(d["id"], d["n"]) for d in page.items]
        assert viewed.next_cursor == page.next_cursor
        cursor = page.next_cursor
    assert cursor is None
    searched = await documents.find_view(collection, view, owner_id=owner, search=("name", "FOX 3"))
    assert [n for _, n in searched.items] == [3]
    assert [n for _, n in (await documents.find_view(collection, view, where={"n": 9})).items] == [9]


async def test_a_view_is_made_once_per_version_of_a_document(documents: DocumentStore, collection: str) -> None:
    owner = ids.new_id()
    first, second = ({"id": ids.new_id(), "owner_id": owner, "n": n} for n in (1, 2))
    for d in (first, second):
        await documents.insert(collection, d)
    making = Counting()
    view = View(making)
    await documents.find_view(collection, view, owner_id=owner)
    assert sorted(d["n"] for d in making.made) == [1, 2]
    assert making.made[0] == second  # decoded whole, as get() returns it
    making.made.clear()
    await documents.find_view(collection, view, owner_id=owner)
    assert making.made == []  # read again: nothing decoded, nothing made
    await documents.update(collection, first["id"], {"n": 3})
    page = await documents.find_view(collection, view, owner_id=owner)
    assert page.items == [(second["id"], 2), (first["id"], 3)]
    assert [d["id"] for d in making.made] == [first["id"]]


async def test_a_view_keeps_a_bounded_number_of_results(documents: DocumentStore, collection: str) -> None:
    owner = ids.new_id()
    for n in range(3):
        await documents.insert(collection, {"id": ids.new_id(), "owner_id": owner, "n": n})
    making = Counting()
    view = View(making, max_entries=2)
    await documents.find_view(collection, view, owner_id=owner)
    await documents.find_view(collection, view, owner_id=owner)
    assert len(making.made) > 3  # three documents do not fit in two entries: some are made again
