"""Web Push subscriptions, per person, and the notification a finished job sends to them.

A subscription is one browser's ``PushSubscription`` (an endpoint at its push service, and the keys
that encrypt what we send there, RFC 8291). One browser holds one subscription: subscribing it again,
under whatever account, replaces the old one, so a shared computer only ever notifies the person who
last asked for it there. Each person keeps at most ``push.max_subscriptions``; a new one past that
drops the oldest.

A job that ends sends its notification to every subscription of its owner, whether or not the person
has the app open: whether any of their Socket.IO connections is live is known only to the notifier
pods. The notification carries a ``tag`` per job, and the web client's service worker shows it only
when no window of the app is visible. Sending runs beside the job, never in its way: a push service
that is slow or down delays nothing and fails nothing; one that answers 404 or 410 (the browser
unsubscribed, or the subscription expired) has its subscription deleted.

Most people never subscribe, so a job's end does not ask the store for their subscriptions each
time: a mark in the counters (:func:`mark_key`), read in the round trip that ends the job
(:func:`storybang.generation.quotas.finish`), says "none" once a look found none. Subscribing
replaces it with a new value first, and a look that found none writes "none" only over the value it
was started with, so a subscription made meanwhile is never hidden. No mark means "not known": look.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pywebpush
from py_vapid import Vapid02

from storybang import logs
from storybang.errors import InvalidInput
from storybang.push.models import SubscriptionCreate, SubscriptionList, SubscriptionPublic
from storybang.runtime import Runtime
from storybang.settings import Settings
from storybang.stores import ids
from storybang.stores.documents import Doc
from storybang.stores.errors import STORE_DOWN

log = logs.get(__name__)

COLLECTION = "push_subscriptions"
# Answers of a push service that mean the subscription is gone for good (RFC 8030 §7.3).
GONE = frozenset({404, 410})
# What of a job's failure a notification says: a line, not a log.
BODY_MAX = 200
# The mark's value once a look found no subscription; it lapses after a while, and the next look
# writes it again, so that the marks of people who left do not stay forever.
NONE = "none"
NONE_TTL_SECONDS = 7 * 24 * 3600


def mark_key(owner_id: str) -> str:
    return f"push:{owner_id}"


def check_endpoint(settings: Settings, endpoint: str) -> None:
    """Refuse an endpoint the servers must not POST to (outside env=dev: plain http, or a host that
    is not one of ``push.endpoint_hosts``); raises :class:`InvalidInput` naming ``endpoint``."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput("The endpoint must be an absolute URL.", field="endpoint")
    if settings.env == "dev":
        return
    if parts.scheme != "https":
        raise InvalidInput("The endpoint must be an https URL.", field="endpoint")
    allowed = settings.push.endpoint_hosts
    host = parts.hostname.lower()
    if allowed and not any(host == h or host.endswith("." + h) for h in allowed):
        raise InvalidInput("The endpoint is not at a known push service.", field="endpoint")


def _public(doc: Doc) -> SubscriptionPublic:
    return SubscriptionPublic(id=doc["id"], endpoint=doc["endpoint"], created_at=doc["created_at"])


async def subscribe(runtime: Runtime, owner_id: str, data: SubscriptionCreate) -> SubscriptionPublic:
    check_endpoint(runtime.settings, data.endpoint)
    return _public(await save(runtime, owner_id, data.endpoint, data.keys.p256dh, data.keys.auth))


