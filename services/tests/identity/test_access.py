"""Every request checks its caller: a verified token of an enabled account whose session has not
ended. The checks are kept per process (storybang.security.access) without letting a forged,
expired, logged-out or disabled caller through."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from joserfc.jwk import OKPKey

from storybang.runtime import Runtime
from storybang.security import access, tokens
from storybang.settings import AuthSettings
from tests.conftest import SIGNING_KEY, Account, SignUp, app_for, client_for

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


def test_a_disabled_or_missing_account_and_an_older_session_are_refused() -> None:
    claims = tokens.AccessClaims("6b10e1ac41c6e2564ecb0354", "user", int(time.time()) + 60, session_version=1)
    assert access.check(claims, access.Standing("user", False, 1)).role == "user"
    with pytest.raises(tokens.InvalidToken):
        access.check(claims, None)
    with pytest.raises(tokens.InvalidToken):
        access.check(claims, access.Standing("user", True, 1))
    with pytest.raises(access.SessionEnded):
        access.check(claims, access.Standing("user", False, 2))
