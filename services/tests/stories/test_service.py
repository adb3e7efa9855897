"""The functions the story, image and translate workers and account deletion call."""

from __future__ import annotations

import json

import pytest

from storybang.characters import service as characters
from storybang.characters.models import CharacterCreate
from storybang.errors import InvalidInput, NotFound, PayloadTooLarge
from storybang.runtime import Runtime
from storybang.stores import ids
from storybang.stories import results, service, store, versions
from storybang.stories.models import StoryCreate, StoryUpdate
from tests.characters.pictures import png


async def test_save_generated_makes_a_story_then_new_versions_of_it(runtime: Runtime) -> None:
    owner = ids.new_id()
    nemo = (await characters.create(runtime, owner, CharacterCreate(name="Nemo"))).id
    first = await results.save_generated(
        runtime,
        owner,
        title="The Deep",
        paragraphs=["Once.", "  ", "Twice."],
        audience="children",
        character_ids=[nemo],
        genre="adventure",
        values=["courage"],
        language="en",
    )
    assert [p.text for p in first.paragraphs] == ["Once.", "Twice."]
    assert (first.version, first.character_ids, first.genre) == (1, [nemo], "adventure")
    again = await results.save_generated(
        runtime, owner, title="The Deeper", paragraphs=["Thrice."], audience="children", story_id=first.id
    )
    assert (again.id, again.version, again.title) == (first.id, 2, "The Deeper")
    kept = await versions.get_version(runtime, owner, first.id, 1)
    assert kept.title == "The Deep" and [p.text for p in kept.paragraphs] == ["Once.", "Twice."]


async def test_a_retried_job_saves_once(runtime: Runtime) -> None:
    owner, job_id = ids.new_id(), ids.new_id()

    async def save(story_id: str | None = None, job: str = job_id) -> str:
        saved = await results.save_generated(
            runtime, owner, title="Once", paragraphs=["x"], audience="general", story_id=story_id, job_id=job
        )
        return saved.id

    first = await save()
    assert await save() == first
    assert len((await service.list_stories(runtime, owner)).items) == 1
    rewrite = ids.new_id()
    await save(first, job=rewrite)
    await save(first, job=rewrite)
    assert (await service.get(runtime, owner, first)).version == 2


async def test_save_generated_checks_its_input(runtime: Runtime) -> None:
    owner = ids.new_id()
    with pytest.raises(InvalidInput) as e:
        await results.save_generated(runtime, owner, title="", paragraphs=["x"], audience="general")
    assert e.value.field == "title"
    with pytest.raises(InvalidInput) as e:
        await results.save_generated(
            runtime, owner, title="t", paragraphs=["x"], audience="general", character_ids=[ids.new_id()]
        )
    assert e.value.field == "character_ids"
    with pytest.raises(NotFound):
        await results.save_generated(
            runtime, owner, title="t", paragraphs=["x"], audience="general", story_id=ids.new_id()
        )


async def test_a_translation_is_kept_per_language_without_a_new_version(runtime: Runtime) -> None:
    owner = ids.new_id()
    story = await service.create(
        runtime,
        owner,
        StoryCreate.model_validate(
            {"title": "Night", "audience": "young", "character_ids": [], "paragraphs": [{"text": "Dark."}]}
        ),
    )
    await results.set_translation(runtime, owner, story.id, "es", "Noche", ["Oscuro."])
    updated = await results.set_translation(runtime, owner, story.id, "pt-BR", "Noite", ["Escuro."])
    assert updated.version == 1
    assert updated.translations["es"].title == "Noche"
    assert [p.text for p in updated.translations["pt-BR"].paragraphs] == ["Escuro."]
    replaced = await results.set_translation(runtime, owner, story.id, "es", "La noche", ["Muy oscuro."])
    assert replaced.translations["es"].title == "La noche" and "pt-BR" in replaced.translations
    with pytest.raises(InvalidInput) as e:
        await results.set_translation(runtime, owner, story.id, "e.s", "x", ["y"])
    assert e.value.field == "language"
    with pytest.raises(NotFound):
        await results.set_translation(runtime, ids.new_id(), story.id, "fr", "Nuit", ["Noir."])


async def test_an_illustration_is_set_in_place_and_outlives_a_rewrite(runtime: Runtime) -> None:
    owner = ids.new_id()
    story = await service.create(
        runtime,
        owner,
        StoryCreate.model_validate(
            {"title": "Day", "audience": "children", "character_ids": [], "paragraphs": [{"text": "Sun."}]}
        ),
    )
    image_id = await runtime.blobs.put(png(), owner_id=owner, content_type="image/png")
    illustrated = await results.set_illustration(runtime, owner, story.id, 0, image_id)
    assert illustrated.paragraphs[0].image_id == image_id and illustrated.version == 1
    assert (await results.set_illustration(runtime, owner, story.id, 0, image_id)).version == 1  # idempotent
    with pytest.raises(InvalidInput):
        await results.set_illustration(runtime, owner, story.id, 5, image_id)
    # A rewrite drops the paragraph, but version 1 still shows the image: it stays readable.
    await service.update(runtime, owner, story.id, StoryUpdate.model_validate({"paragraphs": [{"text": "Moon."}]}))
    assert (await service.get_image(runtime, owner, story.id, image_id)).data == png()
    restored = await versions.restore_version(runtime, owner, story.id, 1)
    assert restored.paragraphs[0].image_id == image_id


