"""Every request checks its caller: a verified token of an enabled account whose session has not
ended. The checks are kept per process (storybang.security.access) without letting a forged,
expired, logged-out or disabled caller through."""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path

import httpx
import pytest
from joserfc.jwk import OKPKey

from storybang.identity import administration
from storybang.identity.models import AdminUserUpdate
from storybang.runtime import Runtime
from storybang.security import access, tokens
from storybang.settings import AuthSettings
from tests.conftest import SIGNING_KEY, Account, SignUp, app_for, client_for, open_embedded, sign_up

# A route of another domain: it checks the caller through the kept standing, not the full row.
CHARACTERS = "/api/v1/characters"


async def characters(client: httpx.AsyncClient, account: Account) -> int:
    return (await client.get(CHARACTERS, headers=account.headers)).status_code


async def test_a_logout_refuses_the_token_on_every_route_at_once(client: httpx.AsyncClient, signup: SignUp) -> None:
    account = await signup()
    assert await characters(client, account) == 200  # the account's standing is now kept
    r = await client.post("/api/v1/auth/logout/all", headers=account.headers)
    assert r.status_code == 204
    r = await client.get(CHARACTERS, headers=account.headers)
    assert r.status_code == 401
    assert "session has ended" in r.json()["detail"]


async def test_another_api_process_refuses_an_ended_session_within_its_ttl(
    runtime: Runtime, client: httpx.AsyncClient, signup: SignUp
) -> None:
    account = await signup()
    other = await Runtime.open(runtime.settings)  # another pod on the same stores
    ttl = 0.5
    other.access = access.AccessCache(other.keys, ttl_seconds=ttl)
    try:
        async with client_for(app_for(other)) as elsewhere:
            assert await characters(elsewhere, account) == 200
            assert (await client.post("/api/v1/auth/logout/all", headers=account.headers)).status_code == 204
            await asyncio.sleep(ttl + 0.1)
            assert await characters(elsewhere, account) == 401
    finally:
        await other.close()


async def test_another_api_process_refuses_a_disabled_account_within_a_few_seconds(
    runtime: Runtime, client: httpx.AsyncClient, signup: SignUp
) -> None:
    account = await signup()
    other = await Runtime.open(runtime.settings)  # another pod on the same stores, as configured
    try:
        async with client_for(app_for(other)) as elsewhere:
            assert await characters(elsewhere, account) == 200  # its standing is now kept there
            async with runtime.sessions() as session:  # an administrator disables it here
                email = f"admin-{secrets.token_hex(4)}@example.com"
                admin = await administration.create_admin(runtime, session, email, "admin passphrase 1", "Admin")
                await administration.admin_update(runtime, session, admin, account.id, AdminUserUpdate(disabled=True))
            assert await characters(client, account) == 401  # at once in this process
            refused_after = None
            started = time.monotonic()
            while time.monotonic() - started < access.STANDING_TTL_SECONDS + 1:
                if await characters(elsewhere, account) == 401:
                    refused_after = time.monotonic() - started
                    break
                await asyncio.sleep(0.05)
            assert refused_after is not None, "the other process still lets the disabled account in"
            assert refused_after <= access.STANDING_TTL_SECONDS + 0.5
    finally:
        await other.close()


async def test_on_the_embedded_store_another_process_refuses_an_ended_session_within_its_ttl(tmp_path: Path) -> None:
    here, there = await open_embedded(tmp_path), await open_embedded(tmp_path)  # one data directory
    ttl = 0.5
    there.access = access.AccessCache(there.keys, ttl_seconds=ttl)
    try:
        async with client_for(app_for(here)) as client, client_for(app_for(there)) as elsewhere:
            account = await sign_up(client)
            assert await characters(elsewhere, account) == 200  # read there off the embedded SQL store
            assert (await client.post("/api/v1/auth/logout/all", headers=account.headers)).status_code == 204
            await asyncio.sleep(ttl + 0.1)
            assert await characters(elsewhere, account) == 401
    finally:
        await there.close()
        await here.close()


@pytest.mark.parametrize(
    ("authorization", "status"),
    [("bearer {token}", 200), ("Bearer  {token} ", 200), ("Basic {token}", 401), ("Bearer ", 401), ("{token}", 401)],
)
async def test_the_authorization_header_is_read_as_a_bearer_token(
    client: httpx.AsyncClient, signup: SignUp, authorization: str, status: int
) -> None:
    account = await signup()
    r = await client.get(CHARACTERS, headers={"Authorization": authorization.format(token=account.access_token)})
    assert r.status_code == status


def keys() -> tokens.KeySet:
    return tokens.KeySet(OKPKey.import_key(SIGNING_KEY), AuthSettings())


