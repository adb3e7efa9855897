"""Registration, verification, login, refresh rotation, logout, password reset and the account."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from storybang.mail import LogSender
from storybang.runtime import Runtime
from storybang.security import passwords
from storybang.settings import Settings
from tests.conftest import SignUp, app_for, client_for, make_settings

PASSWORD = "correct horse battery staple"


@pytest.fixture
async def strict(real_settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, LogSender]]:
    """A client on an app that requires verified accounts, with the mails it sent."""
    settings = make_settings(
        tmp_path,
        mysql=real_settings.mysql.model_dump(),
        mongo=real_settings.mongo.model_dump(),
        redis=real_settings.redis.model_dump(),
        auth={"require_verification": True},
    )
    runtime = await Runtime.open(settings)
    assert isinstance(runtime.sender, LogSender)
    async with client_for(app_for(runtime)) as c:
        yield c, runtime.sender
    await runtime.close()


def last_code(sender: LogSender, email: str) -> str:
    body = next(m.body for m in reversed(sender.sent) if m.to == email)
    match = re.search(r"code is (\d{6})|token=([\w-]+)", body)
    assert match, body
    return match.group(1) or match.group(2)


def unique_email() -> str:
    import secrets

    return f"p-{secrets.token_hex(6)}@example.com"


async def test_register_verify_login(strict: tuple[httpx.AsyncClient, LogSender]) -> None:
    client, sender = strict
    email = unique_email()
    r = await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD, "display_name": "Ada"})
    assert r.status_code == 201
    assert r.json() == {"email": email, "verification_required": True}
    assert "code" not in r.text.lower().replace("verification_required", "")

    r = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 403  # not verified yet

    r = await client.post("/api/v1/auth/verify", json={"email": email, "code": "000000x"})
    assert r.status_code == 400
    code = last_code(sender, email)
    assert (await client.post("/api/v1/auth/verify", json={"email": email, "code": code})).status_code == 204
    # single use
    assert (await client.post("/api/v1/auth/verify", json={"email": email, "code": code})).status_code == 400

    r = await client.post("/api/v1/auth/login", json={"email": email.upper(), "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "Bearer" and 60 <= body["expires_in"] <= 3600
    me = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["verified"] is True and me.json()["email"] == email


async def test_registering_a_taken_email_looks_the_same_and_mails_the_owner(
    strict: tuple[httpx.AsyncClient, LogSender],
) -> None:
    client, sender = strict
    email = unique_email()
    first = await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD, "display_name": "A"})
    again = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD + "!", "display_name": "B"}
    )
    assert (first.status_code, first.json()) == (again.status_code, again.json())
    assert "already" in sender.sent[-1].body


async def test_unknown_email_and_wrong_password_get_the_same_answer(client: httpx.AsyncClient, signup: SignUp) -> None:
    account = await signup()
    wrong = await client.post("/api/v1/auth/login", json={"email": account.email, "password": "not the password"})
    unknown = await client.post("/api/v1/auth/login", json={"email": unique_email(), "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


@pytest.mark.parametrize(
    ("password", "reason"), [("short", "at least 8"), ("password1", "too common"), ("x" * 129, "at most 128")]
)
async def test_weak_passwords_are_refused_naming_the_field(
    client: httpx.AsyncClient, password: str, reason: str
) -> None:
    r = await client.post(
        "/api/v1/auth/register", json={"email": unique_email(), "password": password, "display_name": "A"}
    )
    assert r.status_code == 422
    problem = r.json()
    assert problem["errors"][0]["field"] == "password"
    assert reason in problem["errors"][0]["message"]


async def test_refresh_rotates_the_token(client: httpx.AsyncClient, signup: SignUp) -> None:
    account = await signup()
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert r.status_code == 200
    pair = r.json()
    assert pair["refresh_token"] != account.refresh_token
    me = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.status_code == 200
    assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})).status_code == 200


async def test_reused_refresh_token_revokes_family(strict_rotation: tuple[httpx.AsyncClient, SignUp]) -> None:
    # Without the grace (test_refresh_grace.py has reuse after it): any reuse is a stale copy.
    client, signup = strict_rotation
    account = await signup()
    rotated = (await client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})).json()
    # The stale token comes back (a thief, or a client bug): refused, and the family is revoked...
    assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})).status_code == 401
    # ...so the newest token of the family stops working too.
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    ).status_code == 401


async def test_exactly_one_of_twenty_parallel_refreshes_succeeds(
    strict_rotation: tuple[httpx.AsyncClient, SignUp],
) -> None:
    # The rotation is claimed atomically: without the grace, the other nineteen are reuses.
    client, signup = strict_rotation
    account = await signup()
    answers = await asyncio.gather(
        *(client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token}) for _ in range(20))
    )
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] + [401] * 19


async def test_logout_revokes_the_refresh_token(client: httpx.AsyncClient, signup: SignUp) -> None:
    account = await signup()
    assert (await client.post("/api/v1/auth/logout", json={"refresh_token": account.refresh_token})).status_code == 204
    assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})).status_code == 401


async def test_password_reset(strict: tuple[httpx.AsyncClient, LogSender], signup: SignUp) -> None:
    client, sender = strict
    account = await signup()
    assert (await client.post("/api/v1/auth/password/forgot", json={"email": unique_email()})).status_code == 202
    r = await client.post("/api/v1/auth/password/forgot", json={"email": account.email})
    assert r.status_code == 202 and "token" not in r.text
    token = last_code(sender, account.email)
    new = "a whole new passphrase"
    r = await client.post("/api/v1/auth/password/reset", json={"token": token, "new_password": new})
    assert r.status_code == 204
    # single use, old sessions gone, old password gone, new one works
    assert (
        await client.post("/api/v1/auth/password/reset", json={"token": token, "new_password": new})
    ).status_code == 400
    assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})).status_code == 401
    assert (
        await client.post("/api/v1/auth/login", json={"email": account.email, "password": PASSWORD})
    ).status_code == 401
    # the strict app wants verified accounts: the account signed up on the lenient one is not
    assert (await client.post("/api/v1/auth/login", json={"email": account.email, "password": new})).status_code == 403


async def test_update_me(client: httpx.AsyncClient, signup: SignUp) -> None:
    account = await signup()
    r = await client.patch("/api/v1/users/me", headers=account.headers, json={"display_name": "  Grace  "})
    assert r.status_code == 200 and r.json()["display_name"] == "Grace"
    r = await client.patch(
        "/api/v1/users/me", headers=account.headers, json={"password": "another good one", "current_password": "nope"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "current_password"
    r = await client.patch(
        "/api/v1/users/me", headers=account.headers, json={"password": "another good one", "current_password": PASSWORD}
    )
    assert r.status_code == 200
    r = await client.post("/api/v1/auth/login", json={"email": account.email, "password": "another good one"})
    assert r.status_code == 200
    # The password change ended the session of the old token (see test_sessions.py).
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = await client.patch("/api/v1/users/me", headers=headers, json={"role": "admin"})
    assert r.status_code == 422  # unknown fields are refused, not ignored


async def test_delete_me_removes_the_account_and_its_data(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    account = await signup()
    await runtime.documents.insert("characters", {"id": "0" * 24, "owner_id": account.id, "name": "Kept?"})
    image = await runtime.blobs.put(b"\x89PNG...", owner_id=account.id, content_type="image/png")
    r = await client.request("DELETE", "/api/v1/users/me", headers=account.headers, json={"password": PASSWORD})
    assert r.status_code == 204
    assert (await client.get("/api/v1/users/me", headers=account.headers)).status_code == 401
    assert await runtime.documents.count("characters", owner_id=account.id) == 0
    assert await runtime.blobs.get(image, owner_id=account.id) is None
    r = await client.post("/api/v1/auth/login", json={"email": account.email, "password": PASSWORD})
    assert r.status_code == 401


async def test_deleting_the_account_needs_its_password(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    account = await signup()
    await runtime.documents.insert("characters", {"id": "1" * 24, "owner_id": account.id, "name": "Kept"})
    r = await client.delete("/api/v1/users/me", headers=account.headers)
    assert r.status_code == 422  # no body: the password is required
    r = await client.request("DELETE", "/api/v1/users/me", headers=account.headers, json={"password": "a stolen token"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "password"
    assert (await client.get("/api/v1/users/me", headers=account.headers)).status_code == 200
    assert await runtime.documents.count("characters", owner_id=account.id) == 1


async def test_password_guesses_with_a_token_are_limited_like_logins(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    account = await signup()
    limit = int(runtime.settings.limits.login_per_account.split("/")[0])
    for _ in range(limit):
        r = await client.request("DELETE", "/api/v1/users/me", headers=account.headers, json={"password": "guess"})
        assert r.status_code == 422
    r = await client.request("DELETE", "/api/v1/users/me", headers=account.headers, json={"password": PASSWORD})
    assert r.status_code == 429 and "Retry-After" in r.headers
    # The owner can still log in: the guesses were counted apart from login attempts.
    r = await client.post("/api/v1/auth/login", json={"email": account.email, "password": PASSWORD})
    assert r.status_code == 200


class CountingHasher(passwords.Hasher):
    """The real hasher, counting its work: a timing side channel is the work done, not the clock."""

    hashed = 0

    async def hash(self, password: str) -> str:
        CountingHasher.hashed += 1
        return await super().hash(password)


async def test_registering_a_taken_email_does_the_same_hashing_work(real_settings: Settings, tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        mysql=real_settings.mysql.model_dump(),
        mongo=real_settings.mongo.model_dump(),
        redis=real_settings.redis.model_dump(),
    )
    runtime = await Runtime.open(settings)
    runtime.hasher = CountingHasher(settings.auth)
    try:
        async with client_for(app_for(runtime)) as client:
            body = {"email": unique_email(), "password": PASSWORD, "display_name": "A"}
            before = CountingHasher.hashed
            assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
            new_account = CountingHasher.hashed - before
            before = CountingHasher.hashed
            assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
            taken = CountingHasher.hashed - before
        assert new_account == taken == 1
    finally:
        await runtime.close()
