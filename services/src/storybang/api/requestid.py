"""A request id on every request: taken from ``X-Request-ID`` when a proxy set a sane one, made
otherwise, echoed in the response, and bound to every log line written while the request runs
(structlog's context variables), so one request's lines can be found together."""

from __future__ import annotations

import itertools
import re
import secrets

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"
# What an ingress controller or a client sends (ingress-nginx: 32 hex characters); anything else
# is replaced rather than written to the logs as it came.
_SANE = re.compile(rb"^[A-Za-z0-9._:-]{8,128}$")


# Made ids: this process's random prefix and a count, unique without asking the OS for randomness
# on every request (an id names a request in the logs; it is no secret and guards nothing).
_PREFIX = secrets.token_hex(8)
_count = itertools.count()


def _new_id() -> bytes:
    return f"{_PREFIX}{next(_count):016x}".encode()


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == HEADER), b"")
        request_id = given if _SANE.match(given) else _new_id()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (HEADER, request_id)]
            await send(message)

        # bind and reset rather than structlog's bound_contextvars(), which copies the whole context
        # of the request twice to save and restore values a fresh request does not have.
        bound = structlog.contextvars.bind_contextvars(request_id=request_id.decode())
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.reset_contextvars(**bound)
