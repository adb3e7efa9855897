"""The job state machine, on the document store: queued → running → succeeded | failed | cancelled.

Every transition is a compare-and-set, so two workers (a redelivered message, a retry) can never
both finish a job, and a cancelled job cannot be revived. ``attempt`` fences a worker that took a
job over from a dead one: the older attempt's writes no longer match and are dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from storybang.stores.documents import Doc, DocumentStore
from storybang.stores.ids import new_id

COLLECTION = "generations"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


async def create(store: DocumentStore, owner_id: str, task: str, data: dict[str, Any], backend: str | None) -> Doc:
    stamp = now()
    return await store.insert(
        COLLECTION,
        {
            "id": new_id(),
            "owner_id": owner_id,
            "task": task,
            "status": "queued",
            "progress": 0.0,
            "input": data,
            "backend": backend,
            "result": None,
            "error": None,
            "attempt": 0,
            "created_at": stamp,
            "updated_at": stamp,
        },
    )


async def get(store: DocumentStore, job_id: str) -> Doc | None:
    return await store.get(COLLECTION, job_id)


async def start(store: DocumentStore, job_id: str) -> Doc | None:
    """Claim a job for a worker. A job still ``running`` was left by a worker that died (its message
    came back): take it over with the next attempt. Finished or cancelled jobs are not started."""
    job = await store.get(COLLECTION, job_id)
    if job is None or job["status"] not in ("queued", "running"):
        return None
    attempt = int(job.get("attempt", 0))
    return await store.update(
        COLLECTION,
        job_id,
        {"status": "running", "attempt": attempt + 1, "updated_at": now(), "error": None},
        expect={"status": job["status"], "attempt": attempt},
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
