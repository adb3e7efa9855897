"""Logging out everywhere: every device of the account has to log in again."""

from __future__ import annotations

import httpx

from tests.conftest import SignUp

ME = "/api/v1/users/me"


async def test_logout_everywhere_ends_every_device(client: httpx.AsyncClient, signup: SignUp) -> None:
    account = await signup()
    r = await client.post("/api/v1/auth/login", json={"email": account.email, "password": account.password})
    phone = r.json()
    r = await client.post("/api/v1/auth/logout/all", headers=account.headers)
    assert r.status_code == 204
    for pair in ({"access_token": account.access_token, "refresh_token": account.refresh_token}, phone):
        assert (await client.get(ME, headers={"Authorization": f"Bearer {pair['access_token']}"})).status_code == 401
        r = await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert r.status_code == 401
    r = await client.post("/api/v1/auth/login", json={"email": account.email, "password": account.password})
    assert r.status_code == 200


async def test_logout_everywhere_needs_an_access_token(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/auth/logout/all")
    assert r.status_code == 401
