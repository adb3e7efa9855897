"""What the workers store in a story: a generated story or rewrite, a translation, an illustration.

Each write is idempotent, because a job's message may be delivered twice, and announced like any
other write of a story (``story.updated``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from storybang.errors import InvalidInput, NotFound
from storybang.runtime import Runtime
from storybang.stores import ids
from storybang.stores.documents import Doc
from storybang.stories import service, store
from storybang.stories.models import (
    TRANSLATIONS_MAX,
    Audience,
    Language,
    Paragraph,
    StoryCreate,
    StoryPublic,
    Translation,
)

_LANGUAGE: TypeAdapter[str] = TypeAdapter(Language)


def _invalid(e: ValidationError) -> InvalidInput:
    error = e.errors()[0]
    field = ".".join(str(p) for p in error["loc"])
    return InvalidInput(f"{field}: {error['msg']}", field=field)


async def save_generated(
    runtime: Runtime,
    owner_id: str,
    *,
    title: str,
    paragraphs: Sequence[str],
    audience: Audience,
    character_ids: Sequence[str] = (),
    language: str | None = None,
    genre: str | None = None,
    values: Sequence[str] = (),
    story_id: str | None = None,
    job_id: str | None = None,
) -> StoryPublic:
    """Save the story worker's result: a new story, or (with ``story_id``) a new version of one.

    With ``job_id`` a retried job saves once: the story that job already wrote is returned as it is
    (even if its owner has edited it since), and announced again.
    """
    fields: dict[str, Any] = {
        "title": title,
        "audience": audience,
        "character_ids": list(character_ids),
        "paragraphs": [{"text": p} for p in paragraphs if p.strip()],
        "language": language,
        "genre": genre,
        "values": list(values),
    }
    try:
        data = StoryCreate.model_validate(fields)
    except ValidationError as e:
        raise _invalid(e) from e
    if story_id is None:
        if job_id is not None:
            done = await runtime.documents.find(store.STORIES, owner_id=owner_id, where={"job_id": job_id}, limit=1)
            if done.items:
                await store.announce(runtime, owner_id, done.items[0]["id"])
                return StoryPublic.model_validate(done.items[0])
        return await service.create(runtime, owner_id, data, job_id=job_id)
    current = await store.get(runtime, owner_id, story_id)
    if job_id is not None and current.get("job_id") == job_id:
        await store.announce(runtime, owner_id, story_id)
        return StoryPublic.model_validate(current)
    await service.check_characters(runtime, owner_id, data.character_ids)
    changes = data.model_dump(mode="json") | {"job_id": job_id}
    doc = await store.write(runtime, owner_id, story_id, lambda _: changes, new_version=True)
    return StoryPublic.model_validate(doc)


async def set_translation(
    runtime: Runtime, owner_id: str, story_id: str, lang: str, title: str, paragraphs: Sequence[str]
) -> StoryPublic:
    """Store (or replace) the story's translation into ``lang``; the story's version stays."""
    try:
        language = _LANGUAGE.validate_python(lang)
    except ValidationError as e:
        raise InvalidInput(f"Not a language code: {lang!r}.", field="language") from e
    try:
        translation = Translation.model_validate({"title": title, "paragraphs": [{"text": p} for p in paragraphs]})
    except ValidationError as e:
        raise _invalid(e) from e

    def change(doc: Doc) -> Doc:
        translations = dict(doc.get("translations") or {})
        if language not in translations and len(translations) >= TRANSLATIONS_MAX:
            raise InvalidInput(f"A story keeps at most {TRANSLATIONS_MAX} translations.", field="language")
        translations[language] = translation.model_dump(mode="json")
        return {"translations": translations}

    return StoryPublic.model_validate(await store.write(runtime, owner_id, story_id, change, new_version=False))


async def set_illustration(
    runtime: Runtime, owner_id: str, story_id: str, paragraph_index: int, image_id: str
) -> StoryPublic:
    """Illustrate paragraph ``paragraph_index`` with the stored image ``image_id``; idempotent."""
    if not ids.is_valid(image_id) or await runtime.blobs.get(image_id, owner_id=owner_id) is None:
        raise NotFound("No such image.")

    def change(doc: Doc) -> Doc:
        paragraphs = [dict(p) for p in doc["paragraphs"]]
        if not 0 <= paragraph_index < len(paragraphs):
            raise InvalidInput(f"The story has no paragraph {paragraph_index}.", field="paragraph")
        paragraphs[paragraph_index]["image_id"] = image_id
        return {"paragraphs": paragraphs, "image_ids": store.with_images(doc, [image_id])}

    try:
        doc = await store.write(runtime, owner_id, story_id, change, new_version=False)
    except NotFound:
        # The story is gone: nothing will ever show this image.
        await runtime.blobs.delete(image_id, owner_id=owner_id)
        raise
    return StoryPublic.model_validate(doc)


async def save_paragraph(
    runtime: Runtime, owner_id: str, story_id: str, *, index: int, text: str, insert: bool, job_id: str
) -> StoryPublic:
    """Keep a paragraph that a job wrote: in place of paragraph ``index``, or (``insert``) as a new one
    after it. A new version, so the paragraph it replaces can be restored; a retried job saves once.

    A rewritten paragraph keeps its illustration (the person may draw it again); a translation of the
    story stays as it was until it is asked for again."""
    try:
        paragraph = Paragraph.model_validate({"text": text})
    except ValidationError as e:
        raise _invalid(e) from e

    def change(doc: Doc) -> Doc:
        paragraphs = [dict(p) for p in doc["paragraphs"]]
        if not 0 <= index < len(paragraphs):
            raise InvalidInput(f"The story has no paragraph {index}.", field="input.paragraph")
        if insert:
            paragraphs.insert(index + 1, paragraph.model_dump(mode="json", exclude_none=True))
        else:
            paragraphs[index]["text"] = paragraph.text
        return {"paragraphs": paragraphs, "job_id": job_id}

    current = await store.get(runtime, owner_id, story_id)
    if current.get("job_id") == job_id:
        await store.announce(runtime, owner_id, story_id)
        return StoryPublic.model_validate(current)
    return StoryPublic.model_validate(await store.write(runtime, owner_id, story_id, change, new_version=True))
