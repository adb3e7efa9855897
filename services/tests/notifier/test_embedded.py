"""`storybang dev`: Socket.IO mounted in front of the dev app, fed by the in-process bus."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from storybang import events
from storybang.notifier import app as notifier_app
from storybang.security import tokens
from storybang.stores.revocations import MemoryRevocations
from storybang_testing.waiting import free_port
from tests.conftest import make_settings
from tests.notifier.conftest import Client, connected, new_user


async def hello(_: object) -> PlainTextResponse:
    return PlainTextResponse("the dev app")


@pytest.fixture
async def embedded(tmp_path: Path) -> AsyncIterator[tuple[str, tokens.KeySet, events.InProcessEventBus]]:
    settings = make_settings(tmp_path, env="dev")
    bus = events.InProcessEventBus(max_len=100)
    app = notifier_app.embed(Starlette(routes=[Route("/", hello)]), settings, bus, MemoryRevocations(ttl_seconds=60))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
            await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}", tokens.KeySet.from_settings(settings.auth, settings.data_dir), bus
    server.should_exit = True
    await task


async def test_the_dev_app_still_answers_beside_socketio(
    embedded: tuple[str, tokens.KeySet, events.InProcessEventBus],
) -> None:
    base, _, _ = embedded
    async with httpx.AsyncClient() as http:
        assert (await http.get(base + "/")).text == "the dev app"


async def test_in_process_events_are_delivered_and_replayed(
    embedded: tuple[str, tokens.KeySet, events.InProcessEventBus], clients: list[Client]
) -> None:
    base, keys, bus = embedded
    user = new_user()
    live = await connected(clients, base, keys, user)
    first = await bus.publish(user, "generation.queued", {"id": "j", "task": "translate"})
    await live.wait_for(1)
    await live.close()

    missed = [await bus.publish(user, "generation.progress", {"id": "j", "task": "translate", "progress": 0.5})]
    back = await connected(clients, base, keys, user, last_event_id=first)
    await back.wait_for(1)
    assert back.ids == missed
    assert live.ids == [first]


async def test_in_dev_with_no_allow_list_a_loopback_origin_connects_and_a_foreign_one_does_not(
    embedded: tuple[str, tokens.KeySet, events.InProcessEventBus], clients: list[Client]
) -> None:
    base, keys, _ = embedded
    client = Client()
    clients.append(client)
    token, _ = keys.issue(new_user(), "user")
    await client.connect(base, {"token": token}, origin="http://localhost:5173")
    assert client.sio.connected
    refused = Client()
    clients.append(refused)
    await refused.connect(base, {"token": token}, origin="https://evil.example", raise_refusal=False)
    assert not refused.sio.connected


async def test_cors_is_answered_on_socketio_only(embedded: tuple[str, tokens.KeySet, events.InProcessEventBus]) -> None:
    base, _, _ = embedded
    preflight = {"Access-Control-Request-Method": "GET"}
    async with httpx.AsyncClient() as http:
        r = await http.options(base + "/socket.io/", headers={**preflight, "Origin": "http://localhost:5173"})
        assert r.headers.get("access-control-allow-origin") == "http://localhost:5173"
        r = await http.options(base + "/socket.io/", headers={**preflight, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers
        r = await http.get(base + "/", headers={"Origin": "http://localhost:5173"})
        assert r.text == "the dev app"
        assert "access-control-allow-origin" not in r.headers
