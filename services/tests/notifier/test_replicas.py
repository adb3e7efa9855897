"""Several notifier replicas behind one Service: every socket gets each event once, whichever
replica holds it, and a long-polling client, whose requests could each reach another replica, is
refused at its first request with the reason."""

from __future__ import annotations

import aiohttp
import httpx
import pytest
import socketio  # type: ignore[import-untyped]

from storybang import events
from storybang.security import tokens
from tests.notifier.conftest import Client, connected, new_user


async def test_an_event_published_once_reaches_a_socket_on_each_replica_exactly_once(
    notifiers: tuple[str, str], keys: tokens.KeySet, bus: events.EventBus, clients: list[Client]
) -> None:
    user = new_user()
    on_a = await connected(clients, notifiers[0], keys, user)
    on_b = await connected(clients, notifiers[1], keys, user)
    event_id = await bus.publish(user, "generation.completed", {"id": "job-r", "task": "story"})
    # Published after the event on the same channel: once a socket has it, a second copy of the
    # event would have come before it.
    marker = await bus.publish(user, "story.updated", {"id": "story-r"})
    for client in (on_a, on_b):
        await client.until(lambda c=client: marker in c.ids, "the marker")
        assert client.ids == [event_id, marker]


@pytest.mark.parametrize("query", ["EIO=4&transport=polling", "EIO=4"])
async def test_a_long_polling_handshake_is_refused_with_the_reason(notifiers: tuple[str, str], query: str) -> None:
    for base in notifiers:
        async with httpx.AsyncClient(base_url=base) as http:
            r = await http.get(f"/socket.io/?{query}")
        assert r.status_code == 400
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert "transports=['websocket']" in problem["detail"]
        assert [e["field"] for e in problem["errors"]] == ["transport"]


async def test_a_client_that_asks_for_polling_only_is_told_why(notifiers: tuple[str, str], keys: tokens.KeySet) -> None:
    # A session of the test's own: Engine.IO's client closes one it made itself before it reads a
    # refusal's body, and when the body comes in a later packet than the status line (a busy
    # machine) the reason is lost to a "Connection closed" error; a given session stays open.
    async with aiohttp.ClientSession() as session:
        client = socketio.AsyncClient(reconnection=False, http_session=session)
        token, _ = keys.issue(new_user(), "user")
        with pytest.raises(socketio.exceptions.ConnectionError, match="400"):
            await client.connect(notifiers[0], auth={"token": token}, transports=["polling"], wait_timeout=5)
    assert not client.connected
