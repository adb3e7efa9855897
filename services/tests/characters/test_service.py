"""The functions the workers and account deletion call, on the real stores and the embedded ones."""

from __future__ import annotations

import asyncio

import pytest

from storybang.characters import exchange, service
from storybang.characters.models import CharacterCreate
from storybang.errors import NotFound
from storybang.runtime import Runtime
from storybang.stores import ids
from tests.characters.pictures import png


async def new_character(runtime: Runtime, owner_id: str, name: str = "Nemo") -> str:
    return (await service.create(runtime, owner_id, CharacterCreate(name=name))).id


async def test_set_description_stores_the_describe_workers_text(runtime: Runtime) -> None:
    owner = ids.new_id()
    character_id = await new_character(runtime, owner)
    updated = await service.set_description(runtime, owner, character_id, "  A tall captain.  ")
    assert updated.photo_description == "A tall captain."
    with pytest.raises(NotFound):
        await service.set_description(runtime, ids.new_id(), character_id, "not yours")


async def test_a_description_of_a_replaced_photo_is_dropped(runtime: Runtime) -> None:
    owner = ids.new_id()
    character_id = await new_character(runtime, owner)
    old = (await service.set_photo(runtime, owner, character_id, png(color="red"))).photo_id
    await service.set_photo(runtime, owner, character_id, png(color="blue"))
    late = await service.set_description(runtime, owner, character_id, "A red square.", photo_id=old)
    assert late.photo_description is None


async def test_set_portrait_is_idempotent_and_replaces_the_old_one(runtime: Runtime) -> None:
    owner = ids.new_id()
    character_id = await new_character(runtime, owner)
    first = await runtime.blobs.put(png(color="red"), owner_id=owner, content_type="image/png")
    await service.set_portrait(runtime, owner, character_id, first)
    again = await service.set_portrait(runtime, owner, character_id, first)  # a retried message
    assert again.portrait_id == first
    assert await runtime.blobs.get(first, owner_id=owner) is not None
    second = await runtime.blobs.put(png(color="blue"), owner_id=owner, content_type="image/png")
    assert (await service.set_portrait(runtime, owner, character_id, second)).portrait_id == second
    assert await runtime.blobs.get(first, owner_id=owner) is None


async def test_set_portrait_refuses_another_owners_image_and_character(runtime: Runtime) -> None:
    owner, stranger = ids.new_id(), ids.new_id()
    character_id = await new_character(runtime, owner)
    theirs = await runtime.blobs.put(png(), owner_id=stranger, content_type="image/png")
    with pytest.raises(NotFound):
        await service.set_portrait(runtime, owner, character_id, theirs)
    with pytest.raises(NotFound):
        await service.set_portrait(runtime, stranger, character_id, theirs)
    # The image of a character that is gone is deleted: nothing would ever show it.
    assert await runtime.blobs.get(theirs, owner_id=stranger) is None


async def test_concurrent_photo_uploads_leave_exactly_one_photo(embedded_runtime: Runtime) -> None:
    # On the embedded stores: FerretDB v1 (the MongoDB of the tests) does not make a conditional
    # update atomic (FerretDB/FerretDB#3040), MongoDB does; see the store contract suite.
    runtime = embedded_runtime
    owner = ids.new_id()
    character_id = await new_character(runtime, owner)
    results = await asyncio.gather(
        *(service.set_photo(runtime, owner, character_id, png(color=c)) for c in ("red", "green", "blue", "black")),
        return_exceptions=True,
    )
    assert all(not isinstance(r, BaseException) for r in results), results
    final = await service.get(runtime, owner, character_id)
    assert final.photo_id is not None
    assert await runtime.blobs.get(final.photo_id, owner_id=owner) is not None
    losers = {r.photo_id for r in results if not isinstance(r, BaseException)} - {final.photo_id}
    for photo_id in losers:
        assert await runtime.blobs.get(str(photo_id), owner_id=owner) is None


async def test_delete_owner_removes_every_character_and_image(runtime: Runtime) -> None:
    owner, neighbour = ids.new_id(), ids.new_id()
    photos = []
    for i in range(3):
        character_id = await new_character(runtime, owner, f"c{i}")
        photos.append((await service.set_photo(runtime, owner, character_id, png())).photo_id)
    kept = await new_character(runtime, neighbour)
    assert await service.delete_owner(runtime, owner) == 3
    assert (await service.list_characters(runtime, owner)).items == []
    for photo_id in photos:
        assert await runtime.blobs.get(str(photo_id), owner_id=owner) is None
    assert await service.delete_owner(runtime, owner) == 0
    assert (await service.get(runtime, neighbour, kept)).id == kept


async def test_characters_work_on_the_embedded_stores(embedded_runtime: Runtime) -> None:
    owner = ids.new_id()
    character_id = await new_character(embedded_runtime, owner, "Émile")
    with_photo = await service.set_photo(embedded_runtime, owner, character_id, png())
    assert (await service.get_photo(embedded_runtime, owner, character_id)).data == png()
    exported = await exchange.export_card(embedded_runtime, owner, character_id, fmt="png", version="3")
    copy = await exchange.import_card(embedded_runtime, owner, png=exported.data)
    assert (copy.name, copy.card) == (with_photo.name, with_photo.card)
    found = await service.list_characters(embedded_runtime, owner, q="mile")
    assert {c.id for c in found.items} == {character_id, copy.id}
    await service.delete(embedded_runtime, owner, character_id)
    assert await embedded_runtime.blobs.get(str(with_photo.photo_id), owner_id=owner) is None
