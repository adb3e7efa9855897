"""Web Push: the request and response models of the API (stored subscriptions are plain dicts)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from storybang.security import vapid

# Push services' endpoints are a few hundred characters; this leaves room and bounds the document.
ENDPOINT_MAX = 2048
# RFC 8291: the browser's ECDH key is an uncompressed P-256 point, its auth secret 16 bytes.
P256DH_BYTES, AUTH_BYTES = 65, 16


def _p256dh(value: str) -> str:
    try:
        raw = vapid.b64url_decode(value)
    except ValueError as e:
        raise ValueError("must be base64url") from e
    if len(raw) != P256DH_BYTES:
        raise ValueError(f"must be {P256DH_BYTES} bytes (an uncompressed P-256 point)")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as e:
        raise ValueError("is not a point on P-256") from e
    return value


def _auth(value: str) -> str:
    try:
        raw = vapid.b64url_decode(value)
    except ValueError as e:
        raise ValueError("must be base64url") from e
    if len(raw) != AUTH_BYTES:
        raise ValueError(f"must be {AUTH_BYTES} bytes")
    return value


class SubscriptionKeys(BaseModel):
    model_config = ConfigDict(extra="forbid")

    p256dh: Annotated[str, Field(max_length=200), AfterValidator(_p256dh)]
    auth: Annotated[str, Field(max_length=100), AfterValidator(_auth)]


class SubscriptionCreate(BaseModel):
    """A browser's ``PushSubscription.toJSON()``; ``expirationTime`` is accepted and ignored."""

    model_config = ConfigDict(extra="ignore")

    endpoint: Annotated[str, Field(min_length=1, max_length=ENDPOINT_MAX)]
    keys: SubscriptionKeys


class SubscriptionDelete(BaseModel):
    endpoint: Annotated[str, Field(min_length=1, max_length=ENDPOINT_MAX)]


class SubscriptionPublic(BaseModel):
    id: str
    endpoint: str
    created_at: datetime


class SubscriptionList(BaseModel):
    items: list[SubscriptionPublic]


class PushKey(BaseModel):
    """The VAPID public key, for ``pushManager.subscribe({applicationServerKey})``."""

    application_server_key: str
