"""The notifier's ASGI apps: `storybang notifier` on Redis, and the embedded one for `storybang dev`.

Both serve Socket.IO on ``/socket.io``. The standalone app adds ``/healthz``, ``/readyz`` (Redis
answers and the Pub/Sub subscription is up) and ``/metrics``; the embedded one is wrapped around
the dev API app, which has its own health routes. The standalone notifier may run as several
replicas behind one Service, so it takes WebSockets only unless told otherwise; the embedded one,
a single process, also takes long-polling.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs

import socketio  # type: ignore[import-untyped]
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from storybang import events
from storybang.notifier import delivery, handshake, server
from storybang.security import tokens
from storybang.settings import Settings
from storybang.stores import redis
from storybang.stores.revocations import RedisRevocations, Revocations

SOCKETIO_PATH = "socket.io"
# uvicorn's WebSocket settings for `storybang notifier`. Events are small JSON messages, each sent
# to every socket of its user: per-message deflate, which browsers always ask for, would compress
# every copy again and keep zlib state (tens of KB) per socket for little gain. Engine.IO
# already pings every socket and closes the ones that stop answering; uvicorn's own keepalive ping
# would be a second timer per socket doing the same.
SERVER_OPTIONS: dict[str, Any] = {"ws_per_message_deflate": False, "ws_ping_interval": None}
POLLING_REFUSED = (
    "This notifier takes the WebSocket transport only: connect with transports=['websocket']. "
    "Long-polling would need every request of a session to reach the same one of several notifiers."
)


def origin_policy(settings: Settings) -> handshake.OriginPolicy:
    return handshake.OriginPolicy.build(settings.notifier.allowed_origins, dev=settings.env == "dev")


def create_app(settings: Settings) -> ASGIApp:
    """`storybang notifier`. Raises ``ValueError`` without a Redis URL: the standalone notifier
    exists to share rooms across pods, which only Redis does."""
    if settings.redis.url is None or not settings.redis.url.get_secret_value():
        raise ValueError("the notifier needs Redis: set STORYBANG_REDIS__URL")
    url = settings.redis.url.get_secret_value()
    options = settings.notifier
    bus = events.RedisEventBus.open(url, max_len=options.stream_max_len, ttl_seconds=options.stream_ttl_seconds)
    manager = delivery.RedisOrderedManager(url)
    revocations = RedisRevocations(redis.client(url), ttl_seconds=tokens.lifetime(settings.auth))
    sio = server.build(
        keys=tokens.KeySet.from_settings(settings.auth, settings.data_dir),
        bus=bus,
        manager=manager,
        origins=origin_policy(settings),
        revocations=revocations,
        polling=options.polling,
    )

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        checks = {"redis": "ok", "subscription": "ok" if manager.subscribed else "not subscribed"}
        try:
            await bus.ping()
        except RedisError as e:
            checks["redis"] = f"error: {type(e).__name__}"
        ready = all(v == "ok" for v in checks.values())
        body = {"status": "ok" if ready else "unavailable", "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        manager.initialize()  # subscribe now, not on the first socket
        try:
            yield
        finally:
            await bus.close()
            await revocations.close()

    web = Starlette(
        routes=[Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", _metrics)],
        lifespan=lifespan,
    )
    app: ASGIApp = socketio.ASGIApp(sio, other_asgi_app=web, socketio_path=SOCKETIO_PATH)
    if not options.polling:
        app = _websocket_only(app)
    return _with_cors(app, origin_policy(settings))


def embed(app: ASGIApp, settings: Settings, bus: events.InProcessEventBus, revocations: Revocations) -> ASGIApp:
    """Serve ``/socket.io`` in front of ``app`` in the same process (`storybang dev`); ``bus`` and
    ``revocations`` are then the ones the process writes to, shared with this server."""
    manager = delivery.OrderedManager()
    sio = server.build(
        keys=tokens.KeySet.from_settings(settings.auth, settings.data_dir),
        bus=bus,
        manager=manager,
        origins=origin_policy(settings),
        revocations=revocations,
    )

    async def fanout(room: str, name: str, payload: dict[str, Any]) -> None:
        await sio.emit(name, payload, room=room)

    bus.attach(fanout)
    return _with_cors(socketio.ASGIApp(sio, other_asgi_app=app, socketio_path=SOCKETIO_PATH), origin_policy(settings))


async def _metrics(_: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _websocket_only(app: ASGIApp) -> ASGIApp:
    """Refuse Socket.IO's long-polling with a problem that says what to do: Engine.IO's own answer
    is a bare "Invalid transport". The refusal comes at the first request, before any session, so a
    client never gets as far as polling one replica about a session that another one holds."""

    async def refuse_polling(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(f"/{SOCKETIO_PATH}"):
            # Engine.IO takes a request without a transport for polling.
            transport = parse_qs(scope["query_string"].decode("latin-1")).get("transport", ["polling"])[0]
            if transport != "websocket":
                # RFC 9457 like the APIs' errors, written here: the notifier imports no API module.
                refusal = {
                    "type": "about:blank",
                    "title": "Bad Request",
                    "status": 400,
                    "detail": POLLING_REFUSED,
                    "errors": [{"field": "transport", "message": f"{transport!r} is not accepted: use 'websocket'"}],
                }
                await JSONResponse(refusal, 400, media_type="application/problem+json")(scope, receive, send)
                return
        await app(scope, receive, send)

    return refuse_polling


def _with_cors(app: ASGIApp, origins: handshake.OriginPolicy) -> ASGIApp:
    """CORS headers for the polling transport (browsers apply CORS to it, not to WebSocket), on
    ``/socket.io`` only: the API beside it in `storybang dev` is same-origin."""
    if not origins.loopback and not origins.allowed:
        return app  # same origin only: nothing to add
    cors = CORSMiddleware(
        app,
        allow_origins=sorted(origins.allowed),
        allow_origin_regex=handshake.LOOPBACK_ORIGIN if origins.loopback else None,
        allow_methods=["GET", "POST"],
    )

    async def socketio_only(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(f"/{SOCKETIO_PATH}"):
            await cors(scope, receive, send)
        else:
            await app(scope, receive, send)

    return socketio_only
