"""The Socket.IO server: thin connect/disconnect handlers over :mod:`.handshake` and :mod:`.delivery`.

A socket lives no longer than its access token: at ``exp`` the server disconnects it, and the
client reconnects with a fresh token and its last ``event_id`` (nothing is missed). A token issued
before the user's sessions ended (logout, password change, account disabled or deleted) is refused,
and a ``session.ended`` event closes the user's open sockets at once, without calling the APIs.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import socketio  # type: ignore[import-untyped]

from storybang import events, logs
from storybang.notifier import delivery, handshake, metrics
from storybang.security import tokens
from storybang.stores.revocations import Revocations

# Clients only ever send the connect packet (a token and an event id): refuse anything bigger.
MAX_CLIENT_MESSAGE_BYTES = 16 * 1024

log = logs.get(__name__)


def build(
    *,
    keys: tokens.KeySet,
    bus: events.EventBus,
    manager: delivery.OrderedManager,
    origins: handshake.OriginPolicy,
    revocations: Revocations,
    polling: bool = True,
) -> socketio.AsyncServer:
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=manager,
        transports=["websocket", "polling"] if polling else ["websocket"],
        # Origins are checked in the connect handler, which can say why; CORS headers for the
        # polling transport come from the app's middleware.
        cors_allowed_origins=[],
        max_http_buffer_size=MAX_CLIENT_MESSAGE_BYTES,
        logger=False,
        engineio_logger=False,
    )
    expiries: dict[str, asyncio.TimerHandle] = {}
    tasks: set[asyncio.Task[None]] = set()
    metrics.count_users(lambda: manager.rooms)

    def expire(sid: str) -> None:
        expiries.pop(sid, None)
        task = asyncio.ensure_future(sio.disconnect(sid))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def connect(sid: str, environ: dict[str, Any], auth: object = None) -> None:
        try:
            hello = handshake.check(keys, origins, environ, auth)
            if hello.session_version < await revocations.version(hello.user_id):
                raise handshake.Refused("session_ended", "The session has ended: log in again.")
            await delivery.join(manager, bus, sid, hello)
        except handshake.Refused as e:
            metrics.REFUSED.labels(e.code).inc()
            log.info("socket refused", code=e.code)
            raise socketio.exceptions.ConnectionRefusedError(e.message, {"code": e.code}) from e
        delay = max(0.0, hello.expires_at - time.time())
        expiries[sid] = asyncio.get_running_loop().call_later(delay, expire, sid)
        metrics.CONNECTIONS.inc()
        metrics.CONNECTED.inc()

    async def disconnect(sid: str, reason: object = None) -> None:
        timer = expiries.pop(sid, None)
        if timer is not None:
            timer.cancel()
        metrics.CONNECTED.dec()

    sio.on("connect", connect)
    sio.on("disconnect", disconnect)
    return sio
