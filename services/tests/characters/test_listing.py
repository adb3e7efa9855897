"""The list of characters is made of each character's kept JSON (storybang.stores.documents.View):
it must show every character exactly as reading it alone does, after every kind of change, on the
embedded stores and on the real ones."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from storybang.characters.models import CharactersPublic
from storybang.runtime import Runtime
from tests.characters.pictures import png
from tests.conftest import app_for, client_for, sign_up

API = "/api/v1/characters"


# A plain fixture picks the stores, so that their async fixtures are set up by pytest-asyncio.
@pytest.fixture(params=["embedded", "real"])
def any_app(request: pytest.FixtureRequest) -> FastAPI:
    if request.param == "real":
        app: FastAPI = request.getfixturevalue("app")
        return app
    runtime: Runtime = request.getfixturevalue("embedded_runtime")
    return app_for(runtime)


@pytest.fixture
async def any_client(any_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(any_app) as client:
        yield client


async def listed(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    r = await client.get(API, headers=headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    page: dict[str, Any] = r.json()
    CharactersPublic.model_validate(page)  # the documented response model, field for field
    return page


async def test_the_list_shows_each_character_as_its_own_read_does_after_every_change(
    any_client: httpx.AsyncClient,
) -> None:
    client = any_client
    me = await sign_up(client)
    others = await sign_up(client)
    created = []
    for name in ("Ada", "Zoë 🦊"):
        r = await client.post(API, json={"name": name, "card": {"extensions": {"a.b": {"$c": 1}}}}, headers=me.headers)
        assert r.status_code == 201, r.text
        created.append(r.json())
    await client.post(API, json={"name": "Not mine"}, headers=others.headers)

    async def each_as_read() -> list[dict[str, Any]]:
        return [(await client.get(f"{API}/{c['id']}", headers=me.headers)).json() for c in created[::-1]]

    assert (await listed(client, me.headers))["items"] == await each_as_read()
    r = await client.patch(f"{API}/{created[0]['id']}", json={"card": {"personality": "bold"}}, headers=me.headers)
    assert r.status_code == 200, r.text
    assert (await listed(client, me.headers))["items"] == await each_as_read()
    r = await client.put(
        f"{API}/{created[1]['id']}/photo", files={"file": ("p.png", png(), "image/png")}, headers=me.headers
    )
    assert r.status_code == 200, r.text
    page = await listed(client, me.headers)
    assert page["items"] == await each_as_read()
    assert page["items"][0]["photo_id"] is not None and page["items"][1]["card"]["personality"] == "bold"
    assert page["next_cursor"] is None
    assert (await client.delete(f"{API}/{created[0]['id']}", headers=me.headers)).status_code == 204
    assert [c["id"] for c in (await listed(client, me.headers))["items"]] == [created[1]["id"]]
