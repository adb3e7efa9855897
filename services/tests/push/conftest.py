"""Push fixtures: a browser's subscription keys, and a local HTTP server standing in for a push service.

A real push service (FCM, Mozilla's autopush, Apple's) cannot be reached from here, so
:class:`PushService` plays one: it takes each POST as a push service does (RFC 8030), keeps it, and
answers the status a test chooses. The tests then check what a browser would: they decrypt the body
with the subscription's private key and verify the VAPID signature with the server's public key.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp.web
import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """What a browser holds for one subscription: its ECDH key pair and auth secret (RFC 8291)."""

    endpoint: str
    private: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        point = self.private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    def subscription(self) -> dict[str, Any]:
        """As ``PushSubscription.toJSON()`` gives it."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)},
        }

    def decrypt(self, body: bytes) -> dict[str, Any]:
        """The push message, decrypted as the browser does (aes128gcm, RFC 8188/8291)."""
        plain: bytes = http_ece.decrypt(body, private_key=self.private, auth_secret=self.auth, version="aes128gcm")
        message: dict[str, Any] = json.loads(plain)
        return message


def fcm_browser() -> Browser:
    """A browser subscribed at a real push service's address (never contacted by these tests)."""
    return Browser(f"https://fcm.googleapis.com/fcm/send/{secrets.token_urlsafe(24)}")


@dataclass
class Push:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


class PushService:
    """A local stand-in for a push service: keeps every push, answers ``status`` (201 by default)."""

    def __init__(self) -> None:
        self.received: list[Push] = []
        self.status = 201
        self.base_url = ""
        self._arrived = asyncio.Condition()

    async def take(self, request: aiohttp.web.Request) -> aiohttp.web.Response:
        headers = {name.lower(): value for name, value in request.headers.items()}
        async with self._arrived:
            self.received.append(Push(request.path, headers, await request.read()))
            self._arrived.notify_all()
        return aiohttp.web.Response(status=self.status)

    async def wait_for(self, count: int) -> None:
        """Until ``count`` pushes have arrived (within half a minute)."""
        async with asyncio.timeout(30), self._arrived:
            await self._arrived.wait_for(lambda: len(self.received) >= count)

    def browser(self) -> Browser:
        return Browser(f"{self.base_url}/push/{secrets.token_urlsafe(16)}")


def verify_vapid(authorization: str, application_server_key: str) -> dict[str, Any]:
    """Check a ``vapid t=<JWT>, k=<key>`` header (RFC 8292) as a push service does; the JWT's claims."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid", authorization
    values = dict(part.strip().split("=", 1) for part in params.split(","))
    assert values["k"] == application_server_key
    header_b64, claims_b64, signature_b64 = values["t"].split(".")
    assert json.loads(unb64url(header_b64)) == {"typ": "JWT", "alg": "ES256"}
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(application_server_key))
    raw = unb64url(signature_b64)
    signature = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    # Raises InvalidSignature when the token was not signed by the key the browser subscribed with.
    public.verify(signature, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    claims: dict[str, Any] = json.loads(unb64url(claims_b64))
    return claims


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    service = PushService()
    app = aiohttp.web.Application()
    app.router.add_post("/push/{token}", service.take)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    service.base_url = f"http://127.0.0.1:{port}"
    yield service
    await runner.cleanup()
