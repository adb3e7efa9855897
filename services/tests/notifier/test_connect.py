"""Who may open a socket: a valid access token, from an allowed origin; everyone else is told why."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from storybang.security import tokens
from storybang.settings import AuthSettings, Settings
from tests.notifier.conftest import Client, connected, new_user, notifier_process


def issued_at(keys: tokens.KeySet, at: float, monkeypatch: pytest.MonkeyPatch) -> str:
    """A token as our KeySet would have issued it at time ``at``."""
    with monkeypatch.context() as m:
        m.setattr(time, "time", lambda: at)
        token, _ = keys.issue(new_user(), "user")
    return token


async def refusal(base: str, auth: Any, *, origin: str | None = None) -> dict[str, Any]:
    client = Client()
    await client.connect(base, auth, origin=origin, raise_refusal=False)
    assert not client.sio.connected
    assert client.refusal is not None, "the server must say why"
    await client.close()
    return client.refusal


async def test_a_valid_token_connects(notifier: str, keys: tokens.KeySet, clients: list[Client]) -> None:
    client = await connected(clients, notifier, keys, new_user())
    assert client.sio.connected


async def test_an_expired_token_is_refused(notifier: str, keys: tokens.KeySet, monkeypatch: pytest.MonkeyPatch) -> None:
    token = issued_at(keys, time.time() - 3600, monkeypatch)
    refused = await refusal(notifier, {"token": token})
    assert refused["data"] == {"code": "token_expired"}
    assert "expired" in refused["message"]


async def test_a_token_signed_by_another_key_is_refused(notifier: str, tmp_path: Path) -> None:
    other = tokens.KeySet.from_settings(AuthSettings(signing_key=tokens.generate_pem()), tmp_path)
    token, _ = other.issue(new_user(), "user")
    refused = await refusal(notifier, {"token": token})
    assert refused["data"] == {"code": "invalid_token"}


async def test_a_tampered_token_is_refused(notifier: str, keys: tokens.KeySet) -> None:
    header, claims, signature = keys.issue(new_user(), "user")[0].split(".")
    other_claims = keys.issue(new_user(), "admin")[0].split(".")[1]
    refused = await refusal(notifier, {"token": f"{header}.{other_claims[:-2]}xx.{signature}"})
    assert refused["data"] == {"code": "invalid_token"}
    assert claims != other_claims


@pytest.mark.parametrize("auth", [None, {}, {"token": ""}, {"token": 42}, "a bare string"])
async def test_a_missing_token_is_refused(notifier: str, auth: Any) -> None:
    refused = await refusal(notifier, auth)
    assert refused["data"] == {"code": "missing_token"}


async def test_an_unknown_last_event_id_format_is_refused(notifier: str, keys: tokens.KeySet) -> None:
    token, _ = keys.issue(new_user(), "user")
    refused = await refusal(notifier, {"token": token, "last_event_id": "yesterday"})
    assert refused["data"] == {"code": "invalid_last_event_id"}


async def test_another_origin_is_refused(notifier: str, keys: tokens.KeySet) -> None:
    # Outside dev with no allow-list, only the notifier's own host may connect from a browser.
    token, _ = keys.issue(new_user(), "user")
    refused = await refusal(notifier, {"token": token}, origin="https://evil.example")
    assert refused["data"] == {"code": "origin_not_allowed"}


ALLOWED = "https://app.storybang.test"


@pytest.fixture(scope="module")
def listed_notifier(notifier_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A notifier with an Origin allow-list, set the way a deployment sets it."""
    env = {"STORYBANG_NOTIFIER__ALLOWED_ORIGINS": json.dumps([ALLOWED])}
    log = tmp_path_factory.mktemp("listed") / "notifier.log"
    with notifier_process(notifier_settings, log, extra_env=env) as process:
        yield process.base


async def test_an_origin_on_the_allow_list_connects_and_others_are_refused(
    listed_notifier: str, keys: tokens.KeySet, clients: list[Client]
) -> None:
    token, _ = keys.issue(new_user(), "user")
    client = Client()
    clients.append(client)
    await client.connect(listed_notifier, {"token": token}, origin=ALLOWED)
    assert client.sio.connected
    for other in ("https://evil.example", listed_notifier):  # with a list, even the own host is not implied
        refused = await refusal(listed_notifier, {"token": token}, origin=other)
        assert refused["data"] == {"code": "origin_not_allowed"}


async def test_the_same_origin_connects(notifier: str, keys: tokens.KeySet, clients: list[Client]) -> None:
    client = Client()
    clients.append(client)
    token, _ = keys.issue(new_user(), "user")
    await client.connect(notifier, {"token": token}, origin=notifier)
    assert client.sio.connected


async def test_a_socket_is_closed_when_its_token_expires(
    notifier: str,
    notifier_settings: Settings,
    keys: tokens.KeySet,
    clients: list[Client],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Issued long enough ago that it has 2 s left.
    token = issued_at(keys, time.time() - notifier_settings.auth.access_token_ttl_seconds + 2, monkeypatch)
    client = Client()
    clients.append(client)
    await client.connect(notifier, {"token": token})
    assert client.sio.connected
    async with asyncio.timeout(10):
        await client.disconnected.wait()


async def test_refusals_and_connections_are_counted(notifier: str) -> None:
    await refusal(notifier, None)
    async with httpx.AsyncClient(base_url=notifier) as http:
        text = (await http.get("/metrics")).text
        ready = await http.get("/readyz")
    assert "storybang_notifier_connections_total" in text
    assert 'storybang_notifier_connections_refused_total{reason="missing_token"}' in text
    assert ready.json()["checks"] == {"redis": "ok", "subscription": "ok"}


def test_the_notifier_will_not_start_without_redis(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYBANG_")} | {
        "STORYBANG_ENV": "dev",
        "STORYBANG_DATA_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "storybang", "notifier"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "needs Redis" in done.stderr
