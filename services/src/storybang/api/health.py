"""Liveness and readiness, on every process."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from storybang.api.deps import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up. Never touches a store, so a slow database cannot get pods restarted."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    checks = await runtime.check()
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )
