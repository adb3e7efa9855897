"""Images at signed URLs: what an <img> loads without a token. Valid, expired, tampered, another
user's; the headers a browser needs; the bearer routes kept for API clients."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from storybang.characters.pictures import PREFIX as CHARACTERS
from storybang.runtime import Runtime
from storybang.security import urls
from storybang.stores import ids
from storybang.stories import results
from tests.characters.pictures import png
from tests.conftest import Account, SignUp

PHOTO = png((12, 9), "orange")


async def character_with_photo(client: httpx.AsyncClient, account: Account) -> dict[str, str]:
    r = await client.post(CHARACTERS, json={"name": "Nemo"}, headers=account.headers)
    assert r.status_code == 201, r.text
    assert r.json()["photo_url"] is None and r.json()["portrait_url"] is None
    files = {"file": ("nemo.png", PHOTO, "image/png")}
    r = await client.put(f"{CHARACTERS}/{r.json()['id']}/photo", files=files, headers=account.headers)
    assert r.status_code == 200, r.text
    character: dict[str, str] = r.json()
    return character


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return f"{parts.path}?{urlencode(query)}"


def assert_refused(r: httpx.Response, field: str) -> None:
    assert r.status_code == 403, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["errors"][0]["field"] == field
    assert "Traceback" not in r.text and "signature" not in problem["detail"].lower()


async def test_a_signed_photo_url_loads_without_a_token(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    character = await character_with_photo(client, me)
    url = character["photo_url"]
    assert url.startswith(f"{CHARACTERS}/images/{character['photo_id']}?")
    assert me.access_token not in url and "token" not in url
    asked = int(time.time())  # the server counts whole seconds, as read when it answers
    r = await client.get(url)  # no Authorization header: an <img>
    assert r.status_code == 200, r.text
    assert r.content == PHOTO
    assert r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == "default-src 'none'; sandbox"
    cache = r.headers["cache-control"].split(", ")
    assert cache[0] == "private" and cache[2] == "immutable"
    max_age = int(cache[1].removeprefix("max-age="))
    expires = int(parse_qs(urlsplit(url).query)["expires"][0])
    # Bounded by the expiry, and at least half the lifetime left (expiries are rounded in steps).
    assert 1800 - 5 <= max_age <= expires - asked and max_age <= 3600
    again = await client.get(url, headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304


async def test_the_same_picture_keeps_its_url_for_a_while(client: httpx.AsyncClient, signup: SignUp) -> None:
    """So a browser's cache serves it instead of loading it again on every page."""
    me = await signup()
    character = await character_with_photo(client, me)
    read = (await client.get(f"{CHARACTERS}/{character['id']}", headers=me.headers)).json()
    listed = (await client.get(CHARACTERS, headers=me.headers)).json()["items"][0]
    assert read["photo_url"] == character["photo_url"] == listed["photo_url"]
    assert (await client.get(listed["photo_url"])).status_code == 200


async def test_a_tampered_url_is_refused(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    character = await character_with_photo(client, me)
    url = character["photo_url"]
    signature = parse_qs(urlsplit(url).query)["signature"][0]
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    expires = parse_qs(urlsplit(url).query)["expires"][0]
    assert_refused(await client.get(with_query(url, signature=flipped)), "signature")
    assert_refused(await client.get(with_query(url, expires=str(int(expires) + 3600))), "signature")
    assert_refused(await client.get(with_query(url, expires="soon")), "signature")
    assert_refused(await client.get(urlsplit(url).path), "signature")  # no signature at all
    assert_refused(await client.get(url.replace(character["photo_id"], ids.new_id())), "signature")
    # Signed for the characters prefix, it is not valid under another domain's.
    assert_refused(await client.get(url.replace(CHARACTERS, "/api/v1/stories", 1)), "signature")


async def test_another_users_url_cannot_be_forged(client: httpx.AsyncClient, signup: SignUp) -> None:
    alice, mallory = await signup(), await signup()
    alices = await character_with_photo(client, alice)
    mallorys = await character_with_photo(client, mallory)
    # Mallory's own valid URL, pointed at Alice's image, or claiming to be Alice's: refused.
    forged = mallorys["photo_url"].replace(mallorys["photo_id"], alices["photo_id"])
    assert_refused(await client.get(forged), "signature")
    assert_refused(await client.get(with_query(mallorys["photo_url"], owner=alice.id)), "signature")
    # And Alice's image under Mallory's name is simply not Mallory's.
    assert alices["photo_url"] != forged


async def test_an_expired_url_is_refused(client: httpx.AsyncClient, signup: SignUp, runtime: Runtime) -> None:
    me = await signup()
    character = await character_with_photo(client, me)
    key = runtime.keys.derive(urls.PURPOSE)
    ttl = runtime.settings.auth.image_url_ttl_seconds
    yesterday = urls.UrlSigner(key, ttl, clock=lambda: time.time() - 2 * ttl)
    old = yesterday.image(CHARACTERS, me.id, character["photo_id"])
    assert_refused(await client.get(old), "expires")
    # The same signer, now: the URL works, so the refusal above was the expiry's alone.
    fresh = urls.UrlSigner(key, ttl).image(CHARACTERS, me.id, character["photo_id"])
    assert (await client.get(fresh)).status_code == 200


async def test_a_url_of_a_deleted_picture_is_not_found(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    character = await character_with_photo(client, me)
    assert (await client.delete(f"{CHARACTERS}/{character['id']}", headers=me.headers)).status_code == 204
    r = await client.get(character["photo_url"])
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


async def test_story_illustrations_have_signed_urls(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    me = await signup()
    body = {
        "title": "Day",
        "audience": "children",
        "character_ids": [],
        "paragraphs": [{"text": "Sun."}, {"text": "Moon."}],
    }
    story = (await client.post("/api/v1/stories", json=body, headers=me.headers)).json()
    assert story["image_urls"] == {}
    image_id = await runtime.blobs.put(PHOTO, owner_id=me.id, content_type="image/png")
    await results.set_illustration(runtime, me.id, story["id"], 1, image_id)
    story = (await client.get(f"/api/v1/stories/{story['id']}", headers=me.headers)).json()
    assert story["paragraphs"][1]["image_id"] == image_id
    assert set(story["image_urls"]) == {image_id}
    url = story["image_urls"][image_id]
    assert url.startswith(f"/api/v1/stories/images/{image_id}?")
    r = await client.get(url)
    assert r.status_code == 200 and r.content == PHOTO and r.headers["content-type"] == "image/png"
    # The bearer route stays for API clients; the signed one is refused under the bearer route's path.
    bearer = f"/api/v1/stories/{story['id']}/images/{image_id}"
    assert (await client.get(bearer, headers=me.headers)).status_code == 200
    assert (await client.get(bearer)).status_code == 401
    # A PATCH answers with URLs too, and the paragraphs sent back need none of them.
    r = await client.patch(
        f"/api/v1/stories/{story['id']}", json={"paragraphs": story["paragraphs"]}, headers=me.headers
    )
    assert r.status_code == 200, r.text
    assert set(r.json()["image_urls"]) == {image_id}


async def test_the_bearer_photo_route_is_kept(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    character = await character_with_photo(client, me)
    r = await client.get(f"{CHARACTERS}/{character['id']}/photo", headers=me.headers)
    assert r.status_code == 200 and r.content == PHOTO
    assert (await client.get(f"{CHARACTERS}/{character['id']}/photo")).status_code == 401
