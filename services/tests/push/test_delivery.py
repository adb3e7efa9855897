"""Notifications of jobs that end, sent to a local stand-in for a push service (see conftest: a real
one cannot be reached from here), decrypted with the browser's key and checked as a push service
checks them.

The stand-in speaks plain HTTP on 127.0.0.1, which the API refuses outside env=dev, so these tests
store its subscriptions with :func:`storybang.push.service.save`, the step after that check.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from storybang.push import service
from storybang.runtime import Runtime
from storybang.settings import Settings
from tests.conftest import SignUp
from tests.generation.conftest import finished, running_worker, settings_with
from tests.push.conftest import Browser, PushService, b64url, verify_vapid

APERTIUM = {"name": "apertium", "kind": "apertium"}


async def subscribe(runtime: Runtime, owner_id: str, browser: Browser) -> None:
    await service.save(runtime, owner_id, browser.endpoint, browser.p256dh, b64url(browser.auth))


async def test_a_push_is_encrypted_for_the_browser_and_signed_with_the_servers_key(
    runtime: Runtime, signup: SignUp, push_service: PushService, client: httpx.AsyncClient
) -> None:
    ada = await signup()
    browser = push_service.browser()
    await subscribe(runtime, ada.id, browser)
    completed = {"id": "0" * 24, "task": "story", "summary": {"title": "The Brave Fox", "story_id": "1" * 24}}
    assert await service.notify(runtime, ada.id, service.payload("generation.completed", completed)) == 1

    [push] = push_service.received
    assert push.path == browser.endpoint.removeprefix(push_service.base_url)
    assert browser.decrypt(push.body) == {
        "event": "generation.completed",
        "id": "0" * 24,
        "task": "story",
        "tag": f"generation-{'0' * 24}",
        "url": f"/stories/{'1' * 24}",
        "title": "Your story is ready",
        "body": "The Brave Fox",
        "story_title": "The Brave Fox",
    }
    assert push.headers["content-encoding"] == "aes128gcm"
    assert push.headers["ttl"] == str(runtime.settings.push.ttl_seconds)
    # The key the browser subscribed with, as the API hands it out, verifies the VAPID signature.
    key = (await client.get("/api/v1/push/key")).json()["application_server_key"]
    claims = verify_vapid(push.headers["authorization"], key)
    assert claims["aud"] == push_service.base_url
    assert claims["sub"] == runtime.settings.push.vapid_subject
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600  # RFC 8292: at most a day ahead


async def test_a_subscription_the_push_service_says_is_gone_is_deleted(
    runtime: Runtime, signup: SignUp, push_service: PushService
) -> None:
    ada = await signup()
    gone, other = push_service.browser(), push_service.browser()
    await subscribe(runtime, ada.id, gone)
    await subscribe(runtime, ada.id, other)
    push_service.status = 410
    message = service.payload("generation.failed", {"id": "2" * 24, "task": "image", "error": "no backend"})
    assert await service.notify(runtime, ada.id, message) == 0
    assert await runtime.documents.count(service.COLLECTION, owner_id=ada.id) == 0
    # A refusal that is not about the subscription (a push service's own trouble) keeps it.
    await subscribe(runtime, ada.id, other)
    push_service.status = 503
    assert await service.notify(runtime, ada.id, message) == 0
    assert await runtime.documents.count(service.COLLECTION, owner_id=ada.id) == 1


async def test_a_push_service_that_is_down_fails_nothing(runtime: Runtime, signup: SignUp) -> None:
    ada = await signup()
    await subscribe(runtime, ada.id, Browser("http://127.0.0.1:9/push/nobody-listens"))
    message = service.payload("generation.failed", {"id": "3" * 24, "task": "image", "error": "no backend"})
    assert await service.notify(runtime, ada.id, message) == 0
    assert await runtime.documents.count(service.COLLECTION, owner_id=ada.id) == 1


async def test_jobs_that_end_on_a_worker_notify_their_owners_browsers(
    client: httpx.AsyncClient,
    signup: SignUp,
    runtime: Runtime,
    real_settings: Settings,
    tmp_path: Path,
    push_service: PushService,
) -> None:
    ada, bob = await signup(), await signup(display_name="Bob")
    adas = push_service.browser()
    await subscribe(runtime, ada.id, adas)
    await subscribe(runtime, bob.id, push_service.browser())
    # Apertium translates offline; a job naming a backend the worker lacks fails at once.
    settings = settings_with(real_settings, tmp_path, generation={"backends": [APERTIUM]})
    with running_worker(settings, ["translate"]):
        translate = {"task": "translate", "input": {"text": "The fox is happy.", "target_language": "es"}}
        done = (await client.post("/api/v1/generations", headers=ada.headers, json=translate)).json()
        failed = (
            await client.post("/api/v1/generations", headers=ada.headers, json=translate | {"backend": "nope"})
        ).json()
        assert (await finished(client, ada, done["id"]))["status"] == "succeeded"
        assert (await finished(client, ada, failed["id"]))["status"] == "failed"
        await push_service.wait_for(2)
    messages = {m["id"]: m for m in (adas.decrypt(p.body) for p in push_service.received)}
    assert len(push_service.received) == 2  # Ada's browser only: Bob's jobs are not hers
    assert messages[done["id"]]["event"] == "generation.completed"
    assert messages[done["id"]]["title"] == "Your translate job is done"
    assert messages[failed["id"]]["event"] == "generation.failed"
    assert messages[failed["id"]]["title"] == "Your translate job failed"
    assert "'nope'" in messages[failed["id"]]["body"]
    assert {m["url"] for m in messages.values()} == {"/jobs"}


async def test_ends_of_jobs_stop_looking_for_subscriptions_once_none_was_found_until_one_is_made(
    runtime: Runtime, signup: SignUp, push_service: PushService
) -> None:
    ada = await signup()
    message = service.payload("generation.failed", {"id": "4" * 24, "task": "image", "error": "no backend"})
    mark = service.mark_key(ada.id)
    # Not known yet: a job's end looks, finds none, and says so where the next end reads it.
    seen = await runtime.counters.finish("unused", "x", add={}, mark=mark)
    assert seen is None
    assert await service.notify(runtime, ada.id, message, mark=seen) == 0
    assert await runtime.counters.finish("unused", "x", add={}, mark=mark) == service.NONE
    assert (
        service.notify_later(runtime, ada.id, "generation.failed", {"id": "4" * 24, "task": "image"}, mark=service.NONE)
        is None
    )
    # A subscription made while a look is under way is not hidden by the look's "none".
    looking = await runtime.counters.finish("unused", "x", add={}, mark=mark)
    browser = push_service.browser()
    await subscribe(runtime, ada.id, browser)
    assert not await runtime.counters.swap_mark(mark, looking, service.NONE, ttl_seconds=60)
    seen = await runtime.counters.finish("unused", "x", add={}, mark=mark)
    assert seen not in (None, service.NONE)
    assert await service.notify(runtime, ada.id, message, mark=seen) == 1
