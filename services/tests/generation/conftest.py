"""Generation fixtures: a real Dramatiq worker (in a thread of the test process) on real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from storybang.generation import worker
from storybang.settings import Settings
from tests.conftest import Account, make_settings


def settings_with(real: Settings, tmp: Any, **overrides: Any) -> Settings:
    return make_settings(
        tmp, mysql=real.mysql.model_dump(), mongo=real.mongo.model_dump(), redis=real.redis.model_dump(), **overrides
    )


@contextmanager
def running_worker(settings: Settings, tasks: list[str]) -> Iterator[None]:
    """A Dramatiq worker consuming ``tasks`` until the block ends."""
    w = worker.start(settings, tasks)
    try:
        yield
    finally:
        w.stop(timeout=10_000)


async def finished(client: httpx.AsyncClient, account: Account, job_id: str) -> dict[str, Any]:
    """The job once it has ended (succeeded, failed or cancelled), within a minute."""
    async with asyncio.timeout(60):
        while True:
            job: dict[str, Any] = (await client.get(f"/api/v1/generations/{job_id}", headers=account.headers)).json()
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return job
            await asyncio.sleep(0.1)
