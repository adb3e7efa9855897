"""Each process keeps the pages of characters it made until their owner's next write
(storybang.stores.pages). A kept page must never hide a write that was answered, whichever process
answered it: two pods on Redis, or `storybang dev`'s API and its workers on the embedded counters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from storybang import migrations
from storybang.characters import service
from storybang.runtime import Runtime
from storybang.settings import Settings
from storybang.stores import ids
from storybang.stores.counters import MemoryCounters
from tests.conftest import app_for, client_for, make_settings, sign_up

API = "/api/v1/characters"


# A plain fixture picks the stores, so that their async fixtures are set up by pytest-asyncio.
@pytest.fixture(params=["redis", "embedded"])
def pod_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "redis":
        settings: Settings = request.getfixturevalue("real_settings")
        return settings
    return make_settings(tmp_path, env="dev")


@pytest.fixture
async def pods(pod_settings: Settings) -> AsyncIterator[tuple[Runtime, Runtime]]:
    """Two runtimes on the same stores and counters: two pods of a cluster (MySQL, FerretDB,
    Redis), or the API and the workers of `storybang dev` (SQLite, counters in memory)."""
    if pod_settings.redis.url:
        one, two = await Runtime.open(pod_settings), await Runtime.open(pod_settings)
    else:
        await migrations.upgrade(pod_settings.sql_url)
        counters = MemoryCounters()  # shared, as `storybang dev` shares it with its workers
        one = await Runtime.open(pod_settings, counters=counters)
        two = await Runtime.open(pod_settings, counters=counters)
    yield one, two
    await one.close()
    await two.close()


async def names(client: httpx.AsyncClient, headers: dict[str, str], **params: str | int) -> list[str]:
    r = await client.get(API, headers=headers, params=params)
    assert r.status_code == 200, r.text
    return [c["name"] for c in r.json()["items"]]


async def test_every_write_answered_by_one_pod_is_in_the_next_list_of_another(pods: tuple[Runtime, Runtime]) -> None:
    one, two = pods
    async with client_for(app_for(one)) as a, client_for(app_for(two)) as b:
        me = await sign_up(a)
        ada = (await a.post(API, json={"name": "Ada"}, headers=me.headers)).json()
        assert await names(b, me.headers) == ["Ada"]
        assert await names(b, me.headers) == ["Ada"]  # now kept by the second pod
        bo = (await a.post(API, json={"name": "Bo"}, headers=me.headers)).json()
        assert await names(b, me.headers) == ["Bo", "Ada"]
        r = await a.patch(f"{API}/{ada['id']}", json={"name": "Ada Lovelace"}, headers=me.headers)
        assert r.status_code == 200, r.text
        assert await names(b, me.headers) == ["Bo", "Ada Lovelace"]
        # A worker's write (the description of a photo) goes through the same service.
        await service.set_description(one, me.id, ada["id"], "Dark hair, a lace collar.")
        listed = (await b.get(API, headers=me.headers)).json()["items"]
        assert listed[1]["photo_description"] == "Dark hair, a lace collar."
        assert (await a.delete(f"{API}/{bo['id']}", headers=me.headers)).status_code == 204
        assert await names(b, me.headers) == ["Ada Lovelace"]
        await service.delete_owner(one, me.id)  # account deletion
        assert await names(b, me.headers) == []


async def test_the_list_is_answered_from_the_kept_page_until_the_owner_writes(pods: tuple[Runtime, Runtime]) -> None:
    one, _ = pods
    async with client_for(app_for(one)) as a:
        me = await sign_up(a)
        ada = (await a.post(API, json={"name": "Ada"}, headers=me.headers)).json()
        assert await names(a, me.headers) == ["Ada"]
        # A document put in the store behind the service's back: no write marked the page out of
        # date, so the kept page is answered, which shows it was not read again.
        doc = await one.documents.get(service.COLLECTION, ada["id"], owner_id=me.id)
        assert doc is not None
        await one.documents.insert(service.COLLECTION, {**doc, "id": ids.new_id(), "name": "Unseen"})
        assert await names(a, me.headers) == ["Ada"]
        # Another page, and a search (never kept), are read from the store.
        assert await names(a, me.headers, limit=5) == ["Unseen", "Ada"]
        assert await names(a, me.headers, q="seen") == ["Unseen"]
        await a.post(API, json={"name": "Bo"}, headers=me.headers)
        assert await names(a, me.headers) == ["Bo", "Unseen", "Ada"]


async def test_one_writers_changes_leave_another_writers_kept_page(pods: tuple[Runtime, Runtime]) -> None:
    one, _ = pods
    async with client_for(app_for(one)) as a:
        me, other = await sign_up(a), await sign_up(a)
        ada = (await a.post(API, json={"name": "Ada"}, headers=me.headers)).json()
        assert await names(a, me.headers) == ["Ada"]
        doc = await one.documents.get(service.COLLECTION, ada["id"], owner_id=me.id)
        assert doc is not None
        await one.documents.insert(service.COLLECTION, {**doc, "id": ids.new_id(), "name": "Unseen"})
        await a.post(API, json={"name": "Theirs"}, headers=other.headers)
        assert await names(a, me.headers) == ["Ada"]
        assert await names(a, other.headers) == ["Theirs"]
