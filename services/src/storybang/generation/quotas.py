"""Per-user limits on generation: jobs in flight at once, and daily quotas of tokens and images.

The API admits a job before queueing it (:func:`admit`): one atomic step in the counters (Redis, or
memory embedded) checks the user's jobs in flight and the quota the task draws on, and adds the job
to the user's set of jobs in flight. Whatever ends a job takes it out again (:func:`finish`, which
also counts what a finished job used). Days are UTC days; the quota counters live under keys that
carry the day, so yesterday's usage simply stops being read.

The set of jobs in flight can only hold too many, never too few: a job enters it before it is
stored, and leaves it after it is stored as ended. A job whose end the set never heard of (a worker
killed between the two, Redis down at that moment) would keep its owner at the limit; so a
submission that finds the set full asks the document store, which is the truth, and prunes the set
before it refuses. The usage figures (:func:`usage`) come from the store too.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta

from storybang.errors import TooManyRequests
from storybang.generation import jobs
from storybang.generation.models import ACTIVE, Usage
from storybang.runtime import Runtime
from storybang.stores.counters import Admission
from storybang.stores.documents import OneOf

# A job in the set but not (yet) in the store is kept that long: its submission may still be storing it.
ADMISSION_GRACE_SECONDS = 60


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


def active_key(owner_id: str) -> str:
    return f"active-jobs:{owner_id}"


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


async def admit(runtime: Runtime, owner_id: str, task: str, job_id: str) -> None:
    """Count ``job_id`` among ``owner_id``'s jobs in flight, or refuse it: 429 with a Retry-After when
    the owner may not start a ``task`` job now (too many in flight, or the quota ``task`` draws on
    used up). One round trip to the counters; a second, and one to the store, only at the limit."""
    limits = runtime.settings.generation
    quota, quota_limit = (
        (images_key(owner_id), limits.daily_images) if task == "image" else (tokens_key(owner_id), limits.daily_tokens)
    )

    async def ask() -> Admission:
        return await runtime.counters.admit(
            active_key(owner_id), job_id, limit=limits.max_active_jobs, quota=quota, quota_limit=quota_limit
        )

    admission = await ask()
    # Full: of jobs in flight, or of ends it never heard of. The store says which.
    full = not admission.admitted and admission.used is None
    if full and await _prune(runtime, owner_id) < limits.max_active_jobs:
        admission = await ask()
    if admission.admitted:
        return
    if admission.used is None:
        raise TooManyRequests(
            f"You already have {admission.active} generations in progress; wait for one to finish.", retry_after=5
        )
    if task == "image":
        raise TooManyRequests("Today's image quota is used up.", retry_after=seconds_to_midnight())
    raise TooManyRequests("Today's text quota is used up.", retry_after=seconds_to_midnight())


async def _prune(runtime: Runtime, owner_id: str) -> int:
    """Take out of the owner's set the jobs that the store says ended, or never came to be; returns
    how many are left. One query, and a read of each job in the set that it does not list as in
    flight and that was admitted within the grace: kept when not stored yet or stored in flight since."""
    seen_at = time.time()
    admitted = await runtime.counters.members(active_key(owner_id))
    page = await runtime.documents.find(
        jobs.COLLECTION, owner_id=owner_id, where={"status": OneOf(ACTIVE)}, limit=len(admitted) + 1
    )
    keep = {doc["id"] for doc in page.items}
    for job_id, at in admitted.items():
        if job_id in keep or at <= seen_at - ADMISSION_GRACE_SECONDS:
            continue
        # Admitted lately: not stored yet (its submission is storing it), or stored since the query.
        doc = await runtime.documents.get(jobs.COLLECTION, job_id)
        if doc is None or doc.get("status") in ACTIVE:
            keep.add(job_id)
    return await runtime.counters.prune(active_key(owner_id), keep=sorted(keep), admitted_before=seen_at)


async def finish(
    runtime: Runtime, owner_id: str, job_id: str, *, tokens: int = 0, images: int = 0, mark: str | None = None
) -> str | None:
    """Take an ended job out of its owner's jobs in flight and count what it used against today's
    quotas, in one step; returns the value of the counters' mark ``mark``, read in the same round
    trip (the owner's push subscriptions, see :func:`storybang.push.service.mark_key`)."""
    used = {tokens_key(owner_id): tokens, images_key(owner_id): images}
    return await runtime.counters.finish(active_key(owner_id), job_id, add=used, mark=mark)
