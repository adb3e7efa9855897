"""What each task does once a worker holds its job: plain async functions, called by the actors.

Each runner asks the owning domain for what it needs (owner-scoped: a character's likeness, a
story's text), asks the backend chain, hands the result to the domain that keeps it (a story, a
portrait, a translation) and returns the job's result. The domain's write announces the change
(``character.updated``, ``story.updated``). Applying a result is idempotent, because a message may
be delivered twice.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from storybang.characters import service as characters
from storybang.errors import InvalidInput, NotFound
from storybang.generation import jobs, limits, metrics, prompts
from storybang.generation.backends.base import Backend, Completion, Message
from storybang.generation.backends.chain import Chain
from storybang.runtime import Runtime
from storybang.stores.documents import Doc
from storybang.stories import results as story_results
from storybang.stories import service as stories

# How often a running job checks whether it was cancelled, and reports progress: each check is a
# write of the job, so a story's stream of deltas or a long story's paragraphs cost a few writes a
# second at most, however fast its backend.
CHECK_EVERY_SECONDS = 0.5
# A story's deltas go out at most this often, the text between two sends in one event: a reader
# sees the words arrive 20 times a second, and a model that streams token by token costs Redis one
# command (and every notifier one fan-out) per send rather than per token. Text held back waits at
# most until the next delta, and none outlives the stream.
DELTA_EVERY_SECONDS = 0.05
# ...or sooner, once this much text is held: an event stays far under its size limit (events.MAX_DATA_BYTES).
DELTA_MAX_CHARS = 2000


class Cancelled(Exception):
    pass


@dataclass
class Outcome:
    result: dict[str, Any]
    backend: str
    tokens: int = 0
    images: int = 0


@dataclass
class Context:
    runtime: Runtime
    chain: Chain


Runner = Callable[[Context, Doc], Awaitable[Outcome]]


async def _cast(runtime: Runtime, owner_id: str, character_ids: list[str]) -> list[prompts.Cast]:
    cast = []
    for character_id in character_ids:
        character = await characters.likeness(runtime, owner_id, character_id)
        if character is None:
            raise InvalidInput("a chosen character no longer exists", field="input.character_ids")
        cast.append(prompts.Cast(character.name, character.looks))
    return cast


async def _stream(
    ctx: Context, job: Doc, messages: list[Message], expected_words: float, budget: int, **event: Any
) -> tuple[Completion, str]:
    """Ask the chain for ``messages``, up to ``budget`` tokens, announcing every delta as
    ``generation.progress`` (with ``event``'s fields) and the job's progress, and stopping when the
    job is cancelled. The job's ceiling follows the budget at each backend's measured pace, and each
    finished stream measures it again."""
    owner = job["owner_id"]
    streamed = 0
    # The first words are recorded and sent at once: a running job without progress is one whose
    # model is still warming up (loading, reading the prompt), and clients say so.
    last_check = last_sent = 0.0
    held: list[str] = []

    async def send() -> None:
        nonlocal last_sent
        delta, last_sent = "".join(held), time.monotonic()
        held.clear()
        progress = {"id": job["id"], "task": "story", "delta": delta, **event}
        await ctx.runtime.events.publish(owner, "generation.progress", progress)

    async def on_delta(delta: str) -> None:
        nonlocal streamed, last_check
        streamed += len(delta.split()) or 1
        limits.alive()
        held.append(delta)
        if time.monotonic() - last_sent >= DELTA_EVERY_SECONDS or sum(map(len, held)) >= DELTA_MAX_CHARS:
            await send()
        if time.monotonic() - last_check >= CHECK_EVERY_SECONDS:
            last_check = time.monotonic()
            done = min(0.95, max(0.001, streamed / expected_words))
            if not await jobs.progress(ctx.runtime.documents, job, done):
                raise Cancelled

    async def call(backend: Backend) -> Completion:
        limits.asking(budget, ctx.chain.pace.of(backend.name))
        asked = time.monotonic()
        first: list[float] = []

        async def timed_delta(delta: str) -> None:
            if not first:
                first.append(time.monotonic())
                metrics.TIME_TO_FIRST_TOKEN.labels("story", backend.name).observe(first[0] - asked)
            await on_delta(delta)

        held.clear()  # a backend that failed after streaming: its text is not this one's
        completion = await backend.chat(messages, max_tokens=budget, temperature=0.8, on_delta=timed_delta)
        if held:
            await send()
        if first:
            ctx.chain.pace.record(backend.name, completion.completion_tokens, time.monotonic() - first[0])
        return completion

    return await ctx.chain.run(call, prefer=job.get("backend"))


async def run_story(ctx: Context, job: Doc) -> Outcome:
    data, owner = job["input"], job["owner_id"]
    if data.get("paragraph") is not None:
        return await _run_paragraph(ctx, job)
    messages = prompts.story_messages(
        prompt=data["prompt"],
        audience=data["audience"],
        cast=await _cast(ctx.runtime, owner, data["character_ids"]),
        genre=data.get("genre"),
        values=data.get("values", []),
        length=data["length"],
        language=data["language"],
    )
    expected = prompts.story_words(data["length"], data["audience"])
    limit = ctx.runtime.settings.generation.max_tokens
    budget = prompts.story_tokens(data["length"], data["audience"], data["language"], limit)
    completion, backend = await _stream(ctx, job, messages, expected, budget)
    cut = completion.completion_tokens >= budget
    title, paragraphs = prompts.parse_story(
        completion.text,
        prompts.fallback_title(data["prompt"]),
        cut=cut,
        paragraph_words=prompts.WORDS_PER_PARAGRAPH[data["audience"]],
    )
    if not paragraphs:
        raise InvalidInput("the model wrote no story; try another prompt", field="input.prompt")
    result: dict[str, Any] = {"title": title, "paragraphs": paragraphs}
    if data.get("save"):
        story = await story_results.save_generated(
            ctx.runtime,
            owner,
            title=title,
            paragraphs=paragraphs,
            audience=data["audience"],
            character_ids=data["character_ids"],
            language=data["language"],
            genre=data.get("genre"),
            values=data.get("values", []),
            story_id=data.get("story_id"),
            job_id=job["id"],
        )
        result["story_id"] = story.id
    return Outcome(result, backend, tokens=completion.prompt_tokens + completion.completion_tokens)


async def _run_paragraph(ctx: Context, job: Doc) -> Outcome:
    """One paragraph of a saved story, written again or continued; always kept, as a new version."""
    data, owner = job["input"], job["owner_id"]
    story = await stories.text(ctx.runtime, owner, data["story_id"])
    index, rewrite = data["paragraph"], data.get("rewrite", "regenerate")
    if story is None or not 0 <= index < len(story.paragraphs):
        raise InvalidInput("the story or its paragraph no longer exists", field="input.paragraph")
    audience = story.audience if story.audience in prompts.AUDIENCES else "general"
    language = story.language or "en"
    messages = prompts.paragraph_messages(
        title=story.title,
        paragraphs=story.paragraphs,
        index=index,
        rewrite=rewrite,
        audience=audience,
        language=language,
        wish=data.get("prompt", ""),
    )
    written = index + 1 if rewrite == "continue" else index
    budget = prompts.paragraph_tokens(audience, language, ctx.runtime.settings.generation.max_tokens)
    expected = prompts.paragraph_words(audience)
    completion, backend = await _stream(ctx, job, messages, expected, budget, paragraph=written, rewrite=rewrite)
    text = prompts.parse_paragraph(completion.text, cut=completion.completion_tokens >= budget)
    if not text:
        raise InvalidInput("the model wrote nothing; try again", field="input.paragraph")
    insert = rewrite == "continue"
    saved = await story_results.save_paragraph(
        ctx.runtime, owner, data["story_id"], index=index, text=text, insert=insert, job_id=job["id"]
    )
    result = {"story_id": saved.id, "paragraph": written, "rewrite": rewrite, "text": text}
    return Outcome(result, backend, tokens=completion.prompt_tokens + completion.completion_tokens)


async def run_translate(ctx: Context, job: Doc) -> Outcome:
    data, owner = job["input"], job["owner_id"]
    target = data["target_language"]
    if data.get("text") is not None:
        source = data.get("source_language") or "en"
        translated, backend = await ctx.chain.run(
            lambda b: b.translate(data["text"], source=source, target=target), prefer=job.get("backend")
        )
        return Outcome({"text": translated}, backend, tokens=len(data["text"].split()))
    story = await stories.text(ctx.runtime, owner, data["story_id"])
    if story is None:
        raise NotFound("the story no longer exists")
    source = data.get("source_language") or story.language or "en"
    # One request per paragraph keeps paragraphs apart whatever the backend does with blank lines.
    texts = [story.title, *story.paragraphs]
    translated_texts: list[str] = []
    backend = ""

    def translator(text: str) -> Callable[[Backend], Awaitable[str]]:
        return lambda b: b.translate(text, source=source, target=target)

    last_check = 0.0  # the first paragraph's progress is recorded at once, as a story's first words are
    for i, text in enumerate(texts):
        out, backend = await ctx.chain.run(translator(text), prefer=job.get("backend"))
        limits.alive()
        translated_texts.append(out)
        if time.monotonic() - last_check >= CHECK_EVERY_SECONDS:
            last_check = time.monotonic()
            if not await jobs.progress(ctx.runtime.documents, job, (i + 1) / len(texts) * 0.95):
                raise Cancelled
    title, paragraphs = translated_texts[0], translated_texts[1:]
    await story_results.set_translation(ctx.runtime, owner, data["story_id"], target, title, paragraphs)
    translation = {"language": target, "title": title, "paragraphs": paragraphs}
    return Outcome(
        {"translation": translation, "story_id": data["story_id"]}, backend, tokens=sum(len(t.split()) for t in texts)
    )


async def run_describe(ctx: Context, job: Doc) -> Outcome:
    data, owner = job["input"], job["owner_id"]
    photo_id = data.get("image_id")
    if data.get("character_id"):
        character = await characters.likeness(ctx.runtime, owner, data["character_id"])
        if character is None or not character.photo_id:
            raise InvalidInput("the character has no photo to describe", field="input.character_id")
        photo_id = character.photo_id
    blob = await ctx.runtime.blobs.get(photo_id, owner_id=owner) if photo_id else None
    if blob is None:
        raise InvalidInput("no such image", field="input.image_id")
    text, backend = await ctx.chain.run(lambda b: b.describe(blob.data, blob.content_type), prefer=job.get("backend"))
    if data.get("character_id") and data.get("save", True):
        await characters.set_description(ctx.runtime, owner, data["character_id"], text, photo_id=photo_id)
    return Outcome({"description": text}, backend, tokens=len(text.split()))


async def run_image(ctx: Context, job: Doc) -> Outcome:
    data, owner = job["input"], job["owner_id"]
    subject = data.get("prompt") or ""
    if data.get("character_id"):
        character = await characters.likeness(ctx.runtime, owner, data["character_id"])
        if character is None:
            raise InvalidInput("the character no longer exists", field="input.character_id")
        subject = subject or f"Portrait of {character.name}. {character.looks}"
    if data.get("story_id") is not None:
        story = await stories.text(ctx.runtime, owner, data["story_id"])
        paragraphs = story.paragraphs if story else []
        if not 0 <= data["paragraph"] < len(paragraphs):
            raise InvalidInput("the story or its paragraph no longer exists", field="input.paragraph")
        subject = subject or paragraphs[data["paragraph"]]
    png, backend = await ctx.chain.run(
        lambda b: b.draw(prompts.image_prompt(subject), size=data["size"]), prefer=job.get("backend")
    )
    from storybang import images

    image = await images.check_async(png, ctx.runtime.settings.limits)
    image_id = await ctx.runtime.blobs.put(image.data, owner_id=owner, content_type=image.content_type)
    if data.get("character_id"):
        await characters.set_portrait(ctx.runtime, owner, data["character_id"], image_id)
    if data.get("story_id") is not None:
        await story_results.set_illustration(ctx.runtime, owner, data["story_id"], data["paragraph"], image_id)
    return Outcome({"image_id": image_id}, backend, images=1)


RUNNERS: dict[str, Runner] = {
    "story": run_story,
    "translate": run_translate,
    "describe": run_describe,
    "image": run_image,
}
