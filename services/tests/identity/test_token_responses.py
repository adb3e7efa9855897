"""Answers that carry tokens are never cached on the way (RFC 6749 section 5.1)."""

from __future__ import annotations

import httpx

from tests.conftest import SignUp


async def test_login_and_refresh_answers_are_not_stored_by_caches(client: httpx.AsyncClient, signup: SignUp) -> None:
    account = await signup()
    r = await client.post("/api/v1/auth/login", json={"email": account.email, "password": account.password})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["pragma"] == "no-cache"
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["pragma"] == "no-cache"
