"""Generation jobs as the API sees them: validate, check limits, record, enqueue, announce.

The ids a job names (characters, a story, an image) are checked with the domains that own them;
the limits are :mod:`storybang.generation.quotas`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog
from dramatiq.errors import DramatiqError
from redis.exceptions import RedisError

from storybang import logs, queue
from storybang.characters import service as characters
from storybang.errors import InvalidInput, NotFound, Unavailable
from storybang.generation import jobs, pictures, quotas
from storybang.generation.backends import chain
from storybang.generation.models import (
    ACTIVE,
    AnyJobCreate,
    FailedGeneration,
    FailedGenerationPage,
    GenerationLogs,
    GenerationPage,
    GenerationPublic,
)
from storybang.runtime import Runtime
from storybang.security.urls import UrlSigner
from storybang.stores.documents import Doc
from storybang.stores.errors import STORE_DOWN
from storybang.stores.ids import new_id
from storybang.stories import service as stories

log = logs.get(__name__)


def public(doc: Doc, signer: UrlSigner, queue_position: int | None = None) -> GenerationPublic:
    """A stored job as the API shows it: a drawn image's result with its signed URL."""
    job = GenerationPublic.model_validate(
        {
            "id": doc["id"],
            "task": doc["task"],
            "status": doc["status"],
            "progress": doc.get("progress", 0.0),
            "queue_position": queue_position,
            "input": doc["input"],
            "result": doc.get("result"),
            "error": doc.get("error"),
            "backend": doc.get("answered_by") or doc.get("backend"),
            "created_at": doc["created_at"],
            "updated_at": doc["updated_at"],
        }
    )
    return pictures.signed(signer, doc["owner_id"], job)


def _parse(request: AnyJobCreate) -> dict[str, Any]:
    # Validated on the way in, by the task's own request model; kept as plain JSON.
    return request.input.model_dump(mode="json")


async def _check_references(runtime: Runtime, owner_id: str, task: str, data: dict[str, Any]) -> None:
    """Every id in the input must be the caller's own: 404 semantics, said as a field error."""
    if data.get("character_ids"):
        missing = await characters.missing(runtime, owner_id, data["character_ids"])
        if missing:
            raise InvalidInput(f"no such character: {', '.join(missing)}", field="input.character_ids")
    if data.get("character_id") and await characters.missing(runtime, owner_id, [data["character_id"]]):
        raise InvalidInput("no such character", field="input.character_id")
    if data.get("story_id"):
        story = await stories.text(runtime, owner_id, data["story_id"])
        if story is None:
            raise InvalidInput("no such story", field="input.story_id")
        paragraph = data.get("paragraph")
        if paragraph is not None and paragraph >= len(story.paragraphs):
            raise InvalidInput("the story has no such paragraph", field="input.paragraph")
    if data.get("image_id") and await runtime.blobs.get(data["image_id"], owner_id=owner_id) is None:
        raise InvalidInput("no such image", field="input.image_id")


# Jobs counted ahead of a queued one, at most: a position past it reads as "more than this".
QUEUE_POSITION_MAX = 100


async def _queue_position(runtime: Runtime, job: Doc) -> int | None:
    """Where a queued job stands: 1 + the jobs of its task queued before it (ids grow with time).
    Counted on read, from the jobs themselves, so it needs no bookkeeping when jobs start or end."""
    if job["status"] != "queued":
        return None
    ahead = await runtime.documents.find(
        jobs.COLLECTION,
        where={"status": "queued", "task": job["task"]},
        limit=QUEUE_POSITION_MAX,
        cursor=job["id"],
    )
    return len(ahead.items) + 1


async def _enqueue(runtime: Runtime, job: Doc) -> None:
    """Announce the job, then send its message: announced first, so that ``generation.queued``
    comes before anything a worker says about it (a worker may start it at once)."""
    event = {"id": job["id"], "task": job["task"]}
    announced = False
    try:
        await runtime.events.publish(job["owner_id"], "generation.queued", event)
        announced = True
        await asyncio.to_thread(queue.enqueue, runtime.broker, job["task"], job["id"])
    except (RedisError, DramatiqError, Unavailable) as e:
        error = "the queue is unavailable"
        await runtime.documents.update(jobs.COLLECTION, job["id"], {"status": "failed", "error": error})
        with contextlib.suppress(*STORE_DOWN):  # Redis itself may be down: the next admission prunes it
            await quotas.finish(runtime, job["owner_id"], job["id"])
        log.warning("job not queued: the queue is unavailable", error=type(e).__name__)
        if announced:  # its owner heard it was queued: say it failed (the bus may be down too)
            with contextlib.suppress(Unavailable):
                await runtime.events.publish(job["owner_id"], "generation.failed", event | {"error": error})
        raise Unavailable("The job queue is unavailable; try again shortly.") from e


