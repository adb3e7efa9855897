"""A listed character's picture URLs expire like any other: however the list is made (each
character's JSON is kept between reads), it never hands out a URL that has expired."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from storybang.runtime import Runtime
from storybang.security import urls
from tests.characters.pictures import png
from tests.conftest import app_for, client_for, sign_up

API = "/api/v1/characters"


async def test_the_listed_photo_url_is_renewed_before_it_expires(embedded_runtime: Runtime) -> None:
    runtime = embedded_runtime
    ttl = runtime.settings.auth.image_url_ttl_seconds
    now = [1_900_000_000.0]
    signer = urls.UrlSigner(runtime.keys.derive(urls.PURPOSE), ttl, clock=lambda: now[0])
    # This runtime alone signs with a clock the test moves.
    runtime.keys.image_urls = signer

    def verify(url: str) -> int:
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        return signer.verify(urlsplit(url).path, query["owner"], int(query["expires"]), query["signature"])

    async with client_for(app_for(runtime)) as client:
        me = await sign_up(client)
        created = (await client.post(API, json={"name": "Ada"}, headers=me.headers)).json()
        files = {"file": ("ada.png", png(), "image/png")}
        assert (await client.put(f"{API}/{created['id']}/photo", files=files, headers=me.headers)).status_code == 200

        async def listed_url() -> str:
            url: str = (await client.get(API, headers=me.headers)).json()["items"][0]["photo_url"]
            return url

        first = await listed_url()
        assert first == await listed_url()  # the same step of expiries: the browser's cache holds
        assert verify(first) > ttl // 2
        now[0] += ttl  # an hour later the first URL has expired...
        with pytest.raises(urls.Expired):
            verify(first)
        second = await listed_url()  # ...and the list hands out a fresh one
        assert second != first
        assert verify(second) > ttl // 2
        # The server signs and checks with the same moved clock: the old URL is refused, the new served.
        assert (await client.get(first)).status_code == 403
        assert (await client.get(second)).status_code == 200
