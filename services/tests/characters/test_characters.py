"""Characters over HTTP: create, read, list, search, change, delete, limits, and owner scoping."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from storybang.runtime import Runtime
from storybang.stores import ids
from tests.characters.pictures import png
from tests.conftest import Account, SignUp

API = "/api/v1/characters"


async def make(client: httpx.AsyncClient, account: Account, **fields: Any) -> dict[str, Any]:
    r = await client.post(API, json={"name": "Nemo", **fields}, headers=account.headers)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_a_created_character_reads_back(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    created = await make(
        client,
        me,
        name="  Captain Nemo ",
        description="Commands the Nautilus.",
        tags=["sea", "captain", "Sea"],
        card={"personality": "brooding", "first_mes": "Welcome aboard.", "extensions": {"x.y": {"$z": 1}}},
    )
    assert created["name"] == "Captain Nemo"
    assert created["tags"] == ["sea", "captain"]
    assert created["card"]["personality"] == "brooding"
    assert created["card"]["extensions"] == {"x.y": {"$z": 1}}
    assert created["photo_id"] is None and created["portrait_id"] is None and created["photo_description"] is None
    assert ids.is_valid(created["id"])
    r = await client.get(f"{API}/{created['id']}", headers=me.headers)
    assert r.status_code == 200
    assert r.json() == created


async def test_listing_pages_newest_first(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    names = [f"Character {i}" for i in range(5)]
    for name in names:
        await make(client, me, name=name)
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        r = await client.get(API, params=params, headers=me.headers)
        assert r.status_code == 200
        page = r.json()
        assert len(page["items"]) <= 2
        seen += [c["name"] for c in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == names[::-1]


async def test_q_finds_names_case_insensitively(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    for name in ("Captain Nemo", "Nemesis", "Alice", "50% Dragon"):
        await make(client, me, name=name)
    r = await client.get(API, params={"q": "NEM"}, headers=me.headers)
    assert [c["name"] for c in r.json()["items"]] == ["Nemesis", "Captain Nemo"]
    r = await client.get(API, params={"q": "0%"}, headers=me.headers)
    assert [c["name"] for c in r.json()["items"]] == ["50% Dragon"]
    r = await client.get(API, params={"q": "zzz"}, headers=me.headers)
    assert r.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "n" * 101}, "name"),
        ({"name": "ok", "description": "d" * 5001}, "description"),
        ({"name": "ok", "tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"name": "ok", "tags": ["fine", "t" * 41]}, "tags.1"),
        ({"name": "ok", "card": {"personality": "p" * 20_001}}, "card.personality"),
        ({"name": "ok", "card": {"alternate_greetings": ["hi"] * 51}}, "card.alternate_greetings"),
        ({"name": "ok", "card": {"creator_notes_multilingual": {"e.n": "x"}}}, "card.creator_notes_multilingual.e.n"),
        ({"description": "no name"}, "name"),
    ],
)
async def test_field_limits_are_422_naming_the_field(
    client: httpx.AsyncClient, signup: SignUp, body: dict[str, Any], field: str
) -> None:
    me = await signup()
    r = await client.post(API, json=body, headers=me.headers)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"].startswith(field)


async def test_limits_at_their_edge_are_accepted(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    created = await make(
        client, me, name="n" * 100, description="d" * 5000, tags=[f"{i:02d}" + "t" * 38 for i in range(20)]
    )
    assert len(created["tags"]) == 20


async def test_patch_changes_only_what_is_given(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    created = await make(client, me, description="old", tags=["a"], card={"personality": "calm", "scenario": "at sea"})
    url = f"{API}/{created['id']}"
    r = await client.patch(url, json={"description": "new", "card": {"personality": "stormy"}}, headers=me.headers)
    assert r.status_code == 200
    changed = r.json()
    assert changed["description"] == "new"
    assert changed["name"] == "Nemo" and changed["tags"] == ["a"]
    assert changed["card"]["personality"] == "stormy"
    assert changed["card"]["scenario"] == "at sea"
    assert changed["updated_at"] > created["updated_at"]
    assert (await client.get(url, headers=me.headers)).json() == changed
    r = await client.patch(url, json={"name": "n" * 101}, headers=me.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "name"
    assert (await client.patch(url, json={}, headers=me.headers)).json() == changed


async def test_delete_removes_the_character_and_its_images(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    me = await signup()
    created = await make(client, me)
    url = f"{API}/{created['id']}"
    r = await client.put(f"{url}/photo", files={"file": ("p.png", png(), "image/png")}, headers=me.headers)
    photo_id = r.json()["photo_id"]
    assert await runtime.blobs.get(photo_id, owner_id=me.id) is not None
    assert (await client.delete(url, headers=me.headers)).status_code == 204
    assert (await client.get(url, headers=me.headers)).status_code == 404
    assert (await client.delete(url, headers=me.headers)).status_code == 404
    assert await runtime.blobs.get(photo_id, owner_id=me.id) is None


async def test_another_users_character_is_not_found_on_every_route(client: httpx.AsyncClient, signup: SignUp) -> None:
    owner, stranger = await signup(), await signup()
    created = await make(client, owner, name="Private")
    url = f"{API}/{created['id']}"
    r = await client.put(f"{url}/photo", files={"file": ("p.png", png(), "image/png")}, headers=owner.headers)
    photo_id = r.json()["photo_id"]
    attempts = [
        client.get(url, headers=stranger.headers),
        client.patch(url, json={"name": "Mine now"}, headers=stranger.headers),
        client.put(f"{url}/photo", files={"file": ("p.png", png(), "image/png")}, headers=stranger.headers),
        client.get(f"{url}/photo", headers=stranger.headers),
        client.get(f"{url}/portrait", headers=stranger.headers),
        client.get(f"{url}/card", headers=stranger.headers),
        client.get(f"{url}/card", params={"format": "png", "version": "2"}, headers=stranger.headers),
        client.delete(url, headers=stranger.headers),
    ]
    for attempt in attempts:
        r = await attempt
        assert r.status_code == 404, (r.request.method, r.request.url, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    listed = await client.get(API, params={"q": "Private"}, headers=stranger.headers)
    assert listed.json()["items"] == []
    mine = (await client.get(url, headers=owner.headers)).json()
    assert mine["name"] == "Private" and mine["photo_id"] == photo_id
    assert (await client.get(f"{url}/photo", headers=owner.headers)).status_code == 200


async def test_unknown_and_malformed_ids_are_not_found(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    for character_id in (ids.new_id(), "nope", "A" * 24):
        assert (await client.get(f"{API}/{character_id}", headers=me.headers)).status_code == 404


async def test_a_cursor_that_was_not_issued_is_422(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    r = await client.get(API, params={"cursor": "garbage"}, headers=me.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"
    r = await client.get(API, params={"limit": 101}, headers=me.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "limit"


async def test_characters_need_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.get(API)).status_code == 401
    assert (await client.post(API, json={"name": "x"})).status_code == 401
    assert (await client.get(f"{API}/{ids.new_id()}/photo")).status_code == 401


async def test_every_write_through_the_api_is_announced_to_the_owner(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    """character.updated goes out on the event bus for an API edit, not only for a worker's."""
    me, other = await signup(), await signup()
    created = await make(client, me)
    r = await client.patch(f"{API}/{created['id']}", json={"name": "Ned"}, headers=me.headers)
    assert r.status_code == 200
    r = await client.delete(f"{API}/{created['id']}", headers=me.headers)
    assert r.status_code == 204
    announced = [(e.name, dict(e.data)) for e in (await runtime.events.replay(me.id, "0-0")).events]
    assert announced == [
        ("character.updated", {"id": created["id"]}),
        ("character.updated", {"id": created["id"]}),
        ("character.updated", {"id": created["id"], "deleted": True}),
    ]
    assert (await runtime.events.replay(other.id, "0-0")).events == []
