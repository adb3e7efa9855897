"""Administration: listing users, disabling them (their tokens stop at once), roles."""

from __future__ import annotations

import httpx

from storybang.identity import administration
from storybang.runtime import Runtime
from tests.conftest import SignUp


async def make_admin(runtime: Runtime, client: httpx.AsyncClient, signup: SignUp) -> dict[str, str]:
    account = await signup()
    async with runtime.sessions() as session:
        await administration.create_admin(runtime, session, account.email, account.password, "Admin")
    login = await client.post("/api/v1/auth/login", json={"email": account.email, "password": account.password})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def test_only_admins_may_list_users(client: httpx.AsyncClient, signup: SignUp, runtime: Runtime) -> None:
    user = await signup()
    assert (await client.get("/api/v1/admin/users", headers=user.headers)).status_code == 403
    admin = await make_admin(runtime, client, signup)
    r = await client.get("/api/v1/admin/users", params={"q": user.email}, headers=admin)
    assert r.status_code == 200
    assert [u["id"] for u in r.json()["items"]] == [user.id]


async def test_disabled_users_tokens_stop_working(client: httpx.AsyncClient, signup: SignUp, runtime: Runtime) -> None:
    admin = await make_admin(runtime, client, signup)
    user = await signup()
    r = await client.patch(f"/api/v1/admin/users/{user.id}", headers=admin, json={"disabled": True})
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert (await client.get("/api/v1/users/me", headers=user.headers)).status_code == 401
    assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})).status_code == 401
    assert (
        await client.post("/api/v1/auth/login", json={"email": user.email, "password": user.password})
    ).status_code == 403
    await client.patch(f"/api/v1/admin/users/{user.id}", headers=admin, json={"disabled": False})
    assert (
        await client.post("/api/v1/auth/login", json={"email": user.email, "password": user.password})
    ).status_code == 200


async def test_admin_changes_a_role(client: httpx.AsyncClient, signup: SignUp, runtime: Runtime) -> None:
    admin = await make_admin(runtime, client, signup)
    user = await signup()
    r = await client.patch(f"/api/v1/admin/users/{user.id}", headers=admin, json={"role": "admin"})
    assert r.json()["role"] == "admin"
    assert (await client.get("/api/v1/admin/users", headers=user.headers)).status_code == 200
    r = await client.patch(f"/api/v1/admin/users/{user.id}", headers=admin, json={"role": "superuser"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "role"
    assert (
        await client.patch("/api/v1/admin/users/" + "f" * 24, headers=admin, json={"role": "user"})
    ).status_code == 404
