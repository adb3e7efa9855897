"""Concurrent edits of a character: every read carries an ETag, and a write (PATCH, a photo PUT, a
DELETE) with a stale If-Match is refused with 412 and the current ETag instead of silently
overwriting what another device wrote."""

from __future__ import annotations

import httpx

from storybang.characters import service
from storybang.runtime import Runtime
from tests.characters.pictures import png
from tests.characters.test_characters import API, make
from tests.conftest import SignUp


async def test_a_character_read_carries_its_etag(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    created = await make(client, me)
    assert created["revision"] == 1
    r = await client.get(f"{API}/{created['id']}", headers=me.headers)
    assert r.status_code == 200
    assert r.headers["etag"] == '"1"'


async def test_a_write_on_the_current_etag_succeeds_and_moves_it(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    url = f"{API}/{(await make(client, me))['id']}"
    etag = (await client.get(url, headers=me.headers)).headers["etag"]
    r = await client.patch(url, json={"name": "Ned"}, headers=me.headers | {"If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == f'"{r.json()["revision"]}"' != etag
    photo = {"file": ("me.png", png(), "image/png")}
    r = await client.put(f"{url}/photo", files=photo, headers=me.headers | {"If-Match": r.headers["etag"]})
    assert r.status_code == 200, r.text
    assert r.json()["photo_id"] is not None
    assert (await client.get(url, headers=me.headers)).headers["etag"] == r.headers["etag"]


async def test_a_patch_on_a_stale_etag_is_refused_with_the_current_one(
    client: httpx.AsyncClient, signup: SignUp
) -> None:
    me = await signup()
    url = f"{API}/{(await make(client, me))['id']}"
    laptop = (await client.get(url, headers=me.headers)).headers["etag"]
    phone = await client.patch(url, json={"description": "From the phone."}, headers=me.headers)
    assert phone.status_code == 200
    r = await client.patch(url, json={"description": "From the laptop."}, headers=me.headers | {"If-Match": laptop})
    assert r.status_code == 412
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["etag"] == phone.headers["etag"]
    assert r.json()["errors"][0]["field"] == "If-Match"
    assert (await client.get(url, headers=me.headers)).json()["description"] == "From the phone."


async def test_a_photo_on_a_stale_etag_is_refused_and_not_kept(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    url = f"{API}/{(await make(client, me))['id']}"
    stale = (await client.get(url, headers=me.headers)).headers["etag"]
    assert (await client.patch(url, json={"name": "Ned"}, headers=me.headers)).status_code == 200
    photo = {"file": ("me.png", png(), "image/png")}
    r = await client.put(f"{url}/photo", files=photo, headers=me.headers | {"If-Match": stale})
    assert r.status_code == 412
    assert (await client.get(url, headers=me.headers)).json()["photo_id"] is None
    assert (await client.get(f"{url}/photo", headers=me.headers)).status_code == 404


async def test_a_weak_or_odd_if_match_is_understood_or_refused(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    url = f"{API}/{(await make(client, me))['id']}"
    etag = (await client.get(url, headers=me.headers)).headers["etag"]
    assert (
        await client.patch(url, json={"name": "A"}, headers=me.headers | {"If-Match": "not-a-tag"})
    ).status_code == 412
    assert (
        await client.patch(url, json={"name": "B"}, headers=me.headers | {"If-Match": f"W/{etag}"})
    ).status_code == 200
    assert (await client.patch(url, json={"name": "C"}, headers=me.headers | {"If-Match": "*"})).status_code == 200


async def test_a_delete_on_a_stale_etag_is_refused(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    url = f"{API}/{(await make(client, me))['id']}"
    stale = (await client.get(url, headers=me.headers)).headers["etag"]
    assert (await client.patch(url, json={"name": "Changed"}, headers=me.headers)).status_code == 200
    assert (await client.delete(url, headers=me.headers | {"If-Match": stale})).status_code == 412
    current = (await client.get(url, headers=me.headers)).headers["etag"]
    assert (await client.delete(url, headers=me.headers | {"If-Match": current})).status_code == 204


async def test_a_workers_write_moves_the_etag_too(client: httpx.AsyncClient, signup: SignUp, runtime: Runtime) -> None:
    """A description saved by the describe worker is a change a person's stale edit must not hide."""
    me = await signup()
    url = f"{API}/{(await make(client, me))['id']}"
    stale = (await client.get(url, headers=me.headers)).headers["etag"]
    await service.set_description(runtime, me.id, url.rsplit("/", 1)[1], "A tall man.")
    r = await client.patch(url, json={"name": "Ned"}, headers=me.headers | {"If-Match": stale})
    assert r.status_code == 412
    assert r.headers["etag"] == '"2"'