async def save(runtime: Runtime, owner_id: str, endpoint: str, p256dh: str, auth: str) -> Doc:
    """Store a subscription (already checked) for ``owner_id``, in place of any other of that browser."""
    documents = runtime.documents
    # Before the subscription is stored: a look at the subscriptions under way cannot mark "none" now.
    await runtime.counters.mark(mark_key(owner_id), ids.new_id())
    # Any owner's: the browser now belongs to whoever subscribed it last.
    for old in (await documents.find(COLLECTION, where={"endpoint": endpoint}, limit=100)).items:
        await documents.delete(COLLECTION, old["id"])
    doc = {
        "id": ids.new_id(),
        "owner_id": owner_id,
        "endpoint": endpoint,
        "p256dh": p256dh,
        "auth": auth,
        "created_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    await documents.insert(COLLECTION, doc)
    keep = runtime.settings.push.max_subscriptions
    page = await documents.find(COLLECTION, owner_id=owner_id, limit=keep + 20)  # newest first
    for extra in page.items[keep:]:
        await documents.delete(COLLECTION, extra["id"], owner_id=owner_id)
    return doc


async def unsubscribe(runtime: Runtime, owner_id: str, endpoint: str) -> None:
    """Forget the caller's subscription at ``endpoint``; one that is not theirs stays."""
    await runtime.documents.delete_many(COLLECTION, owner_id=owner_id, where={"endpoint": endpoint})


async def list_subscriptions(runtime: Runtime, owner_id: str) -> SubscriptionList:
    limit = runtime.settings.push.max_subscriptions
    page = await runtime.documents.find(COLLECTION, owner_id=owner_id, limit=limit)
    return SubscriptionList(items=[_public(doc) for doc in page.items])


def payload(event: str, data: dict[str, Any]) -> dict[str, Any]:
    """What the notification of a job's ``generation.completed``/``generation.failed`` event says.

    English text for any reader, plus the fields the web client's service worker words it from in
    the person's language; small, far under the 4 KiB push services take.
    """
    job_id, task = data["id"], data["task"]
    summary: dict[str, Any] = data.get("summary") or {}
    story_id = summary.get("story_id")
    story_title = summary.get("title") if task == "story" else None
    message: dict[str, Any] = {
        "event": event,
        "id": job_id,
        "task": task,
        "tag": f"generation-{job_id}",
        "url": f"/stories/{story_id}" if story_id else "/jobs",
    }
    if event == "generation.completed":
        message["title"] = "Your story is ready" if task == "story" else f"Your {task} job is done"
        message["body"] = story_title or f"The {task} job finished."
        if story_title:
            message["story_title"] = story_title
    else:
        message["title"] = f"Your {task} job failed"
        message["body"] = str(data.get("error") or "")[:BODY_MAX]
    return message


async def notify(runtime: Runtime, owner_id: str, message: dict[str, Any], *, mark: str | None = None) -> int:
    """Send ``message`` to every subscription of ``owner_id``; returns how many push services took it.
    ``mark``: the owner's mark as read before (see the module's docstring)."""
    settings = runtime.settings.push
    page = await runtime.documents.find(COLLECTION, owner_id=owner_id, limit=settings.max_subscriptions)
    if not page.items:
        with contextlib.suppress(*STORE_DOWN):  # not marked: the next end looks again
            await runtime.counters.swap_mark(mark_key(owner_id), mark, NONE, ttl_seconds=NONE_TTL_SECONDS)
        return 0
    body = json.dumps(message, separators=(",", ":"))
    timeout = aiohttp.ClientTimeout(total=settings.timeout_seconds)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        sent = await asyncio.gather(*(_send(runtime, session, doc, body) for doc in page.items))
    return sum(sent)


async def _send(runtime: Runtime, session: aiohttp.ClientSession, doc: Doc, body: str) -> bool:
    settings = runtime.settings.push
    info = {"endpoint": doc["endpoint"], "keys": {"p256dh": doc["p256dh"], "auth": doc["auth"]}}
    host = urlsplit(doc["endpoint"]).hostname
    try:
        await pywebpush.webpush_async(
            info,
            data=body,
            vapid_private_key=Vapid02(private_key=runtime.push_key.private),
            vapid_claims={"sub": settings.vapid_subject},  # pywebpush adds aud and exp
            ttl=settings.ttl_seconds,
            headers={"Urgency": "normal"},
            timeout=aiohttp.ClientTimeout(total=settings.timeout_seconds),
            aiohttp_session=session,
        )
    except pywebpush.WebPushException as e:
        status = e.status_code
        if status in GONE:
            await runtime.documents.delete(COLLECTION, doc["id"], owner_id=doc["owner_id"])
            log.info("push subscription gone, deleted", push_host=host, status=status)
        else:
            log.warning("push refused", push_host=host, status=status)
        return False
    except (aiohttp.ClientError, TimeoutError) as e:
        log.warning("push service unreachable", push_host=host, error=type(e).__name__)
        return False
    return True


# Sends in flight, kept so that the event loop does not collect them before they end.
_SENDING: set[asyncio.Task[None]] = set()


def notify_later(
    runtime: Runtime, owner_id: str, event: str, data: dict[str, Any], *, mark: str | None = None
) -> asyncio.Task[None] | None:
    """Send the notification of a job's end beside the job: the job ends now, whatever the push
    services do; what goes wrong is logged. ``mark``: the owner's mark, read as the job ended; none is
    sent (None returned) when it says the owner has no subscription."""
    if mark == NONE:
        return None

    async def send() -> None:
        try:
            await notify(runtime, owner_id, payload(event, data), mark=mark)
        except Exception:  # a notification is a courtesy: nothing that fails here may reach the job
            log.exception("push notification not sent", event_name=event)

    task = asyncio.create_task(send())
    _SENDING.add(task)
    task.add_done_callback(_SENDING.discard)
    return task
