"""Two real notifier processes on the real Redis, real Socket.IO clients, tokens from our KeySet.

The notifier's settings name MySQL and MongoDB URLs that nothing listens on: the settings demand
them outside dev, and the notifier working without them shows it never calls those stores.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import socketio  # type: ignore[import-untyped]

from storybang import events
from storybang.security import tokens
from storybang.settings import Settings
from storybang_testing import processes
from storybang_testing.waiting import free_port
from tests.conftest import make_settings
from tests.processes import settings_env

UNUSED_MYSQL = "mysql+asyncmy://nobody:nothing@127.0.0.1:9/none"
UNUSED_MONGO = "mongodb://127.0.0.1:9/none"
# How long a test waits for an event that should come; absent events are proven with markers.
WAIT_S = 10.0


@pytest.fixture(scope="session")
def notifier_settings(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Settings:
    return make_settings(
        tmp_path_factory.mktemp("notifier"),
        redis={"url": redis_url},
        mysql={"url": UNUSED_MYSQL},
        mongo={"url": UNUSED_MONGO},
    )


@pytest.fixture(scope="session")
def keys(notifier_settings: Settings) -> tokens.KeySet:
    return tokens.KeySet.from_settings(notifier_settings.auth, notifier_settings.data_dir)


@dataclass(frozen=True)
class Process:
    base: str
    pid: int


@contextmanager
def notifier_process(
    settings: Settings, log: Path, *, extra_env: dict[str, str] | None = None, timeout: float = 60
) -> Iterator[Process]:
    """``python -m storybang notifier`` (the same command as ``storybang notifier``), ready when
    /readyz says Redis answers and the Pub/Sub subscription is up."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYBANG_")} | settings_env(settings)
    env |= extra_env or {}
    base = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "storybang", "notifier", "--host", "127.0.0.1", "--port", str(port)]
    with processes.serving(args, log, lambda: processes.answers(base + "/readyz"), env=env, timeout=timeout) as proc:
        yield Process(base, proc.pid)


@pytest.fixture(scope="session")
def notifiers(notifier_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Two notifier pods sharing Redis."""
    logs = tmp_path_factory.mktemp("notifier-logs")
    with (
        notifier_process(notifier_settings, logs / "a.log") as a,
        notifier_process(notifier_settings, logs / "b.log") as b,
    ):
        yield a.base, b.base


@pytest.fixture(scope="session")
def notifier(notifiers: tuple[str, str]) -> str:
    return notifiers[0]


@pytest.fixture
async def bus(redis_url: str) -> AsyncIterator[events.RedisEventBus]:
    bus = events.RedisEventBus.open(redis_url, max_len=1000, ttl_seconds=3600)
    yield bus
    await bus.close()


def new_user() -> str:
    return uuid.uuid4().hex


@dataclass
class Client:
    """A Socket.IO client that records every event it receives, in order."""

    sio: socketio.AsyncClient = field(default_factory=lambda: socketio.AsyncClient(reconnection=False))
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    refusal: dict[str, Any] | None = None
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        async def on_any(name: str, data: dict[str, Any]) -> None:
            self.received.append((name, data))
            self.arrived.set()

        async def on_connect_error(data: dict[str, Any]) -> None:
            self.refusal = data

        async def on_disconnect(reason: object = None) -> None:
            self.disconnected.set()

        self.sio.on("*", on_any)
        self.sio.on("connect_error", on_connect_error)
        self.sio.on("disconnect", on_disconnect)

    async def connect(
        self, base: str, auth: dict[str, Any] | None, *, origin: str | None = None, raise_refusal: bool = True
    ) -> None:
        headers = {"Origin": origin} if origin else {}
        try:
            await self.sio.connect(base, auth=auth, headers=headers, transports=["websocket"], wait_timeout=WAIT_S)
        except socketio.exceptions.ConnectionError:
            if raise_refusal:
                raise

    @property
    def ids(self) -> list[str]:
        return [data["event_id"] for name, data in self.received if "event_id" in data]

    async def until(self, done: Callable[[], bool], what: str) -> list[tuple[str, dict[str, Any]]]:
        """Wait until ``done()``; fails the test after :data:`WAIT_S`."""
        try:
            async with asyncio.timeout(WAIT_S):
                while not done():
                    self.arrived.clear()
                    await self.arrived.wait()
        except TimeoutError:
            pytest.fail(f"waited for {what}; got {len(self.received)} events: {self.received}")
        return self.received

    async def wait_for(self, count: int) -> list[tuple[str, dict[str, Any]]]:
        return await self.until(lambda: len(self.received) >= count, f"{count} events")

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


@pytest.fixture
async def clients() -> AsyncIterator[list[Client]]:
    """Clients made by a test; all closed after it."""
    made: list[Client] = []
    yield made
    for client in made:
        await client.close()


async def connected(
    made: list[Client], base: str, keys: tokens.KeySet, user_id: str, last_event_id: str | None = None
) -> Client:
    client = Client()
    made.append(client)
    token, _ = keys.issue(user_id, "user")
    auth: dict[str, Any] = {"token": token}
    if last_event_id is not None:
        auth["last_event_id"] = last_event_id
    await client.connect(base, auth)
    return client
