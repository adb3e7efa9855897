"""The refresh grace: racing refreshes of one client all get the same new pair; a reuse after the
grace still revokes the family. On MariaDB and on the embedded SQLite store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from storybang import migrations
from storybang.identity.models import RefreshToken
from storybang.identity.rotation import replay
from storybang.settings import Settings
from tests.conftest import make_settings, sign_up
from tests.identity.conftest import graced

REFRESH, ME = "/api/v1/auth/refresh", "/api/v1/users/me"
# Long enough for a loaded test machine; the reuse-after-grace test waits out its own short one.
GRACE = 10


@pytest.fixture(params=["mariadb", "sqlite"])
async def settings(request: pytest.FixtureRequest, real_settings: Settings, tmp_path: Path) -> Settings:
    if request.param == "mariadb":
        return real_settings
    # graced() keeps its data in tmp_path too: the same SQLite file.
    embedded = make_settings(tmp_path, env="dev")
    await migrations.upgrade(embedded.sql_url)
    return embedded


@pytest.fixture
async def client(settings: Settings, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with graced(settings, tmp_path, GRACE) as c:
        yield c


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": token})


async def me(client: httpx.AsyncClient, token: str) -> int:
    return (await client.get(ME, headers={"Authorization": f"Bearer {token}"})).status_code


async def test_two_parallel_refreshes_both_succeed_with_the_same_pair(client: httpx.AsyncClient) -> None:
    account = await sign_up(client)
    first, second = await asyncio.gather(refresh(client, account.refresh_token), refresh(client, account.refresh_token))
    assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
    assert first.json() == second.json()
    assert first.headers["cache-control"] == second.headers["cache-control"] == "no-store"
    pair = first.json()
    assert pair["refresh_token"] != account.refresh_token
    assert await me(client, pair["access_token"]) == 200
    # The shared new refresh token is a normal one: it rotates once more.
    assert (await refresh(client, pair["refresh_token"])).status_code == 200


async def test_twenty_parallel_refreshes_rotate_once_and_all_get_its_pair(client: httpx.AsyncClient) -> None:
    account = await sign_up(client)
    answers = await asyncio.gather(*(refresh(client, account.refresh_token) for _ in range(20)))
    assert {r.status_code for r in answers} == {200}
    assert len({r.json()["refresh_token"] for r in answers}) == 1
    assert len({r.json()["access_token"] for r in answers}) == 1
    assert await me(client, answers[0].json()["access_token"]) == 200


async def test_a_late_retry_within_the_grace_gets_the_same_pair(client: httpx.AsyncClient) -> None:
    account = await sign_up(client)
    rotated = (await refresh(client, account.refresh_token)).json()
    again = await refresh(client, account.refresh_token)  # a retry whose first answer was lost
    assert again.status_code == 200 and again.json() == rotated
    assert await me(client, rotated["access_token"]) == 200


async def test_reuse_after_the_grace_revokes_the_family(settings: Settings, tmp_path: Path) -> None:
    async with graced(settings, tmp_path, 1) as client:
        account = await sign_up(client)
        rotated = (await refresh(client, account.refresh_token)).json()
        # Rotation times are kept in whole seconds: 2.5 s is past a 1 s grace whatever the rounding.
        await asyncio.sleep(2.5)
        assert (await refresh(client, account.refresh_token)).status_code == 401
        assert (await refresh(client, rotated["refresh_token"])).status_code == 401
        assert await me(client, rotated["access_token"]) == 401


async def test_no_grace_after_a_logout(client: httpx.AsyncClient) -> None:
    account = await sign_up(client)
    rotated = (await refresh(client, account.refresh_token)).json()
    assert (
        await client.post("/api/v1/auth/logout", json={"refresh_token": rotated["refresh_token"]})
    ).status_code == 204
    assert (await refresh(client, account.refresh_token)).status_code == 401


async def test_the_database_keeps_no_usable_token(settings: Settings, client: httpx.AsyncClient) -> None:
    """The pair kept for the grace is sealed with the old token: the row alone opens nothing."""
    account = await sign_up(client)
    rotated = (await refresh(client, account.refresh_token)).json()
    from storybang.stores import sql

    engine = sql.create_engine(settings.sql_url)
    try:
        async with sql.sessionmaker(engine)() as session:
            rows = (await session.execute(sa.select(RefreshToken).where(RefreshToken.user_id == account.id))).scalars()
            sealed = [row for row in rows if row.successor is not None]
    finally:
        await engine.dispose()
    assert len(sealed) == 1
    row = sealed[0]
    assert row.successor is not None
    for token in (rotated["access_token"], rotated["refresh_token"]):
        assert token.encode() not in row.successor
    assert row.used_at is not None
    assert replay(row, "not the old token", row.used_at, GRACE) is None
    assert replay(row, account.refresh_token, row.used_at, GRACE) is not None