async def create(runtime: Runtime, owner_id: str, request: AnyJobCreate) -> GenerationPublic:
    data = _parse(request)
    if request.task == "story" and data.get("paragraph") is None and not data["prompt"].strip():
        raise InvalidInput("input.prompt: say what the story is about", field="input.prompt")
    if request.task == "story" and len(data["prompt"]) > runtime.settings.generation.max_prompt_chars:
        raise InvalidInput(
            f"the prompt is longer than {runtime.settings.generation.max_prompt_chars} characters", field="input.prompt"
        )
    if request.backend is not None:
        names = chain.known_names(request.task, runtime.settings.generation, embedded=runtime.settings.env == "dev")
        if names is not None and request.backend not in names:
            listed = ", ".join(names) or "none"
            raise InvalidInput(f"no backend is named {request.backend!r}; choose from: {listed}", field="backend")
    await _check_references(runtime, owner_id, request.task, data)
    job_id = new_id()
    await quotas.admit(runtime, owner_id, request.task, job_id)
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    try:
        job = await jobs.create(
            runtime.documents, owner_id, request.task, data, request.backend, request_id=request_id, job_id=job_id
        )
    except BaseException:
        with contextlib.suppress(*STORE_DOWN):  # else pruned by a later admission, once its grace is over
            await quotas.finish(runtime, owner_id, job_id)
        raise
    # From here the request's lines are the job's too: they join the worker's in the job's log.
    with structlog.contextvars.bound_contextvars(job_id=job["id"], task=job["task"]):
        # Said before the message is sent, so that it comes before anything a worker says about the job.
        log.info("job created", owner_id=owner_id, backend=request.backend)
        await _enqueue(runtime, job)
    # Without its place in the queue, which reads say: counting it here was a fourth store round trip
    # per job, and a client learns it anyway from the read that generation.queued prompts.
    return public(job, runtime.keys.image_urls)


async def get(runtime: Runtime, owner_id: str, job_id: str) -> GenerationPublic:
    job = await runtime.documents.get(jobs.COLLECTION, job_id, owner_id=owner_id)
    if job is None:
        raise NotFound("No such generation.")
    return public(job, runtime.keys.image_urls, await _queue_position(runtime, job))


async def list_jobs(
    runtime: Runtime, owner_id: str, limit: int, cursor: str | None, status: str | None
) -> GenerationPage:
    page = await runtime.documents.find(
        jobs.COLLECTION, owner_id=owner_id, where={"status": status} if status else None, limit=limit, cursor=cursor
    )
    items = [public(d, runtime.keys.image_urls, await _queue_position(runtime, d)) for d in page.items]
    return GenerationPage(items=items, next_cursor=page.next_cursor)


async def failed_jobs(runtime: Runtime, limit: int, cursor: str | None, task: str | None) -> FailedGenerationPage:
    """Every user's failed jobs, for administrators."""
    where: dict[str, Any] = {"status": "failed"} | ({"task": task} if task else {})
    page = await runtime.documents.find(jobs.COLLECTION, where=where, limit=limit, cursor=cursor)
    items = [
        FailedGeneration(
            id=d["id"],
            owner_id=d["owner_id"],
            task=d["task"],
            error=d.get("error"),
            backends_tried=d.get("backends_tried", []),
            attempts=d.get("attempt", 0),
            request_id=d.get("request_id"),
            created_at=d["created_at"],
            updated_at=d["updated_at"],
        )
        for d in page.items
    ]
    return FailedGenerationPage(items=items, next_cursor=page.next_cursor)


async def job_logs(runtime: Runtime, job_id: str) -> GenerationLogs:
    """Any user's job's log lines, for administrators; lines past their expiry are gone."""
    if await jobs.get(runtime.documents, job_id) is None:
        raise NotFound("No such generation.")
    lines = await runtime.job_lines.read(job_id)
    # Each process writes its lines in order, but the API's and a worker's reach the store in batches
    # of their own: ordered by the time each line was written (UTC ISO 8601 sorts as text).
    lines.sort(key=lambda line: str(line.get("timestamp", "")))
    return GenerationLogs.model_validate({"items": lines})


async def cancel(runtime: Runtime, owner_id: str, job_id: str) -> GenerationPublic:
    before = await runtime.documents.get(jobs.COLLECTION, job_id, owner_id=owner_id)
    if before is None:
        raise NotFound("No such generation.")
    job = await jobs.cancel(runtime.documents, owner_id, job_id)
    assert job is not None
    if before["status"] in ACTIVE and job["status"] == "cancelled":
        with contextlib.suppress(*STORE_DOWN):  # the next admission at the limit prunes it
            await quotas.finish(runtime, owner_id, job_id)
        await runtime.events.publish(owner_id, "generation.cancelled", {"id": job_id, "task": job["task"]})
    return public(job, runtime.keys.image_urls)
