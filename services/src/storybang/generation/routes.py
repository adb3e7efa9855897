"""Generation routes: queue a job, follow it, list, cancel; and the caller's usage."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, status

from storybang.api import problems, signed_images
from storybang.api.deps import AdminUser, CurrentUser, RuntimeDep
from storybang.api.routing import APIRouter
from storybang.generation import pictures, quotas, service
from storybang.generation.models import (
    FailedGenerationPage,
    GenerationCreate,
    GenerationLogs,
    GenerationPage,
    GenerationPublic,
    ObjectId,
    Status,
    Task,
    Usage,
)
from storybang.push import routes as push_routes

generations = APIRouter(prefix="/api/v1/generations", tags=["generations"])
usage = APIRouter(prefix="/api/v1/users", tags=["users"])
admin = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=problems.responses(403))
# Web Push tells of jobs that end, so the generation API serves its subscriptions.
routers = [generations, usage, admin, signed_images.router(pictures.PREFIX, "generations"), *push_routes.routers]


@generations.post("", status_code=status.HTTP_202_ACCEPTED, responses=problems.responses(429, 503))
async def create(data: GenerationCreate, user: CurrentUser, runtime: RuntimeDep) -> GenerationPublic:
    """Queue a story, image, describe or translate job: ``input`` is the ``task``'s. Follow it here
    or over Socket.IO."""
    return await service.create(runtime, user.id, data.root)


@generations.get("")
async def list_jobs(
    user: CurrentUser,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9a-f]{24}$")] = None,
    status: Status | None = None,
) -> GenerationPage:
    return await service.list_jobs(runtime, user.id, limit, cursor, status)


@generations.get("/{job_id}")
async def get(job_id: str, user: CurrentUser, runtime: RuntimeDep) -> GenerationPublic:
    return await service.get(runtime, user.id, job_id)


@generations.delete("/{job_id}")
async def cancel(job_id: str, user: CurrentUser, runtime: RuntimeDep) -> GenerationPublic:
    """Cancel a queued or running job; a finished job is returned unchanged."""
    return await service.cancel(runtime, user.id, job_id)


@usage.get("/me/usage")
async def read_usage(user: CurrentUser, runtime: RuntimeDep) -> Usage:
    """Today's generated tokens and images against the quotas, and jobs in progress."""
    return await quotas.usage(runtime, user.id)


@admin.get("/generations/failed")
async def failed_jobs(
    _: AdminUser,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9a-f]{24}$")] = None,
    task: Task | None = None,
) -> FailedGenerationPage:
    """Every user's failed jobs with the reason and the backends asked, for administrators."""
    return await service.failed_jobs(runtime, limit, cursor, task)


@admin.get("/generations/{job_id}/logs")
async def job_logs(job_id: Annotated[ObjectId, Path()], _: AdminUser, runtime: RuntimeDep) -> GenerationLogs:
    """Any user's job's log lines, oldest first, for administrators: the API's that queued it and
    every worker's that ran it (the last ones of each job, kept for days after its last line)."""
    return await service.job_logs(runtime, job_id)


@admin.get("/usage/{user_id}")
async def user_usage(
    user_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")],
    _: AdminUser,
    runtime: RuntimeDep,
) -> Usage:
    """A user's usage today (tokens, images, jobs in flight) against their limits, for administrators."""
    return await quotas.usage(runtime, user_id)
