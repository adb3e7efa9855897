"""Health, readiness (which checks the stores) and Prometheus metrics on every process."""

from __future__ import annotations

from pathlib import Path

import httpx

from storybang.runtime import Runtime
from tests.conftest import app_for, client_for, make_settings


async def test_healthz(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.json() == {"status": "ok"}


async def test_readyz_checks_every_store(client: httpx.AsyncClient) -> None:
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"sql": "ok", "documents": "ok", "rate_limits": "ok", "events": "ok"}


async def test_readyz_is_503_when_a_store_is_down(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        mysql={"url": "mysql+asyncmy://nobody:x@127.0.0.1:1/none"},
        mongo={"url": "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300"},
        redis={"url": "redis://127.0.0.1:1/0"},
    )
    runtime = await Runtime.open(settings)
    try:
        async with client_for(app_for(runtime)) as client:
            r = await client.get("/readyz")
        assert r.status_code == 503
        assert all(v.startswith("error") for v in r.json()["checks"].values())
    finally:
        await runtime.close()


async def test_metrics_count_requests(client: httpx.AsyncClient) -> None:
    await client.get("/.well-known/jwks.json")
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert 'http_requests_total{handler="/.well-known/jwks.json"' in r.text
