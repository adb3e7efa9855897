"""Stories over HTTP: create, read, list, search, change, delete, limits, and owner scoping."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from storybang.runtime import Runtime
from storybang.stores import ids
from tests.characters.pictures import png
from tests.conftest import Account, SignUp

API = "/api/v1/stories"


async def character(client: httpx.AsyncClient, account: Account, name: str = "Nemo") -> str:
    r = await client.post("/api/v1/characters", json={"name": name}, headers=account.headers)
    assert r.status_code == 201
    character_id: str = r.json()["id"]
    return character_id


async def story(client: httpx.AsyncClient, account: Account, **fields: Any) -> dict[str, Any]:
    body = {"title": "The Deep", "audience": "children", "character_ids": [], **fields}
    r = await client.post(API, json=body, headers=account.headers)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def test_a_created_story_reads_back(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    nemo = await character(client, me)
    created = await story(
        client,
        me,
        title=" Twenty Thousand Leagues ",
        audience="young",
        character_ids=[nemo, nemo],
        paragraphs=[{"text": "The sea was calm."}, {"text": "Then came the monster."}],
        language="en",
        genre="adventure",
        values=["courage", "curiosity"],
    )
    assert created["title"] == "Twenty Thousand Leagues"
    assert created["character_ids"] == [nemo]
    assert created["paragraphs"] == [
        {"text": "The sea was calm.", "image_id": None},
        {"text": "Then came the monster.", "image_id": None},
    ]
    assert created["translations"] == {}
    assert created["version"] == 1
    assert (created["language"], created["genre"], created["values"]) == ("en", "adventure", ["courage", "curiosity"])
    r = await client.get(f"{API}/{created['id']}", headers=me.headers)
    assert r.status_code == 200 and r.json() == created


async def test_character_ids_must_be_the_callers_own(client: httpx.AsyncClient, signup: SignUp) -> None:
    me, other = await signup(), await signup()
    mine, theirs = await character(client, me), await character(client, other)
    for character_ids in ([theirs], [mine, theirs], [ids.new_id()]):
        body = {"title": "t", "audience": "general", "character_ids": character_ids}
        r = await client.post(API, json=body, headers=me.headers)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "character_ids"
    created = await story(client, me, character_ids=[mine])
    r = await client.patch(f"{API}/{created['id']}", json={"character_ids": [theirs]}, headers=me.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "character_ids"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"audience": "adults"}, "audience"),
        ({"character_ids": "abc"}, "character_ids"),
        ({"character_ids": ["not-an-id"]}, "character_ids.0"),
        ({"character_ids": [ids.new_id() for _ in range(21)]}, "character_ids"),
        ({"paragraphs": [{"text": "ok"}, {"text": "p" * 5001}]}, "paragraphs.1.text"),
        ({"paragraphs": [{"text": "   "}]}, "paragraphs.0.text"),
        ({"paragraphs": [{"text": "ok", "image_id": "../x"}]}, "paragraphs.0.image_id"),
        ({"paragraphs": [{"text": "x"}] * 201}, "paragraphs"),
        ({"language": "English!"}, "language"),
        ({"genre": "g" * 51}, "genre"),
        ({"values": ["v"] * 11}, "values"),
        ({"values": ["v" * 41]}, "values.0"),
    ],
)
async def test_field_limits_are_422_naming_the_field(
    client: httpx.AsyncClient, signup: SignUp, change: dict[str, Any], field: str
) -> None:
    me = await signup()
    body = {"title": "t", "audience": "general", "character_ids": [], **change}
    r = await client.post(API, json=body, headers=me.headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == field


async def test_required_fields_are_named(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    r = await client.post(API, json={"title": "t"}, headers=me.headers)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"audience", "character_ids"}


async def test_listing_pages_newest_first_and_leaves_out_the_text(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    titles = [f"Story {i}" for i in range(5)]
    for title in titles:
        await story(client, me, title=title, paragraphs=[{"text": "Once upon a time."}])
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = (await client.get(API, params=params, headers=me.headers)).json()
        seen += [s["title"] for s in page["items"]]
        assert all("paragraphs" not in s and "translations" not in s for s in page["items"])
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == titles[::-1]


async def test_q_finds_titles_case_insensitively(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    for title in ("The Dragon's Egg", "Dragonfly", "A Quiet Night"):
        await story(client, me, title=title)
    r = await client.get(API, params={"q": "DRAGON"}, headers=me.headers)
    assert [s["title"] for s in r.json()["items"]] == ["Dragonfly", "The Dragon's Egg"]
    r = await client.get(API, params={"q": "'s e"}, headers=me.headers)
    assert [s["title"] for s in r.json()["items"]] == ["The Dragon's Egg"]


async def test_patch_changes_only_what_is_given(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    created = await story(client, me, paragraphs=[{"text": "One."}], genre="fable")
    r = await client.patch(f"{API}/{created['id']}", json={"title": "Renamed", "genre": None}, headers=me.headers)
    assert r.status_code == 200
    changed = r.json()
    assert changed["title"] == "Renamed"
    assert (changed["genre"], changed["audience"]) == ("fable", "children")
    assert changed["paragraphs"] == created["paragraphs"]
    assert changed["version"] == 2
    r = await client.patch(f"{API}/{created['id']}", json={"audience": "adults"}, headers=me.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "audience"


async def test_paragraph_images_must_be_the_callers_and_are_served(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    me, other = await signup(), await signup()
    mine = await runtime.blobs.put(png(), owner_id=me.id, content_type="image/png")
    theirs = await runtime.blobs.put(png(), owner_id=other.id, content_type="image/png")
    body = {"title": "t", "audience": "children", "character_ids": []}
    r = await client.post(
        API, json={**body, "paragraphs": [{"text": "a"}, {"text": "b", "image_id": theirs}]}, headers=me.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "paragraphs.1.image_id"
    created = await story(client, me, paragraphs=[{"text": "a", "image_id": mine}])
    own = created["paragraphs"][0]["image_id"]
    assert own != mine  # the story keeps its own copy of an image it did not make
    r = await client.get(f"{API}/{created['id']}/images/{own}", headers=me.headers)
    assert r.status_code == 200 and r.content == png() and r.headers["content-type"] == "image/png"
    assert (await client.get(f"{API}/{created['id']}/images/{theirs}", headers=me.headers)).status_code == 404


async def test_delete_removes_the_story_its_versions_and_images(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    me = await signup()
    image_id = await runtime.blobs.put(png(), owner_id=me.id, content_type="image/png")
    created = await story(client, me, paragraphs=[{"text": "a", "image_id": image_id}])
    own = created["paragraphs"][0]["image_id"]
    url = f"{API}/{created['id']}"
    await client.patch(url, json={"title": "v2"}, headers=me.headers)
    assert await runtime.documents.count("story_versions", owner_id=me.id, where={"story_id": created["id"]}) == 1
    assert (await client.delete(url, headers=me.headers)).status_code == 204
    assert (await client.get(url, headers=me.headers)).status_code == 404
    assert (await client.get(f"{url}/versions/1", headers=me.headers)).status_code == 404
    assert await runtime.documents.count("story_versions", owner_id=me.id, where={"story_id": created["id"]}) == 0
    assert await runtime.blobs.get(own, owner_id=me.id) is None
    assert await runtime.blobs.get(image_id, owner_id=me.id) is not None  # not the story's: it stays


async def test_another_users_story_is_not_found_on_every_route(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    owner, stranger = await signup(), await signup()
    image_id = await runtime.blobs.put(png(), owner_id=owner.id, content_type="image/png")
    created = await story(client, owner, title="Private", paragraphs=[{"text": "a", "image_id": image_id}])
    url = f"{API}/{created['id']}"
    await client.patch(url, json={"title": "Private v2"}, headers=owner.headers)
    attempts = [
        client.get(url, headers=stranger.headers),
        client.patch(url, json={"title": "Mine now"}, headers=stranger.headers),
        client.get(f"{url}/versions", headers=stranger.headers),
        client.get(f"{url}/versions/1", headers=stranger.headers),
        client.post(f"{url}/versions/1/restore", headers=stranger.headers),
        client.get(f"{url}/images/{image_id}", headers=stranger.headers),
        client.delete(url, headers=stranger.headers),
    ]
    for attempt in attempts:
        r = await attempt
        assert r.status_code == 404, (r.request.method, r.request.url, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(API, params={"q": "Private"}, headers=stranger.headers)).json()["items"] == []
    mine = (await client.get(url, headers=owner.headers)).json()
    assert (mine["title"], mine["version"]) == ("Private v2", 2)


async def test_unknown_ids_and_bad_cursors(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    for story_id in (ids.new_id(), "nope"):
        assert (await client.get(f"{API}/{story_id}", headers=me.headers)).status_code == 404
    r = await client.get(API, params={"cursor": "nope"}, headers=me.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"
    assert (await client.get(API)).status_code == 401


async def test_every_write_through_the_api_is_announced_to_the_owner(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    """story.updated goes out on the event bus for an API edit, not only for a worker's."""
    me, other = await signup(), await signup()
    created = await story(client, me, paragraphs=[{"text": "One."}])
    r = await client.patch(f"{API}/{created['id']}", json={"title": "Renamed"}, headers=me.headers)
    assert r.status_code == 200
    r = await client.post(f"{API}/{created['id']}/versions/1/restore", headers=me.headers)
    assert r.status_code == 200, r.text
    r = await client.delete(f"{API}/{created['id']}", headers=me.headers)
    assert r.status_code == 204
    announced = [(e.name, dict(e.data)) for e in (await runtime.events.replay(me.id, "0-0")).events]
    assert announced == [
        ("story.updated", {"id": created["id"]}),
        ("story.updated", {"id": created["id"]}),
        ("story.updated", {"id": created["id"]}),
        ("story.updated", {"id": created["id"], "deleted": True}),
    ]
    assert (await runtime.events.replay(other.id, "0-0")).events == []
