"""A job's life on a worker: pick it up, run it under its limits, end it exactly once.

Failure policy: a backend that is down or cold (``Unavailable``), or a store that is, is retried by
Dramatiq with exponential backoff, up to ``generation.max_retries`` times, the job going back to
``queued`` in between; anything that retrying cannot fix (bad input, a missing character, no backend
for the task) fails the job at once with the reason. A job runs while it makes progress, up to what
its work allows (:mod:`storybang.generation.limits`), under a lease that its worker renews.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import dramatiq
import structlog

from storybang import errors, logs
from storybang.generation import jobs, limits, metrics, quotas, warmup
from storybang.generation.backends.base import BackendError, Rejected, Unavailable, Unsupported
from storybang.generation.backends.chain import AllDown, NoBackend
from storybang.generation.tasks import RUNNERS, Cancelled, Context
from storybang.push import service as push
from storybang.runtime import Runtime
from storybang.stores.errors import STORE_DOWN

log = logs.get(__name__)

# Errors a later attempt may not meet: a backend or a store that is down or restarting.
TRANSIENT: tuple[type[BaseException], ...] = (Unavailable, errors.Unavailable, *STORE_DOWN)


async def execute(ctx: Context, job_id: str, retries: int) -> str:
    """Run one job to an end state; returns what happened (for logs and tests).

    Raises :class:`dramatiq.Retry` when a later attempt may succeed; the job then waits in ``queued`` (or,
    when its store was down too, stays ``running`` and the retry takes it over).
    """
    runtime = ctx.runtime
    lease_seconds = jobs.lease_seconds(runtime.settings.worker.heartbeat_timeout_seconds)
    try:
        job = await jobs.start(runtime.documents, job_id, lease_seconds=lease_seconds)
    except jobs.Held as e:
        # Its worker may have just died (the broker redelivers after its heartbeat timeout, the
        # lease runs as long): look again shortly. A duplicate message ends as "skipped" then.
        raise dramatiq.Retry("the job is held by another worker") from e
    except TRANSIENT as e:
        # The store is down at pick-up: the message comes back later (and the sweeper, should its
        # retries run out, sends it again), so the job never waits in "queued" for nothing.
        raise dramatiq.Retry(f"picking the job up: {type(e).__name__}") from e
    if job is None:
        return "skipped"  # finished, cancelled, another worker's, or unknown: a late or repeated message
    owner, task = job["owner_id"], job["task"]
    if job.get("request_id"):  # the worker's lines about a job join the API's about the request
        structlog.contextvars.bind_contextvars(request_id=job["request_id"])
    event = {"id": job_id, "task": task}
    lease = asyncio.create_task(_keep_lease(runtime, job, lease_seconds))
    try:
        await runtime.events.publish(owner, "generation.started", event)
        async with limits.running(runtime.settings.generation):
            with warmup.announcing(runtime, job):
                outcome = await RUNNERS[task](ctx, job)
        # Inside the try: a store that is down at this very moment is retried like any other step
        # (the result is applied idempotently, so running the job again stores it once).
        done = await jobs.succeed(runtime.documents, job, outcome.result, outcome.backend)
    except Cancelled:
        return "cancelled"
    except TimeoutError as e:  # limits.TimedOut says which limit; any other, something inside timed out
        return await _fail(runtime, job, str(e) or "timed out", e)
    except TRANSIENT as e:
        reason = getattr(e, "detail", None) or str(e) or type(e).__name__
        if retries < runtime.settings.generation.max_retries:
            log.warning("transient failure, retrying", retries=retries, error=reason)
            with contextlib.suppress(*TRANSIENT):  # with the store down, the retry takes the job over
                await jobs.requeue(runtime.documents, job, f"retrying: {reason}")
            raise dramatiq.Retry(reason) from e
        return await _fail(runtime, job, reason, e)
    except (Rejected, Unsupported, NoBackend, errors.StoryBangError, BackendError) as e:
        return await _fail(runtime, job, getattr(e, "detail", None) or str(e), e)
    finally:
        lease.cancel()
    if done is None:
        return "cancelled" if not await jobs.is_running(runtime.documents, job) else "lost"
    if outcome.tokens:
        metrics.TOKENS.labels(task, outcome.backend).inc(outcome.tokens)
    # Before the event: an owner who hears of the end may ask for the next job at once.
    mark = await _finish(runtime, job, tokens=outcome.tokens, images=outcome.images)
    completed = event | {"backend": outcome.backend, "summary": summary(outcome.result)}
    await _announce(runtime, owner, "generation.completed", completed)
    push.notify_later(runtime, owner, "generation.completed", completed, mark=mark)
    return "succeeded"


async def _finish(runtime: Runtime, job: dict[str, Any], *, tokens: int = 0, images: int = 0) -> str | None:
    """Count the ended job out of its owner's jobs in flight, and what it used; returns the owner's
    push mark, read in the same round trip (None when the counters are down: not known)."""
    owner = job["owner_id"]
    try:
        return await quotas.finish(runtime, owner, job["id"], tokens=tokens, images=images, mark=push.mark_key(owner))
    except TRANSIENT:  # the job is done; a counter that missed it is no reason to undo that
        log.warning("usage not counted: the counters are unavailable", tokens=tokens)
        return None


# A finished job's last event is worth a short wait for a store blip: the job cannot run again to
# send it, and a client waiting on it would otherwise learn of the end only when it refetches.
ANNOUNCE_TRIES = 4


async def _announce(runtime: Runtime, owner: str, name: str, data: dict[str, Any]) -> None:
    for attempt in range(ANNOUNCE_TRIES):
        try:
            await runtime.events.publish(owner, name, data)
            return
        except TRANSIENT:
            if attempt == ANNOUNCE_TRIES - 1:
                log.error("event lost: the event bus stayed unavailable", event_name=name)
                return
            await asyncio.sleep(0.25 * 2**attempt)


async def _keep_lease(runtime: Runtime, job: dict[str, Any], lease_seconds: float) -> None:
    """Renew the job's lease while it runs, so that no other worker takes it over."""
    while True:
        await asyncio.sleep(lease_seconds / jobs.RENEWALS_PER_LEASE)
        with contextlib.suppress(*TRANSIENT):  # a blip: the lease outlasts two missed renewals
            if not await jobs.renew(runtime.documents, job, lease_seconds=lease_seconds):
                return  # cancelled, or taken over after all: its own writes will be refused


