"""Bad input gets a clear problem+json answer naming the field, never a 500."""

from __future__ import annotations

import httpx

from storybang.runtime import Runtime
from tests.conftest import SignUp


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
