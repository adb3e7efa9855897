"""Generation jobs as the API sees them: validate, check limits, record, enqueue, announce."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from dramatiq.errors import DramatiqError
from pydantic import ValidationError
from redis.exceptions import RedisError

from storybang import queue
from storybang.characters import service as characters
from storybang.errors import InvalidInput, NotFound, TooManyRequests, Unavailable
from storybang.generation import jobs
from storybang.generation.models import ACTIVE, INPUTS, GenerationCreate, GenerationPage, GenerationPublic, Usage
from storybang.runtime import Runtime
from storybang.stores.documents import Doc


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def seconds_to_midnight() -> int:
    now = datetime.now(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return math.ceil((midnight - now).total_seconds())


def tokens_key(owner_id: str) -> str:
    return f"tokens:{owner_id}:{today()}"


def images_key(owner_id: str) -> str:
    return f"images:{owner_id}:{today()}"


def public(doc: Doc) -> GenerationPublic:
    return GenerationPublic(
        id=doc["id"],
        task=doc["task"],
        status=doc["status"],
        progress=doc.get("progress", 0.0),
        input=doc["input"],
        result=doc.get("result"),
        error=doc.get("error"),
        backend=doc.get("answered_by") or doc.get("backend"),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
    )


def _parse(data: GenerationCreate) -> dict[str, Any]:
    try:
        return INPUTS[data.task].model_validate(data.input).model_dump(mode="json")
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(["input", *map(str, first["loc"])])
        raise InvalidInput(f"{field}: {first['msg']}", field=field) from e


async def _check_references(rt: Runtime, owner_id: str, task: str, data: dict[str, Any]) -> None:
    """Every id in the input must be the caller's own: 404 semantics, said as a field error."""
    if data.get("character_ids"):
        missing = await characters.missing(rt, owner_id, data["character_ids"])
        if missing:
            raise InvalidInput(f"no such character: {', '.join(missing)}", field="input.character_ids")
    if (
        data.get("character_id")
        and await rt.documents.get("characters", data["character_id"], owner_id=owner_id) is None
    ):
        raise InvalidInput("no such character", field="input.character_id")
    if data.get("story_id"):
        story = await rt.documents.get("stories", data["story_id"], owner_id=owner_id)
        if story is None:
            raise InvalidInput("no such story", field="input.story_id")
        paragraph = data.get("paragraph")
        if paragraph is not None and paragraph >= len(story.get("paragraphs", [])):
            raise InvalidInput("the story has no such paragraph", field="input.paragraph")
    if data.get("image_id") and await rt.blobs.get(data["image_id"], owner_id=owner_id) is None:
        raise InvalidInput("no such image", field="input.image_id")


async def usage(rt: Runtime, owner_id: str) -> Usage:
    limits = rt.settings.generation
    active = sum([await rt.documents.count(jobs.COLLECTION, owner_id=owner_id, where={"status": s}) for s in ACTIVE])
    return Usage(
        day=today(),
        tokens=await rt.counters.get(tokens_key(owner_id)),
        tokens_limit=limits.daily_tokens,
        images=await rt.counters.get(images_key(owner_id)),
        images_limit=limits.daily_images,
        active_jobs=active,
        active_jobs_limit=limits.max_active_jobs,
    )


async def _check_limits(rt: Runtime, owner_id: str, task: str) -> None:
    used = await usage(rt, owner_id)
    if used.active_jobs >= used.active_jobs_limit:
        raise TooManyRequests(
            f"You already have {used.active_jobs} generations in progress; wait for one to finish.", retry_after=5
        )
    if task == "image" and used.images >= used.images_limit:
        raise TooManyRequests("Today's image quota is used up.", retry_after=seconds_to_midnight())
    if task != "image" and used.tokens >= used.tokens_limit:
        raise TooManyRequests("Today's text quota is used up.", retry_after=seconds_to_midnight())


async def create(rt: Runtime, owner_id: str, request: GenerationCreate) -> GenerationPublic:
    data = _parse(request)
    if request.task == "story" and len(data["prompt"]) > rt.settings.generation.max_prompt_chars:
        raise InvalidInput(
            f"the prompt is longer than {rt.settings.generation.max_prompt_chars} characters", field="input.prompt"
        )
    await _check_references(rt, owner_id, request.task, data)
    await _check_limits(rt, owner_id, request.task)
    job = await jobs.create(rt.documents, owner_id, request.task, data, request.backend)
    try:
        await asyncio.to_thread(queue.enqueue, rt.broker, request.task, job["id"])
    except (RedisError, DramatiqError) as e:
        await rt.documents.update(jobs.COLLECTION, job["id"], {"status": "failed", "error": "the queue is unavailable"})
        raise Unavailable("The job queue is unavailable; try again shortly.") from e
    await rt.events.publish(owner_id, "generation.queued", {"id": job["id"], "task": job["task"]})
    return public(job)


async def get(rt: Runtime, owner_id: str, job_id: str) -> GenerationPublic:
    job = await rt.documents.get(jobs.COLLECTION, job_id, owner_id=owner_id)
    if job is None:
        raise NotFound("No such generation.")
    return public(job)


async def list_jobs(rt: Runtime, owner_id: str, limit: int, cursor: str | None, status: str | None) -> GenerationPage:
    page = await rt.documents.find(
        jobs.COLLECTION, owner_id=owner_id, where={"status": status} if status else None, limit=limit, cursor=cursor
    )
    return GenerationPage(items=[public(d) for d in page.items], next_cursor=page.next_cursor)


async def cancel(rt: Runtime, owner_id: str, job_id: str) -> GenerationPublic:
    before = await rt.documents.get(jobs.COLLECTION, job_id, owner_id=owner_id)
    if before is None:
        raise NotFound("No such generation.")
    job = await jobs.cancel(rt.documents, owner_id, job_id)
    assert job is not None
    if before["status"] in ACTIVE and job["status"] == "cancelled":
        await rt.events.publish(owner_id, "generation.cancelled", {"id": job_id, "task": job["task"]})
    return public(job)
