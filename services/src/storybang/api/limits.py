"""A body-size limit for every request, enforced before the application reads the body.

Uploads (multipart, images) may be larger than JSON bodies. A request that announces or sends
more than its limit is answered 413 as problem+json and never reaches a route; a JSON body nested
deeper than any of our models is answered 422 before a parser recurses through it.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storybang import validation

_UPLOAD_TYPES = ("multipart/form-data", "image/", "application/octet-stream")
# The headers that announce a body (RFC 9112 6.3).
_BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        if not any(name in _BODY_HEADERS for name, _ in headers):
            # No body (RFC 9112 6.3: a request with neither header has none): nothing to bound. Most
            # requests are reads: told with one pass over the headers, no dictionary of them made.
            await self.app(scope, receive, send)
            return
        named = dict(headers)
        content_type = named.get(b"content-type", b"").decode("latin-1").lower()
        limit = self.max_upload if content_type.startswith(_UPLOAD_TYPES) else self.max_body
        declared = named.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _reject(send, limit)
            return
        # Read the whole body up front (bounded by the limit), then replay it to the app.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message, receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _reject(send, limit)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        if _is_json(content_type) and validation.too_deep(b"".join(chunks)):
            await _answer(
                send,
                422,
                "invalid-input",
                "Invalid input",
                f"The JSON body is nested more than {validation.MAX_DOCUMENT_DEPTH} levels deep.",
            )
            return
        await self.app(scope, _replay(chunks, None, receive), send)


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";")[0].strip()
    return media_type == "application/json" or media_type.endswith("+json")


def _replay(chunks: list[bytes], pending: Message | None, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if pending is not None:
            return pending
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        return await receive()

    return replay


async def _reject(send: Send, limit: int) -> None:
    await _answer(
        send, 413, "payload-too-large", "Payload too large", f"The request body is larger than {limit} bytes."
    )


async def _answer(send: Send, status: int, slug: str, title: str, detail: str) -> None:
    body = json.dumps(
        {"type": f"https://storybang.io/problems/{slug}", "title": title, "status": status, "detail": detail}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
