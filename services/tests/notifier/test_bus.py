"""The event bus contract, run on both buses: Redis (real server) and in-process (`storybang dev`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from storybang import errors, events
from tests.notifier.conftest import new_user


@pytest.fixture(params=["redis", "in-process"])
async def any_bus(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[events.EventBus]:
    bus: events.EventBus
    if request.param == "redis":
        bus = events.RedisEventBus.open(redis_url, max_len=10, ttl_seconds=60)
    else:
        bus = events.InProcessEventBus(max_len=10)
    yield bus
    await bus.close()


async def test_event_ids_grow_and_replay_returns_what_came_after(any_bus: events.EventBus) -> None:
    user = new_user()
    ids = [await any_bus.publish(user, "story.updated", {"id": "s", "n": n}) for n in range(5)]
    assert ids == sorted(ids, key=events.parse_id) and len(set(ids)) == 5

    replay = await any_bus.replay(user, ids[1])
    assert replay.complete
    assert [e.id for e in replay.events] == ids[2:]
    assert [e.data["n"] for e in replay.events] == [2, 3, 4]
    assert replay.events[0].payload == {"event_id": ids[2], "id": "s", "n": 2}

    assert (await any_bus.replay(user, ids[-1])) == events.Replay([], complete=True)


async def test_replay_is_incomplete_once_the_last_seen_event_is_gone(any_bus: events.EventBus) -> None:
    user = new_user()
    first = await any_bus.publish(user, "story.updated", {"id": "s"})
    for _ in range(300):  # Redis trims approximately (whole nodes of 100): go well past max_len
        await any_bus.publish(user, "story.updated", {"id": "s"})
    replay = await any_bus.replay(user, first)
    assert not replay.complete
    assert 10 <= len(replay.events) <= 110

    nobody = await any_bus.replay(new_user(), first)
    assert nobody == events.Replay([], complete=False)  # expired, or never known: resync


async def test_users_do_not_see_each_others_events(any_bus: events.EventBus) -> None:
    ada, bob = new_user(), new_user()
    start = await any_bus.publish(ada, "character.updated", {"id": "c1"})
    await any_bus.publish(bob, "character.updated", {"id": "c2"})
    await any_bus.publish(ada, "character.updated", {"id": "c3"})
    assert [e.data["id"] for e in (await any_bus.replay(ada, start)).events] == ["c3"]


@pytest.mark.parametrize(
    ("name", "data", "why"),
    [
        ("generation.exploded", {"id": "j", "task": "story"}, "unknown event"),
        ("generation.queued", {"id": "j"}, "needs task"),
        ("story.updated", {"title": "t"}, "needs id"),
        ("generation.progress", {"id": "j", "task": "story", "progress": 1.5}, "between 0 and 1"),
        ("generation.progress", {"id": "j", "task": "story", "progress": "half"}, "between 0 and 1"),
        ("story.updated", {"id": "s", "at": object()}, "not JSON"),
        ("story.updated", {"id": "s", "event_id": "1-1"}, "set by the bus"),
        ("generation.queued", {"id": "j", "task": "story", "access_token": "x"}, "credentials"),
        ("story.updated", {"id": "s", "author": {"refresh_token": "x"}}, "credentials"),
        ("story.updated", {"id": "s", "text": "x" * events.MAX_DATA_BYTES}, "over"),
    ],
)
async def test_an_event_that_breaks_the_contract_is_refused(
    any_bus: events.EventBus, name: str, data: dict[str, Any], why: str
) -> None:
    with pytest.raises(ValueError, match=why):
        await any_bus.publish(new_user(), name, data)


async def test_usage_counts_are_not_mistaken_for_credentials(any_bus: events.EventBus) -> None:
    data = {"id": "j", "task": "story", "completion_tokens": 120, "token_count": 3}
    await any_bus.publish(new_user(), "generation.completed", data)


async def test_text_that_looks_like_the_id_slot_does_not_break_the_fanout() -> None:
    prefix, suffix = events.fanout_message("u", "story.updated", {"id": "s", "text": '"\x00event_id\x00"'}, "h")
    assert '"data":[{"event_id":"' in prefix and '"text"' in suffix


async def test_a_redis_that_is_down_is_unavailable_not_a_crash() -> None:
    bus = events.RedisEventBus.open("redis://127.0.0.1:9/0", max_len=10, ttl_seconds=60)
    try:
        with pytest.raises(errors.Unavailable):
            await bus.publish(new_user(), "story.updated", {"id": "s"})
        with pytest.raises(errors.Unavailable):
            await bus.replay(new_user(), "1-0")
    finally:
        await bus.close()
