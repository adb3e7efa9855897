"""Events reach exactly their user's sockets, on any notifier pod, and a socket that comes back gets
what it missed, in order, before anything new."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from storybang import events
from storybang.security import tokens
from tests.notifier.conftest import Client, connected, new_user


def progress(job: str, n: int) -> dict[str, object]:
    return {"id": job, "task": "story", "progress": n / 100, "delta": f"word{n} "}


async def test_an_event_reaches_every_socket_of_its_user_and_no_one_else(
    notifiers: tuple[str, str], keys: tokens.KeySet, bus: events.EventBus, clients: list[Client]
) -> None:
    ada, bob = new_user(), new_user()
    ada_here = await connected(clients, notifiers[0], keys, ada)
    ada_there = await connected(clients, notifiers[1], keys, ada)
    bob_here = await connected(clients, notifiers[0], keys, bob)

    event_id = await bus.publish(ada, "generation.queued", {"id": "job-1", "task": "story"})
    # Published after Ada's event on the same channel: once Bob has it, Ada's would have come too.
    marker = await bus.publish(bob, "story.updated", {"id": "story-1"})

    for client in (ada_here, ada_there):
        [(name, data)] = await client.wait_for(1)
        assert name == "generation.queued"
        assert data == {"event_id": event_id, "id": "job-1", "task": "story"}
    await bob_here.wait_for(1)
    assert bob_here.ids == [marker]


async def test_a_burst_reaches_every_socket_of_the_user_once_each_and_in_order(
    notifiers: tuple[str, str], keys: tokens.KeySet, bus: events.EventBus, clients: list[Client]
) -> None:
    # Published faster than they are sent: the notifier takes several Pub/Sub messages per turn
    # of its event loop and each socket several events per write-out.
    ada, bob = new_user(), new_user()
    ada_sockets = [await connected(clients, notifiers[n % 2], keys, ada) for n in range(6)]
    bob_here = await connected(clients, notifiers[0], keys, bob)

    sent = await asyncio.gather(*(bus.publish(ada, "generation.progress", progress("job-b", n)) for n in range(100)))
    marker = await bus.publish(bob, "story.updated", {"id": "story-b"})

    in_log_order = sorted(sent, key=events.parse_id)
    for client in ada_sockets:
        await client.wait_for(len(sent))
        assert client.ids == in_log_order
    await bob_here.wait_for(1)
    assert bob_here.ids == [marker]


async def test_an_event_published_while_connected_reaches_a_socket_on_another_pod(
    notifiers: tuple[str, str], keys: tokens.KeySet, bus: events.EventBus, clients: list[Client]
) -> None:
    user = new_user()
    client = await connected(clients, notifiers[1], keys, user)
    event_id = await bus.publish(user, "generation.completed", {"id": "job-2", "task": "image", "image_id": "i1"})
    [(name, data)] = await client.wait_for(1)
    assert (name, data["event_id"], data["image_id"]) == ("generation.completed", event_id, "i1")


async def test_a_socket_that_comes_back_gets_exactly_what_it_missed_in_order_then_new_events(
    notifiers: tuple[str, str], keys: tokens.KeySet, bus: events.EventBus, clients: list[Client]
) -> None:
    user = new_user()
    first = await connected(clients, notifiers[0], keys, user)
    await bus.publish(user, "generation.started", {"id": "job-3", "task": "story"})
    [(_, seen)] = await first.wait_for(1)
    await first.close()

    missed = [await bus.publish(user, "generation.progress", progress("job-3", n)) for n in range(5)]
    back = await connected(clients, notifiers[1], keys, user, last_event_id=seen["event_id"])
    await back.wait_for(5)
    newer = await bus.publish(user, "generation.completed", {"id": "job-3", "task": "story"})
    await back.wait_for(6)

    assert back.ids == [*missed, newer]
    assert [name for name, _ in back.received] == ["generation.progress"] * 5 + ["generation.completed"]
    assert [data["delta"] for _, data in back.received[:5]] == [f"word{n} " for n in range(5)]


async def test_events_published_during_a_reconnect_are_neither_lost_nor_reordered(
    notifiers: tuple[str, str], keys: tokens.KeySet, bus: events.EventBus, clients: list[Client]
) -> None:
    """The replay race: a publisher keeps going while sockets reconnect with a last_event_id."""
    user = new_user()
    start = await bus.publish(user, "generation.started", {"id": "job-4", "task": "story"})
    published: list[str] = []
    stop = asyncio.Event()

    async def publisher() -> None:
        n = 0
        while not stop.is_set():
            published.append(await bus.publish(user, "generation.progress", progress("job-4", n % 100)))
            n += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(publisher())
    try:
        sockets = []
        for round_ in range(6):
            await asyncio.sleep(0.03)
            sockets.append(await connected(clients, notifiers[round_ % 2], keys, user, last_event_id=start))
        await asyncio.sleep(0.2)
    finally:
        stop.set()
        await task
    last = await bus.publish(user, "generation.completed", {"id": "job-4", "task": "story"})
    expected = [*published, last]

    for client in sockets:
        await client.until(lambda: last in client.ids, "the last event")  # noqa: B023 - awaited in the loop
        # What a client keeps after dropping any id not above the greatest it has seen.
        kept: list[str] = []
        for event_id in client.ids:
            if not kept or events.parse_id(event_id) > events.parse_id(kept[-1]):
                kept.append(event_id)
            else:
                assert event_id in kept, "a duplicate is only ever a re-send of an event already received"
        assert kept == expected
        assert all(name != "events.resync" for name, _ in client.received)


async def test_the_log_of_a_user_is_bounded_and_a_client_past_it_is_told_to_resync(
    redis_url: str, notifier: str, keys: tokens.KeySet, clients: list[Client]
) -> None:
    small = events.RedisEventBus.open(redis_url, max_len=10, ttl_seconds=120)
    user = new_user()
    try:
        ids = [await small.publish(user, "story.updated", {"id": f"s{n}"}) for n in range(400)]
    finally:
        await small.close()
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        key = events.STREAM_PREFIX + user
        length = await redis.xlen(key)
        ttl = await redis.ttl(key)
        kept = [entry_id for entry_id, _ in await redis.xrange(key) or []]
    finally:
        await redis.aclose()
    # MAXLEN ~ trims whole radix-tree nodes (100 entries by default): bounded, not exact.
    assert 10 <= length <= 10 + 100
    assert 0 < ttl <= 120
    assert kept == ids[-length:]

    client = await connected(clients, notifier, keys, user, last_event_id=ids[0])
    received = await client.wait_for(1 + length)
    assert received[0] == ("events.resync", {"after_id": ids[0]})
    assert client.ids == kept
