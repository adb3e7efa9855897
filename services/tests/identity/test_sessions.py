"""Ending sessions: the access tokens issued so far stop working at once, not when they expire."""

from __future__ import annotations

import httpx

from tests.conftest import Account, SignUp

ME = "/api/v1/users/me"


async def me(client: httpx.AsyncClient, token: str) -> int:
    return (await client.get(ME, headers={"Authorization": f"Bearer {token}"})).status_code


async def login(client: httpx.AsyncClient, account: Account, password: str | None = None) -> dict[str, str]:
    r = await client.post("/api/v1/auth/login", json={"email": account.email, "password": password or account.password})
    assert r.status_code == 200, r.text
    pair: dict[str, str] = r.json()
    return pair


async def test_logout_ends_the_access_tokens_of_every_device(client: httpx.AsyncClient, signup: SignUp) -> None:
    account = await signup()
    phone = await login(client, account)
    r = await client.post("/api/v1/auth/logout", json={"refresh_token": account.refresh_token})
    assert r.status_code == 204
    assert await me(client, account.access_token) == 401
    assert await me(client, phone["access_token"]) == 401
    # The other device keeps its refresh token and quietly gets a working access token.
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    assert r.status_code == 200
    assert await me(client, r.json()["access_token"]) == 200
    assert await me(client, (await login(client, account))["access_token"]) == 200


async def test_a_password_change_ends_every_session(client: httpx.AsyncClient, signup: SignUp) -> None:
    account = await signup()
    new_password = "a brand new passphrase"
    body = {"password": new_password, "current_password": account.password}
    r = await client.patch(ME, headers=account.headers, json=body)
    assert r.status_code == 200, r.text
    assert await me(client, account.access_token) == 401
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert r.status_code == 401
    assert await me(client, (await login(client, account, new_password))["access_token"]) == 200


async def test_a_reused_refresh_token_ends_the_access_tokens_too(
    strict_rotation: tuple[httpx.AsyncClient, SignUp],
) -> None:
    client, signup = strict_rotation
    account = await signup()
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    rotated = r.json()
    assert await me(client, rotated["access_token"]) == 200
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})  # a stale copy
    assert r.status_code == 401
    assert await me(client, rotated["access_token"]) == 401
    assert await me(client, account.access_token) == 401
