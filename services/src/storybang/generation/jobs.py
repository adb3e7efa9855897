"""The job state machine, on the document store: queued → running → succeeded | failed | cancelled.

Every transition is a compare-and-set, so two workers (a redelivered message, a retry) can never
both finish a job, and a cancelled job cannot be revived. ``attempt`` fences a worker that took a
job over from a dead one: the older attempt's writes no longer match and are dropped.

A running job holds a lease (``lease_until``) as long as the broker's heartbeat timeout, renewed by
its worker while it runs. A message for a job whose lease still holds comes back later (:class:`Held`);
a job whose lease ran out lost its worker, and the next message for it (redelivered by the broker,
or sent again by the sweeper) takes it over.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from storybang.stores.documents import Doc, DocumentStore
from storybang.stores.ids import new_id

COLLECTION = "generations"
# A worker renews its job's lease every third of it: two renewals may fail (a store blip) before
# another worker may take the job over.
RENEWALS_PER_LEASE = 3
# However short the broker's heartbeat timeout, a lease outlasts a busy store's slow writes.
MIN_LEASE_SECONDS = 10


def lease_seconds(heartbeat_timeout_seconds: float) -> float:
    """A job's lease: as long as the broker waits before redelivering a silent worker's messages."""
    return max(heartbeat_timeout_seconds, MIN_LEASE_SECONDS)


class Held(Exception):
    """The job runs under another worker's live lease: this message is early, or a duplicate."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _lease(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


def lease_expired(job: Doc) -> bool:
    """Whether a running job's worker stopped renewing it (a job of old without a lease counts)."""
    lease = job.get("lease_until")
    return lease is None or datetime.fromisoformat(lease) < datetime.now(UTC)


async def create(
    store: DocumentStore,
    owner_id: str,
    task: str,
    data: dict[str, Any],
    backend: str | None,
    *,
    request_id: str | None = None,
    job_id: str | None = None,
) -> Doc:
    """A queued job; ``request_id`` is the API request's that asked for it, so the worker's log
    lines about it can be found with the request's. ``job_id``: its id when chosen before (to admit
    it under that id, see :func:`storybang.generation.quotas.admit`)."""
    stamp = now()
    return await store.insert(
        COLLECTION,
        {
            "id": job_id or new_id(),
            "owner_id": owner_id,
            "task": task,
            "status": "queued",
            "progress": 0.0,
            "input": data,
            "backend": backend,
            "result": None,
            "error": None,
            "attempt": 0,
            "request_id": request_id,
            "created_at": stamp,
            "updated_at": stamp,
        },
    )


async def get(store: DocumentStore, job_id: str) -> Doc | None:
    return await store.get(COLLECTION, job_id)


async def start(store: DocumentStore, job_id: str, *, lease_seconds: float) -> Doc | None:
    """Claim a job for a worker, under a lease: one conditional write when it is queued. A job
    ``running`` under an expired lease was left by a worker that died: take it over with the next
    attempt; under a live lease, raise :class:`Held`. Finished or cancelled jobs are not started
    (None)."""
    claim = {"status": "running", "updated_at": now(), "error": None, "lease_until": _lease(lease_seconds)}
    job = await store.update(COLLECTION, job_id, claim, expect={"status": "queued"}, increment={"attempt": 1})
    if job is not None:
        return job
    # Not queued (any more): read why.
    job = await store.get(COLLECTION, job_id)
    if job is None or job["status"] not in ("queued", "running"):
        return None
    if job["status"] == "running" and not lease_expired(job):
        raise Held(job_id)
    # Queued again by now, or left by a dead worker: claim it as it was read.
    seen = {"status": job["status"], "attempt": job.get("attempt"), "lease_until": job.get("lease_until")}
    return await store.update(COLLECTION, job_id, claim, expect=seen, increment={"attempt": 1})


async def renew(store: DocumentStore, job: Doc, *, lease_seconds: float) -> bool:
    """Extend the lease of a job this worker runs; False when the job is no longer its own."""
    updated = await store.update(COLLECTION, job["id"], {"lease_until": _lease(lease_seconds)}, expect=_fence(job))
    return updated is not None


async def resend(store: DocumentStore, job: Doc) -> Doc | None:
    """Count that the sweeper sent the job's message again (see :mod:`storybang.generation.sweeper`)."""
    return await store.update(
        COLLECTION,
        job["id"],
        {"resent": int(job.get("resent", 0)) + 1, "updated_at": now()},
        expect={"status": job["status"], "attempt": job.get("attempt", 0), "updated_at": job["updated_at"]},
    )


def _fence(job: Doc) -> dict[str, Any]:
    return {"status": "running", "attempt": job["attempt"]}


async def progress(store: DocumentStore, job: Doc, value: float) -> bool:
    updated = await store.update(
        COLLECTION, job["id"], {"progress": round(value, 3), "updated_at": now()}, expect=_fence(job)
    )
    return updated is not None


async def succeed(store: DocumentStore, job: Doc, result: dict[str, Any], backend: str) -> Doc | None:
    return await store.update(
        COLLECTION,
        job["id"],
        {"status": "succeeded", "progress": 1.0, "result": result, "answered_by": backend, "updated_at": now()},
        expect=_fence(job),
    )


async def fail(store: DocumentStore, job: Doc, error: str, backends_tried: list[str] | None = None) -> Doc | None:
    """Fail the job for good, keeping why and which backends were asked (for the admin API)."""
    changes = {"status": "failed", "error": error, "backends_tried": backends_tried or [], "updated_at": now()}
    return await store.update(COLLECTION, job["id"], changes, expect=_fence(job))


async def abandon(store: DocumentStore, job: Doc, error: str) -> Doc | None:
    """Fail a job that no worker holds (its message keeps getting lost), as it is now."""
    changes = {"status": "failed", "error": error, "updated_at": now()}
    return await store.update(
        COLLECTION, job["id"], changes, expect={"status": job["status"], "attempt": job.get("attempt", 0)}
    )


async def requeue(store: DocumentStore, job: Doc, error: str) -> Doc | None:
    """Back to ``queued`` before a retry, saying why, so its state never lies about what happens."""
    return await store.update(
        COLLECTION, job["id"], {"status": "queued", "error": error, "updated_at": now()}, expect=_fence(job)
    )


async def cancel(store: DocumentStore, owner_id: str, job_id: str) -> Doc | None:
    """Cancel a queued or running job of this owner; returns the job as it is afterwards."""
    for status in ("queued", "running"):
        done = await store.update(
            COLLECTION,
            job_id,
            {"status": "cancelled", "updated_at": now()},
            owner_id=owner_id,
            expect={"status": status},
        )
        if done is not None:
            return done
    return await store.get(COLLECTION, job_id, owner_id=owner_id)


async def is_running(store: DocumentStore, job: Doc) -> bool:
    current = await store.get(COLLECTION, job["id"])
    return current is not None and current["status"] == "running" and current["attempt"] == job["attempt"]
