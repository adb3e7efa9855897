"""A character's photo (uploaded, checked by content) and portrait (made by the image worker)."""

from __future__ import annotations

from typing import Any

import httpx

from storybang.characters import service
from storybang.runtime import Runtime
from tests.characters.pictures import bomb_png, image, png
from tests.conftest import Account, SignUp

API = "/api/v1/characters"


async def character(client: httpx.AsyncClient, account: Account) -> str:
    r = await client.post(API, json={"name": "Nemo"}, headers=account.headers)
    assert r.status_code == 201
    character_id: str = r.json()["id"]
    return character_id


async def upload(
    client: httpx.AsyncClient, account: Account, character_id: str, data: bytes, declared: str = "image/png"
) -> httpx.Response:
    files = {"file": ("upload.png", data, declared)}
    return await client.put(f"{API}/{character_id}/photo", files=files, headers=account.headers)


async def test_an_uploaded_photo_is_served_back(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    character_id = await character(client, me)
    assert (await client.get(f"{API}/{character_id}/photo", headers=me.headers)).status_code == 404
    data = png((30, 20))
    r = await upload(client, me, character_id, data)
    assert r.status_code == 200, r.text
    photo_id = r.json()["photo_id"]
    assert photo_id
    r = await client.get(f"{API}/{character_id}/photo", headers=me.headers)
    assert r.status_code == 200
    assert r.content == data
    assert r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == "default-src 'none'; sandbox"
    r = await client.get(f"{API}/{character_id}/photo", headers={**me.headers, "If-None-Match": r.headers["etag"]})
    assert r.status_code == 304 and r.content == b""


async def test_the_stored_content_type_comes_from_the_content(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    character_id = await character(client, me)
    jpeg = image("JPEG", (16, 16))
    assert (await upload(client, me, character_id, jpeg, declared="image/png")).status_code == 200
    r = await client.get(f"{API}/{character_id}/photo", headers=me.headers)
    assert r.headers["content-type"] == "image/jpeg"
    assert r.content == jpeg


async def test_a_text_file_declared_as_png_is_refused(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    character_id = await character(client, me)
    r = await upload(client, me, character_id, b"<html><script>alert(1)</script></html>", declared="image/png")
    assert r.status_code == 415
    assert r.json()["errors"][0]["field"] == "file"
    assert (await client.get(f"{API}/{character_id}", headers=me.headers)).json()["photo_id"] is None


async def test_an_upload_over_the_byte_limit_is_413(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    me = await signup()
    character_id = await character(client, me)
    too_big = b"\x89PNG\r\n\x1a\n" + b"\x00" * runtime.settings.limits.max_upload_bytes
    r = await upload(client, me, character_id, too_big)
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_a_decompression_bomb_is_refused(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    character_id = await character(client, me)
    r = await upload(client, me, character_id, bomb_png(50_000, 50_000))
    assert r.status_code == 413
    assert r.json()["errors"][0]["field"] == "file"


async def test_a_missing_file_field_is_422(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    character_id = await character(client, me)
    r = await client.put(
        f"{API}/{character_id}/photo", files={"photo": ("p.png", png(), "image/png")}, headers=me.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"


async def test_a_new_photo_replaces_the_old_one_and_its_description(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    me = await signup()
    character_id = await character(client, me)
    first = (await upload(client, me, character_id, png(color="red"))).json()["photo_id"]
    await service.set_description(runtime, me.id, character_id, "A red square.", photo_id=first)
    assert (await client.get(f"{API}/{character_id}", headers=me.headers)).json()["photo_description"] == (
        "A red square."
    )
    body: dict[str, Any] = (await upload(client, me, character_id, png(color="blue"))).json()
    assert body["photo_id"] != first
    assert body["photo_description"] is None
    assert await runtime.blobs.get(first, owner_id=me.id) is None


async def test_the_portrait_is_not_found_until_the_worker_sets_it(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    me = await signup()
    character_id = await character(client, me)
    url = f"{API}/{character_id}/portrait"
    r = await client.get(url, headers=me.headers)
    assert r.status_code == 404
    data = image("WEBP", (32, 32))
    image_id = await runtime.blobs.put(data, owner_id=me.id, content_type="image/webp")
    await service.set_portrait(runtime, me.id, character_id, image_id)
    r = await client.get(url, headers=me.headers)
    assert r.status_code == 200
    assert r.content == data and r.headers["content-type"] == "image/webp"
    assert (await client.get(f"{API}/{character_id}", headers=me.headers)).json()["portrait_id"] == image_id
