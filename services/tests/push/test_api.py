"""The push API on the real stores: the server's key, subscribing a browser, refusals naming the
field at fault, unsubscribing, and each person seeing and changing only their own subscriptions."""

from __future__ import annotations

from typing import Any

import httpx

from storybang.runtime import Runtime
from tests.conftest import SignUp
from tests.push.conftest import b64url, fcm_browser, unb64url

SUBSCRIPTIONS = "/api/v1/push/subscriptions"


async def endpoints(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    r = await client.get(SUBSCRIPTIONS, headers=headers)
    assert r.status_code == 200, r.text
    return [item["endpoint"] for item in r.json()["items"]]


def assert_refused(r: httpx.Response, field: str) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json()["errors"]], r.json()


async def test_the_key_is_a_p256_point_anyone_may_read(client: httpx.AsyncClient, runtime: Runtime) -> None:
    r = await client.get("/api/v1/push/key")
    assert r.status_code == 200, r.text
    key = r.json()["application_server_key"]
    assert key == runtime.push_key.application_server_key
    raw = unb64url(key)
    assert len(raw) == 65 and raw[0] == 4 and "=" not in key


async def test_a_browser_subscribes_once_and_unsubscribes(client: httpx.AsyncClient, signup: SignUp) -> None:
    ada = await signup()
    browser = fcm_browser()
    r = await client.post(SUBSCRIPTIONS, headers=ada.headers, json=browser.subscription())
    assert r.status_code == 201, r.text
    assert r.json()["endpoint"] == browser.endpoint
    # The same browser again (a page load that re-sends its subscription): still one.
    again = await client.post(SUBSCRIPTIONS, headers=ada.headers, json=browser.subscription())
    assert again.status_code == 201, again.text
    assert await endpoints(client, ada.headers) == [browser.endpoint]
    r = await client.request("DELETE", SUBSCRIPTIONS, headers=ada.headers, json={"endpoint": browser.endpoint})
    assert r.status_code == 204, r.text
    assert await endpoints(client, ada.headers) == []
    # Unsubscribing what is not subscribed answers the same.
    r = await client.request("DELETE", SUBSCRIPTIONS, headers=ada.headers, json={"endpoint": browser.endpoint})
    assert r.status_code == 204, r.text


async def test_subscribing_needs_a_login(client: httpx.AsyncClient) -> None:
    r = await client.post(SUBSCRIPTIONS, json=fcm_browser().subscription())
    assert r.status_code == 401, r.text


async def test_bad_subscriptions_are_refused_naming_the_field(client: httpx.AsyncClient, signup: SignUp) -> None:
    ada = await signup()
    good = fcm_browser().subscription()

    def variant(**changes: Any) -> dict[str, Any]:
        keys = {**good["keys"], **changes.pop("keys", {})}
        return {**good, **changes, "keys": keys}

    cases = [
        (variant(endpoint="http://fcm.googleapis.com/fcm/send/x"), "endpoint"),  # not https
        (variant(endpoint="https://10.0.0.7/push/x"), "endpoint"),  # not a push service: the cluster's inside
        (variant(endpoint="https://fcm.googleapis.com.evil.example/x"), "endpoint"),
        (variant(endpoint="not a url"), "endpoint"),
        (variant(keys={"p256dh": b64url(b"\x04" + b"\x01" * 40)}), "keys.p256dh"),  # too short
        (variant(keys={"p256dh": b64url(b"\x04" + b"\x01" * 64)}), "keys.p256dh"),  # not on the curve
        (variant(keys={"p256dh": "not/base64+url"}), "keys.p256dh"),
        (variant(keys={"auth": b64url(b"\x00" * 8)}), "keys.auth"),  # 16 bytes, not 8
        (variant(keys={"auth": "***"}), "keys.auth"),
        ({"endpoint": good["endpoint"]}, "keys"),
    ]
    for body, field in cases:
        assert_refused(await client.post(SUBSCRIPTIONS, headers=ada.headers, json=body), field)
    assert await endpoints(client, ada.headers) == []


async def test_a_push_service_below_a_known_host_is_accepted(client: httpx.AsyncClient, signup: SignUp) -> None:
    ada = await signup()
    body = {**fcm_browser().subscription(), "endpoint": "https://wns2-par02p.notify.windows.com/w/?token=abc"}
    r = await client.post(SUBSCRIPTIONS, headers=ada.headers, json=body)
    assert r.status_code == 201, r.text


async def test_each_person_sees_and_removes_only_their_own(client: httpx.AsyncClient, signup: SignUp) -> None:
    ada, bob = await signup(), await signup(display_name="Bob")
    adas, bobs = fcm_browser(), fcm_browser()
    assert (await client.post(SUBSCRIPTIONS, headers=ada.headers, json=adas.subscription())).status_code == 201
    assert (await client.post(SUBSCRIPTIONS, headers=bob.headers, json=bobs.subscription())).status_code == 201
    assert await endpoints(client, ada.headers) == [adas.endpoint]
    assert await endpoints(client, bob.headers) == [bobs.endpoint]
    # Bob cannot unsubscribe Ada's browser.
    r = await client.request("DELETE", SUBSCRIPTIONS, headers=bob.headers, json={"endpoint": adas.endpoint})
    assert r.status_code == 204
    assert await endpoints(client, ada.headers) == [adas.endpoint]


async def test_a_browser_subscribed_by_another_person_is_theirs_from_then_on(
    client: httpx.AsyncClient, signup: SignUp
) -> None:
    """A shared computer: whoever subscribed it last is the one notified there."""
    ada, bob = await signup(), await signup(display_name="Bob")
    shared = fcm_browser()
    assert (await client.post(SUBSCRIPTIONS, headers=ada.headers, json=shared.subscription())).status_code == 201
    assert (await client.post(SUBSCRIPTIONS, headers=bob.headers, json=shared.subscription())).status_code == 201
    assert await endpoints(client, ada.headers) == []
    assert await endpoints(client, bob.headers) == [shared.endpoint]


async def test_past_the_limit_the_oldest_subscription_goes(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    ada = await signup()
    limit = runtime.settings.push.max_subscriptions
    browsers = [fcm_browser() for _ in range(limit + 2)]
    for browser in browsers:
        r = await client.post(SUBSCRIPTIONS, headers=ada.headers, json=browser.subscription())
        assert r.status_code == 201, r.text
    kept = await endpoints(client, ada.headers)
    assert sorted(kept) == sorted(b.endpoint for b in browsers[2:])


async def test_deleting_the_account_deletes_its_subscriptions(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    ada = await signup()
    assert (await client.post(SUBSCRIPTIONS, headers=ada.headers, json=fcm_browser().subscription())).status_code == 201
    r = await client.request("DELETE", "/api/v1/users/me", headers=ada.headers, json={"password": ada.password})
    assert r.status_code == 204, r.text
    assert await runtime.documents.count("push_subscriptions", owner_id=ada.id) == 0