# What of a result an event carries: ids and short values. A story or a translation can be far larger
# than an event may be; the client fetches the whole result (GET /generations/{id}).
SUMMARY_TEXT_MAX = 200


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """The small part of ``result`` that a ``generation.completed`` event carries."""
    return {
        key: value
        for key, value in result.items()
        if isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= SUMMARY_TEXT_MAX)
    }


async def _fail(runtime: Runtime, job: dict[str, Any], reason: str, error: BaseException | None) -> str:
    tried = error.tried if isinstance(error, AllDown) else []
    if await jobs.fail(runtime.documents, job, reason, backends_tried=tried) is None:
        return "cancelled"
    kind = metrics.reason_of(error) if error is not None else "internal"
    metrics.FAILURES.labels(job["task"], kind).inc()
    log.info("job failed", task=job["task"], reason=reason, reason_class=kind, backends_tried=tried)
    mark = await _finish(runtime, job)
    failed = {"id": job["id"], "task": job["task"], "error": reason}
    await runtime.events.publish(job["owner_id"], "generation.failed", failed)
    push.notify_later(runtime, job["owner_id"], "generation.failed", failed, mark=mark)
    return "failed"


async def crashed(ctx: Context, job_id: str) -> None:
    job = await jobs.get(ctx.runtime.documents, job_id)
    if job is not None and job["status"] == "running":
        await _fail(ctx.runtime, job, "internal error", None)
