"""A session that ends closes the user's sockets, and its tokens cannot open new ones."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import SignUp
from tests.notifier.conftest import WAIT_S, Client


async def test_logout_closes_open_sockets_and_refuses_the_old_token(
    notifier: str, client: httpx.AsyncClient, signup: SignUp, clients: list[Client]
) -> None:
    account = await signup()
    socket = Client()
    clients.append(socket)
    await socket.connect(notifier, {"token": account.access_token})
    assert socket.sio.connected

    r = await client.post("/api/v1/auth/logout", json={"refresh_token": account.refresh_token})
    assert r.status_code == 204
    (name, data), *_ = await socket.until(lambda: bool(socket.received), "session.ended")
    assert (name, data["reason"]) == ("session.ended", "logout")
    async with asyncio.timeout(WAIT_S):
        await socket.disconnected.wait()

    again = Client()
    clients.append(again)
    await again.connect(notifier, {"token": account.access_token}, raise_refusal=False)
    assert not again.sio.connected
    assert again.refusal is not None and again.refusal["data"] == {"code": "session_ended"}

    r = await client.post("/api/v1/auth/login", json={"email": account.email, "password": account.password})
    fresh = Client()
    clients.append(fresh)
    await fresh.connect(notifier, {"token": r.json()["access_token"]})
    assert fresh.sio.connected
