"""An image job's drawn image at a signed URL: a prompt-only image belongs to no character or
story, so the job's result is what leads an ``<img>`` to it. Valid, expired, tampered, and another
user's image addressed by swapping ids in one's own URL.

The result is written as the image worker writes it (:func:`storybang.generation.tasks.run_image`)
rather than drawn: no image model runs here, and the URL is added when the job is read, not drawn.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx

from storybang.generation import jobs
from storybang.generation.pictures import PREFIX
from storybang.runtime import Runtime
from storybang.security import urls
from tests.api.test_signed_images import assert_refused, with_query
from tests.characters.pictures import png
from tests.conftest import Account, SignUp

API = "/api/v1/generations"
DRAWN = png((16, 12), "teal")


async def drawn_job(client: httpx.AsyncClient, runtime: Runtime, me: Account) -> dict[str, str]:
    """A prompt-only image job that has drawn its image, as its owner reads it back."""
    r = await client.post(API, json={"task": "image", "input": {"prompt": "a teal kite"}}, headers=me.headers)
    assert r.status_code == 202, r.text
    queued = r.json()
    assert queued["result"] is None
    image_id = await runtime.blobs.put(DRAWN, owner_id=me.id, content_type="image/png")
    running = await jobs.start(runtime.documents, queued["id"], lease_seconds=60)
    assert running is not None
    assert await jobs.succeed(runtime.documents, running, {"image_id": image_id}, "painter") is not None
    done = (await client.get(f"{API}/{queued['id']}", headers=me.headers)).json()
    assert done["status"] == "succeeded" and done["result"]["image_id"] == image_id
    job: dict[str, str] = done | {"image_id": image_id, "image_url": done["result"]["image_url"]}
    return job


async def test_a_drawn_image_loads_from_its_jobs_signed_url(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    me = await signup()
    job = await drawn_job(client, runtime, me)
    url = job["image_url"]
    assert url.startswith(f"{PREFIX}/images/{job['image_id']}?")
    assert me.access_token not in url
    asked = int(time.time())  # the server counts whole seconds, as read when it answers
    r = await client.get(url)  # no Authorization header: an <img>
    assert r.status_code == 200, r.text
    assert r.content == DRAWN
    assert r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"
    cache = r.headers["cache-control"].split(", ")
    assert cache[0] == "private" and cache[2] == "immutable"
    max_age = int(cache[1].removeprefix("max-age="))
    expires = int(parse_qs(urlsplit(url).query)["expires"][0])
    assert 0 < max_age <= min(expires - asked, runtime.settings.auth.image_url_ttl_seconds)
    # Listed jobs carry the same URL, so the browser's cache serves it.
    listed = (await client.get(API, headers=me.headers)).json()["items"]
    assert [j["result"]["image_url"] for j in listed if j["id"] == job["id"]] == [url]


async def test_an_image_job_has_no_url_before_it_has_drawn(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    r = await client.post(API, json={"task": "image", "input": {"prompt": "a kite"}}, headers=me.headers)
    cancelled = (await client.delete(f"{API}/{r.json()['id']}", headers=me.headers)).json()
    assert cancelled["status"] == "cancelled" and cancelled["result"] is None


async def test_an_expired_job_image_url_is_refused(client: httpx.AsyncClient, signup: SignUp, runtime: Runtime) -> None:
    me = await signup()
    job = await drawn_job(client, runtime, me)
    key = runtime.keys.derive(urls.PURPOSE)
    ttl = runtime.settings.auth.image_url_ttl_seconds
    old = urls.UrlSigner(key, ttl, clock=lambda: time.time() - 2 * ttl).image(PREFIX, me.id, job["image_id"])
    assert_refused(await client.get(old), "expires")
    # Read again, the job hands out a fresh URL that works.
    again = (await client.get(f"{API}/{job['id']}", headers=me.headers)).json()["result"]["image_url"]
    assert (await client.get(again)).status_code == 200


async def test_a_tampered_job_image_url_is_refused(client: httpx.AsyncClient, signup: SignUp, runtime: Runtime) -> None:
    me = await signup()
    job = await drawn_job(client, runtime, me)
    url = job["image_url"]
    signature = parse_qs(urlsplit(url).query)["signature"][0]
    expires = parse_qs(urlsplit(url).query)["expires"][0]
    assert_refused(
        await client.get(with_query(url, signature=("A" if signature[0] != "A" else "B") + signature[1:])), "signature"
    )
    assert_refused(await client.get(with_query(url, expires=str(int(expires) + 3600))), "signature")
    assert_refused(await client.get(urlsplit(url).path), "signature")
    # The job's id where the image's is: not what was signed.
    assert_refused(await client.get(url.replace(job["image_id"], job["id"])), "signature")
    # Signed for the generation domain's prefix, it is not valid under another domain's.
    assert_refused(await client.get(url.replace(PREFIX, "/api/v1/characters", 1)), "signature")


async def test_another_users_drawn_image_cannot_be_addressed_by_swapping_ids(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    alice, mallory = await signup(), await signup()
    alices = await drawn_job(client, runtime, alice)
    mallorys = await drawn_job(client, runtime, mallory)
    # Mallory's own valid URL pointed at Alice's image, or claiming to be Alice's: refused.
    assert_refused(
        await client.get(mallorys["image_url"].replace(mallorys["image_id"], alices["image_id"])), "signature"
    )
    assert_refused(await client.get(with_query(mallorys["image_url"], owner=alice.id)), "signature")
    # Nor does Mallory get Alice's job, which holds the URL.
    assert (await client.get(f"{API}/{alices['id']}", headers=mallory.headers)).status_code == 404
    listed = (await client.get(API, headers=mallory.headers)).json()["items"]
    assert alices["id"] not in [j["id"] for j in listed]
    assert (await client.get(alices["image_url"])).status_code == 200
