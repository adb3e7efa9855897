"""Concurrent edits: every read of a story carries an ETag, and a write with a stale If-Match is
refused with 412 and the current ETag instead of silently overwriting what someone else wrote."""

from __future__ import annotations

import httpx

from tests.conftest import SignUp
from tests.stories.test_stories import API, story


async def test_a_story_read_carries_its_etag(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    created = await story(client, me, paragraphs=[{"text": "One."}])
    r = await client.get(f"{API}/{created['id']}", headers=me.headers)
    assert r.status_code == 200
    assert r.headers["etag"] == f'"{r.json()["revision"]}"'


async def test_a_write_on_the_current_etag_succeeds_and_moves_it(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    created = await story(client, me, paragraphs=[{"text": "One."}])
    etag = (await client.get(f"{API}/{created['id']}", headers=me.headers)).headers["etag"]
    body = {"paragraphs": [{"text": "Two."}]}
    r = await client.patch(f"{API}/{created['id']}", json=body, headers=me.headers | {"If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.headers["etag"] != etag
    assert r.headers["etag"] == f'"{r.json()["revision"]}"'


async def test_a_write_on_a_stale_etag_is_refused_with_the_current_one(
    client: httpx.AsyncClient, signup: SignUp
) -> None:
    me = await signup()
    created = await story(client, me, paragraphs=[{"text": "One."}])
    laptop = (await client.get(f"{API}/{created['id']}", headers=me.headers)).headers["etag"]
    phone = await client.patch(
        f"{API}/{created['id']}", json={"paragraphs": [{"text": "From the phone."}]}, headers=me.headers
    )
    assert phone.status_code == 200
    r = await client.patch(
        f"{API}/{created['id']}",
        json={"paragraphs": [{"text": "From the laptop."}]},
        headers=me.headers | {"If-Match": laptop},
    )
    assert r.status_code == 412
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["etag"] == phone.headers["etag"]
    assert r.json()["errors"][0]["field"] == "If-Match"
    current = (await client.get(f"{API}/{created['id']}", headers=me.headers)).json()
    assert current["paragraphs"][0]["text"] == "From the phone."


async def test_a_weak_or_odd_if_match_is_understood_or_refused(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    created = await story(client, me, paragraphs=[{"text": "One."}])
    etag = (await client.get(f"{API}/{created['id']}", headers=me.headers)).headers["etag"]
    url, body = f"{API}/{created['id']}", {"title": "Renamed"}
    assert (await client.patch(url, json=body, headers=me.headers | {"If-Match": "not-a-tag"})).status_code == 412
    r = await client.patch(url, json=body, headers=me.headers | {"If-Match": f"W/{etag}"})
    assert r.status_code == 200, r.text
    assert (await client.patch(url, json={"title": "Any"}, headers=me.headers | {"If-Match": "*"})).status_code == 200


async def test_a_delete_on_a_stale_etag_is_refused(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    created = await story(client, me, paragraphs=[{"text": "One."}])
    url = f"{API}/{created['id']}"
    stale = (await client.get(url, headers=me.headers)).headers["etag"]
    assert (await client.patch(url, json={"title": "Changed"}, headers=me.headers)).status_code == 200
    assert (await client.delete(url, headers=me.headers | {"If-Match": stale})).status_code == 412
    assert (await client.get(url, headers=me.headers)).status_code == 200
    current = (await client.get(url, headers=me.headers)).headers["etag"]
    assert (await client.delete(url, headers=me.headers | {"If-Match": current})).status_code == 204