async def test_an_illustration_for_a_deleted_story_is_discarded(runtime: Runtime) -> None:
    owner = ids.new_id()
    story = await service.create(runtime, owner, StoryCreate(title="Gone", audience="general", character_ids=[]))
    await service.delete(runtime, owner, story.id)
    image_id = await runtime.blobs.put(png(), owner_id=owner, content_type="image/png")
    with pytest.raises(NotFound):
        await results.set_illustration(runtime, owner, story.id, 0, image_id)
    assert await runtime.blobs.get(image_id, owner_id=owner) is None


async def test_delete_owner_removes_stories_versions_and_images(runtime: Runtime) -> None:
    owner, neighbour = ids.new_id(), ids.new_id()
    copies = []
    for i in range(3):
        image_id = await runtime.blobs.put(png(), owner_id=owner, content_type="image/png")
        story = await service.create(
            runtime,
            owner,
            StoryCreate.model_validate(
                {
                    "title": f"s{i}",
                    "audience": "general",
                    "character_ids": [],
                    "paragraphs": [{"text": "x", "image_id": image_id}],
                }
            ),
        )
        # The story keeps its own copy of an image it did not make (see test_images_belong_to_one_object).
        copies.append(story.paragraphs[0].image_id)
        await service.update(runtime, owner, story.id, StoryUpdate(title=f"s{i} v2"))
    kept = await service.create(runtime, neighbour, StoryCreate(title="n", audience="general", character_ids=[]))
    assert await service.delete_owner(runtime, owner) == 3
    assert (await service.list_stories(runtime, owner)).items == []
    assert await runtime.documents.count(store.VERSIONS, owner_id=owner) == 0
    for image_id in copies:
        assert image_id is not None and await runtime.blobs.get(image_id, owner_id=owner) is None
    assert await service.delete_owner(runtime, owner) == 0
    assert (await service.get(runtime, neighbour, kept.id)).title == "n"


async def test_stories_work_on_the_embedded_stores(embedded_runtime: Runtime) -> None:
    owner = ids.new_id()
    story = await results.save_generated(
        embedded_runtime, owner, title="Ñandú", paragraphs=["Corre."], audience="children", language="es"
    )
    await results.set_translation(embedded_runtime, owner, story.id, "en", "Rhea", ["Runs."])
    await service.update(embedded_runtime, owner, story.id, StoryUpdate(title="Ñandú veloz"))
    assert [s.title for s in (await service.list_stories(embedded_runtime, owner, q="ñandú")).items] == ["Ñandú veloz"]
    assert (await versions.get_version(embedded_runtime, owner, story.id, 1)).translations["en"].title == "Rhea"


async def test_images_belong_to_one_object(runtime: Runtime) -> None:
    owner = ids.new_id()
    photo = await runtime.blobs.put(png(), owner_id=owner, content_type="image/png")  # say, a character's
    body = {"title": "t", "audience": "general", "character_ids": [], "paragraphs": [{"text": "x", "image_id": photo}]}
    first = await service.create(runtime, owner, StoryCreate.model_validate(body))
    second = await service.create(runtime, owner, StoryCreate.model_validate(body))
    own = first.paragraphs[0].image_id
    assert own not in (None, photo) and second.paragraphs[0].image_id not in (None, photo, own)
    # Moving an illustration from one story to another copies it too.
    moved = await service.update(
        runtime, owner, second.id, StoryUpdate.model_validate({"paragraphs": [{"text": "y", "image_id": own}]})
    )
    assert moved.paragraphs[0].image_id not in (None, own)
    # Deleting a story deletes its own images only; the photo and the other story's images stay.
    await service.delete(runtime, owner, first.id)
    assert own is not None and await runtime.blobs.get(own, owner_id=owner) is None
    assert (await runtime.blobs.get(photo, owner_id=owner)) is not None
    kept = moved.paragraphs[0].image_id
    assert kept is not None and (await service.get_image(runtime, owner, second.id, kept)).data == png()
    # The same image twice in one write is copied once.
    twice = await service.update(
        runtime,
        owner,
        second.id,
        StoryUpdate.model_validate(
            {"paragraphs": [{"text": "a", "image_id": photo}, {"text": "b", "image_id": photo}]}
        ),
    )
    assert twice.paragraphs[0].image_id == twice.paragraphs[1].image_id != photo


async def test_a_story_past_the_document_limit_is_refused_and_left_as_it_was(runtime: Runtime) -> None:
    owner = ids.new_id()
    paragraphs = [{"text": "w" * 5000}] * 200  # a megabyte of text: a long story, within every field's limit
    story = await service.create(
        runtime,
        owner,
        StoryCreate.model_validate(
            {"title": "Long", "audience": "general", "character_ids": [], "paragraphs": paragraphs}
        ),
    )
    texts = ["t" * 5000] * 200
    added = 0
    for language in ["es", "fr", "de", "it", "pt", "nl", "sv", "pl", "cs"]:
        try:
            await results.set_translation(runtime, owner, story.id, language, "Largo", texts)
        except PayloadTooLarge:
            break
        added += 1
    assert 0 < added < 9  # some translations fit, and the one past the limit was refused
    kept = await service.get(runtime, owner, story.id)
    assert len(kept.translations) == added
    assert len(json.dumps(kept.model_dump(mode="json"))) < store.STORY_MAX_BYTES