def test_a_token_altered_after_a_kept_verification_is_refused() -> None:
    key_set = keys()
    cache = access.AccessCache(key_set)
    token, _ = key_set.issue("6b10e1ac41c6e2564ecb0354", "user")
    assert cache.verify(token).user_id == "6b10e1ac41c6e2564ecb0354"
    header, claims, signature = token.split(".")
    forged_signature = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(tokens.InvalidToken):
        cache.verify(f"{header}.{claims}.{forged_signature}")
    other_claims = tokens.KeySet(OKPKey.generate_key("Ed25519"), AuthSettings()).issue("x" * 24, "admin")[0]
    with pytest.raises(tokens.InvalidToken):
        cache.verify(f"{header}.{other_claims.split('.')[1]}.{signature}")


def test_a_kept_token_is_refused_once_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    key_set = keys()
    cache = access.AccessCache(key_set)
    token, ttl = key_set.issue("6b10e1ac41c6e2564ecb0354", "user")
    cache.verify(token)
    later = time.time() + ttl + tokens.LEEWAY + 1
    monkeypatch.setattr(access.time, "time", lambda: later)
    with pytest.raises(tokens.InvalidToken):
        cache.verify(token)


def test_a_standing_read_before_the_account_changed_is_not_kept() -> None:
    cache = access.AccessCache(keys())
    generation = cache.generation  # a request starts reading the row...
    cache.forget("6b10e1ac41c6e2564ecb0354")  # ...while another ends the account's sessions
    cache.remember("6b10e1ac41c6e2564ecb0354", access.Standing("user", False, 0), generation)
    assert cache.standing("6b10e1ac41c6e2564ecb0354") == (False, None)
    cache.remember("6b10e1ac41c6e2564ecb0354", access.Standing("user", False, 1), cache.generation)
    assert cache.standing("6b10e1ac41c6e2564ecb0354") == (True, access.Standing("user", False, 1))


async def test_requests_asking_at_once_share_one_read_of_the_account() -> None:
    cache, reads = access.AccessCache(keys()), []

    async def read() -> access.Standing:
        reads.append(1)
        await asyncio.sleep(0.01)
        return access.Standing("user", False, 1)

    user = "6b10e1ac41c6e2564ecb0354"
    standings = await asyncio.gather(*(cache.refresh(user, read) for _ in range(20)))
    assert standings == [access.Standing("user", False, 1)] * 20
    assert len(reads) == 1
    assert cache.standing(user) == (True, access.Standing("user", False, 1))


async def test_a_request_after_the_account_changed_does_not_join_an_earlier_read() -> None:
    cache, user = access.AccessCache(keys()), "6b10e1ac41c6e2564ecb0354"
    versions = iter([1, 2])
    started = asyncio.Event()

    async def read() -> access.Standing:
        version = next(versions)
        started.set()
        await asyncio.sleep(0.05)
        return access.Standing("user", False, version)

    before = asyncio.ensure_future(cache.refresh(user, read))
    await started.wait()
    cache.forget(user)  # a logout commits while the first read is under way
    assert await cache.refresh(user, read) == access.Standing("user", False, 2)
    assert await before == access.Standing("user", False, 1)  # the request that began before it
    assert cache.standing(user) == (True, access.Standing("user", False, 2))


async def test_a_failed_read_fails_its_waiters_and_the_next_request_reads_again() -> None:
    cache, user = access.AccessCache(keys()), "6b10e1ac41c6e2564ecb0354"
    outcomes: list[Exception | access.Standing] = [ConnectionError("store down"), access.Standing("user", False, 1)]

    async def read() -> access.Standing:
        await asyncio.sleep(0.01)
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    results = await asyncio.gather(cache.refresh(user, read), cache.refresh(user, read), return_exceptions=True)
    assert [type(r) for r in results] == [ConnectionError, ConnectionError]
    assert cache.standing(user) == (False, None)
    assert await cache.refresh(user, read) == access.Standing("user", False, 1)


async def test_a_request_that_goes_away_leaves_the_read_to_the_others() -> None:
    cache, user = access.AccessCache(keys()), "6b10e1ac41c6e2564ecb0354"

    async def read() -> access.Standing:
        await asyncio.sleep(0.05)
        return access.Standing("user", False, 1)

    first = asyncio.ensure_future(cache.refresh(user, read))
    second = asyncio.ensure_future(cache.refresh(user, read))
    await asyncio.sleep(0.01)
    first.cancel()
    assert await second == access.Standing("user", False, 1)
    assert first.cancelled()


def test_a_disabled_or_missing_account_and_an_older_session_are_refused() -> None:
    claims = tokens.AccessClaims("6b10e1ac41c6e2564ecb0354", "user", int(time.time()) + 60, session_version=1)
    assert access.check(claims, access.Standing("user", False, 1)).role == "user"
    with pytest.raises(tokens.InvalidToken):
        access.check(claims, None)
    with pytest.raises(tokens.InvalidToken):
        access.check(claims, access.Standing("user", True, 1))
    with pytest.raises(access.SessionEnded):
        access.check(claims, access.Standing("user", False, 2))
