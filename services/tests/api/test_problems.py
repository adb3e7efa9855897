"""Bad input gets a clear problem+json answer naming the field, never a 500."""

from __future__ import annotations

import httpx
import structlog

from storybang.runtime import Runtime
from tests.conftest import SignUp, app_for, client_for


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/auth/login", content=b'{"email": "a@b.c", "password":', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 400


async def test_wrong_types_name_the_field(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/auth/register", json={"email": "not-an-email", "password": 12, "display_name": ""})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"email", "password", "display_name"}
    assert r.json()["type"].endswith("/invalid-input")


async def test_oversized_body_is_413_before_the_route(client: httpx.AsyncClient, runtime: Runtime) -> None:
    big = b'{"email": "' + b"a" * (runtime.settings.limits.max_body_bytes + 10) + b'"}'
    r = await client.post("/api/v1/auth/login", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"


async def test_oversized_chunked_body_is_413(client: httpx.AsyncClient, runtime: Runtime) -> None:
    chunk = b"x" * 65536
    count = runtime.settings.limits.max_body_bytes // len(chunk) + 2

    async def body():  # type: ignore[no-untyped-def]
        for _ in range(count):
            yield chunk

    r = await client.post("/api/v1/auth/login", content=body(), headers={"content-type": "application/json"})
    assert r.status_code == 413


async def test_unknown_route_is_a_problem(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


async def test_wrong_method_is_405(client: httpx.AsyncClient, signup: SignUp) -> None:
    r = await client.put("/api/v1/auth/login", json={})
    assert r.status_code == 405


async def test_an_unexpected_error_is_a_bare_500_logged_once(runtime: Runtime) -> None:
    app = app_for(runtime)

    @app.get("/api/v1/broken")
    async def broken() -> None:
        raise RuntimeError("a defect, with a secret detail")

    # An exception leaving the app (for the server to log a second time) would be raised here.
    async with client_for(app) as client:
        with structlog.testing.capture_logs() as logged:
            r = await client.get("/api/v1/broken")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert "secret" not in r.text
    errors = [entry for entry in logged if entry["log_level"] == "error"]
    assert len(errors) == 1 and isinstance(errors[0]["exc_info"], RuntimeError), logged
