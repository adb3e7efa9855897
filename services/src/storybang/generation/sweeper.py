"""Every job ends: the sweeper finds jobs that nothing will run any more, and sends them again.

A job's message can be lost without its job ending: the embedded default's in-process queue is gone
after a restart, a store error at the moment a worker picks a job up, a Redis that lost its data. And
a running job can lose its worker (killed, out of memory) before Dramatiq redelivers its message.
Each worker therefore sweeps its tasks' jobs every ``sweep_seconds``:

- a job ``queued`` with no change for :data:`QUEUED_GRACE_SECONDS` is sent again (a message still in
  the queue makes a duplicate, which :func:`storybang.generation.jobs.start` skips);
- a job ``running`` whose lease ran out is sent again, and the next worker takes it over;
- a job sent again :data:`MAX_RESENDS` times fails with the reason, so that no job waits forever.

The embedded default sweeps once at start with no grace: its queue is new, so every job still
queued or running lost its message.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import UTC, datetime, timedelta

import dramatiq

from storybang import logs, queue
from storybang.generation import jobs, metrics, quotas
from storybang.generation.models import ACTIVE
from storybang.runtime import Runtime
from storybang.stores.documents import Doc, OneOf
from storybang.stores.errors import STORE_DOWN

# Longer than a message takes to reach a free worker, short enough that a person waits no longer.
QUEUED_GRACE_SECONDS = 120
MAX_RESENDS = 5
_PAGE = 200

log = logs.get(__name__)


def _stale(job: Doc, grace: float, now: datetime) -> bool:
    if job["status"] == "running":
        return jobs.lease_expired(job)
    return datetime.fromisoformat(job["updated_at"]) < now - timedelta(seconds=grace)


async def sweep(runtime: Runtime, broker: dramatiq.Broker, tasks: list[str], *, grace: float) -> int:
    """Send again the messages of ``tasks``' jobs that nothing will run; returns how many."""
    now = datetime.now(UTC)
    where = {"status": OneOf(ACTIVE), "task": OneOf(tuple(tasks))}
    resent = 0
    cursor = None
    while True:
        page = await runtime.documents.find(jobs.COLLECTION, where=where, limit=_PAGE, cursor=cursor)
        for job in page.items:
            if _stale(job, grace, now):
                resent += await _resend(runtime, broker, job)
        if page.next_cursor is None:
            return resent
        cursor = page.next_cursor


async def _resend(runtime: Runtime, broker: dramatiq.Broker, job: Doc) -> int:
    if int(job.get("resent", 0)) >= MAX_RESENDS:
        reason = f"the job was lost {MAX_RESENDS} times (its worker or its message); ask again"
        if await jobs.abandon(runtime.documents, job, reason) is not None:
            metrics.FAILURES.labels(job["task"], "lost").inc()
            with contextlib.suppress(*STORE_DOWN):  # the next admission at the limit prunes it
                await quotas.finish(runtime, job["owner_id"], job["id"])
            event = {"id": job["id"], "task": job["task"], "error": reason}
            await runtime.events.publish(job["owner_id"], "generation.failed", event)
        return 0
    if await jobs.resend(runtime.documents, job) is None:
        return 0  # it moved on meanwhile: someone runs it
    await asyncio.to_thread(queue.enqueue, broker, job["task"], job["id"])
    log.warning("job sent again", job_id=job["id"], task=job["task"], status=job["status"])
    return 1


async def keep_sweeping(runtime: Runtime, broker: dramatiq.Broker, tasks: list[str], *, first_grace: float) -> None:
    """Sweep now (with ``first_grace``), then every ``sweep_seconds`` with jitter, until cancelled."""
    grace = first_grace
    every = runtime.settings.generation.sweep_seconds
    while True:
        try:
            await sweep(runtime, broker, tasks, grace=grace)
        except Exception:  # a store that is down now is swept next time; nothing is lost by waiting
            log.warning("sweep failed; next one in a while", exc_info=True)
        grace = QUEUED_GRACE_SECONDS
        # Workers of one task sweep at different moments, not all at once.
        await asyncio.sleep(every * random.uniform(0.75, 1.25))  # noqa: S311 - jitter, not a secret
