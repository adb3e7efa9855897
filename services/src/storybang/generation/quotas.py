"""Per-user limits on generation: jobs in flight at once, and daily quotas of tokens and images.

The API checks them before queueing a job (:func:`check`); the worker counts what a finished job
used (:func:`record`). Days are UTC days; the counters live in Redis (or memory, embedded) under
keys that carry the day, so yesterday's usage simply stops being read.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from storybang.errors import TooManyRequests
from storybang.generation import jobs
from storybang.generation.models import ACTIVE, Usage
from storybang.runtime import Runtime
from storybang.stores.documents import OneOf


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


async def _active_jobs(runtime: Runtime, owner_id: str) -> int:
    return await runtime.documents.count(jobs.COLLECTION, owner_id=owner_id, where={"status": OneOf(ACTIVE)})


async def usage(runtime: Runtime, owner_id: str) -> Usage:
    limits = runtime.settings.generation
    return Usage(
        day=today(),
        tokens=await runtime.counters.get(tokens_key(owner_id)),
        tokens_limit=limits.daily_tokens,
        images=await runtime.counters.get(images_key(owner_id)),
        images_limit=limits.daily_images,
        active_jobs=await _active_jobs(runtime, owner_id),
        active_jobs_limit=limits.max_active_jobs,
    )


async def check(runtime: Runtime, owner_id: str, task: str) -> None:
    """429 with a Retry-After when ``owner_id`` may not start a ``task`` job now. Reads the jobs in
    flight and the one quota that ``task`` draws on."""
    limits = runtime.settings.generation
    active = await _active_jobs(runtime, owner_id)
    if active >= limits.max_active_jobs:
        raise TooManyRequests(
            f"You already have {active} generations in progress; wait for one to finish.", retry_after=5
        )
    if task == "image":
        if await runtime.counters.get(images_key(owner_id)) >= limits.daily_images:
            raise TooManyRequests("Today's image quota is used up.", retry_after=seconds_to_midnight())
    elif await runtime.counters.get(tokens_key(owner_id)) >= limits.daily_tokens:
        raise TooManyRequests("Today's text quota is used up.", retry_after=seconds_to_midnight())


async def record(runtime: Runtime, owner_id: str, *, tokens: int = 0, images: int = 0) -> None:
    """Count what a finished job used against today's quotas."""
    if tokens:
        await runtime.counters.add(tokens_key(owner_id), tokens)
    if images:
        await runtime.counters.add(images_key(owner_id), images)
