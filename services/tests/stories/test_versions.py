"""Story versions: every change keeps the content it replaces; any kept version can be restored."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from storybang.runtime import Runtime
from storybang.stores import ids
from storybang.stories import service, versions
from storybang.stories.models import StoryCreate, StoryUpdate
from tests.conftest import SignUp

API = "/api/v1/stories"


async def test_each_change_keeps_the_previous_version(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    body = {"title": "Draft", "audience": "children", "character_ids": [], "paragraphs": [{"text": "One."}]}
    created = (await client.post(API, json=body, headers=me.headers)).json()
    url = f"{API}/{created['id']}"
    assert (await client.get(f"{url}/versions", headers=me.headers)).json() == {"items": [], "next_cursor": None}

    await client.patch(url, json={"title": "Second"}, headers=me.headers)
    third = (await client.patch(url, json={"paragraphs": [{"text": "Uno."}]}, headers=me.headers)).json()
    assert third["version"] == 3

    versions = (await client.get(f"{url}/versions", headers=me.headers)).json()
    assert [(v["number"], v["title"]) for v in versions["items"]] == [(2, "Second"), (1, "Draft")]
    assert versions["items"][1]["created_at"] == created["created_at"]
    first = (await client.get(f"{url}/versions/1", headers=me.headers)).json()
    assert (first["title"], first["paragraphs"]) == ("Draft", [{"text": "One.", "image_id": None}])
    assert (await client.get(f"{url}/versions/3", headers=me.headers)).status_code == 404  # current: the story
    assert (await client.get(f"{url}/versions/0", headers=me.headers)).status_code == 422


async def test_restoring_a_version_is_itself_a_new_version(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    body = {"title": "Draft", "audience": "children", "character_ids": [], "paragraphs": [{"text": "One."}]}
    created = (await client.post(API, json=body, headers=me.headers)).json()
    url = f"{API}/{created['id']}"
    await client.patch(url, json={"title": "Rewritten", "audience": "general"}, headers=me.headers)

    r = await client.post(f"{url}/versions/1/restore", headers=me.headers)
    assert r.status_code == 200
    restored = r.json()
    assert (restored["title"], restored["audience"], restored["version"]) == ("Draft", "children", 3)
    assert restored["paragraphs"] == created["paragraphs"]
    versions = (await client.get(f"{url}/versions", headers=me.headers)).json()["items"]
    assert [(v["number"], v["title"]) for v in versions] == [(2, "Rewritten"), (1, "Draft")]
    assert (await client.post(f"{url}/versions/9/restore", headers=me.headers)).status_code == 404


async def test_versions_page_newest_first(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    body = {"title": "v1", "audience": "young", "character_ids": []}
    url = f"{API}/{(await client.post(API, json=body, headers=me.headers)).json()['id']}"
    for n in range(2, 7):
        await client.patch(url, json={"title": f"v{n}"}, headers=me.headers)
    numbers: list[int] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = (await client.get(f"{url}/versions", params=params, headers=me.headers)).json()
        numbers += [v["number"] for v in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert numbers == [5, 4, 3, 2, 1]


async def test_concurrent_changes_are_all_kept(embedded_runtime: Runtime) -> None:
    # On the embedded stores: FerretDB v1 (the MongoDB of the tests) does not make a conditional
    # update atomic (FerretDB/FerretDB#3040), MongoDB does; see the store contract suite.
    runtime, owner = embedded_runtime, ids.new_id()
    created = await service.create(runtime, owner, StoryCreate(title="v1", audience="general", character_ids=[]))
    titles = [f"edit {i}" for i in range(6)]
    await asyncio.gather(*(service.update(runtime, owner, created.id, StoryUpdate(title=t)) for t in titles))
    final = await service.get(runtime, owner, created.id)
    assert final.version == 7
    kept = (await versions.list_versions(runtime, owner, created.id, limit=100)).items
    assert sorted(v.number for v in kept) == [1, 2, 3, 4, 5, 6]
    assert sorted([v.title for v in kept] + [final.title]) == sorted(["v1", *titles])
