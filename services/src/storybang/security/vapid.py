"""The VAPID key pair (RFC 8292) that signs our Web Push requests.

A push service accepts a push for a subscription only when it is signed by the key whose public half
the browser subscribed with (the ``applicationServerKey``). Every API pod and worker must therefore
hold the same key: either the one configured (``push.vapid_private_key``), or one derived from the
token signing key for this one purpose (:meth:`storybang.security.tokens.KeySet.derive`), which every
replica already shares. A new signing key means a new VAPID key: browsers then subscribe again
(the web client does so whenever the server's key differs from the one it subscribed with).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from storybang.security import tokens
from storybang.settings import PushSettings

# Purpose label for deriving the key: nothing else is ever derived with it.
PURPOSE = b"storybang web-push vapid v1"
# The order of the P-256 group: a private scalar lies in [1, n - 1].
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class InvalidKey(ValueError):
    """``push.vapid_private_key`` is neither a P-256 PEM key nor a 32-byte base64url scalar."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; raises ``ValueError`` on anything else."""
    if not text or any(c not in _B64URL for c in text.rstrip("=")):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class VapidKey:
    private: ec.EllipticCurvePrivateKey

    @property
    def application_server_key(self) -> str:
        """The public key as browsers take it in ``pushManager.subscribe``: an uncompressed P-256
        point, base64url without padding."""
        point = self.private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)


def _from_setting(value: str) -> ec.EllipticCurvePrivateKey:
    value = value.strip()
    try:
        if value.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(value.encode(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
                raise InvalidKey("push.vapid_private_key is not a P-256 key")
            return key
        raw = b64url_decode(value)
    except ValueError as e:
        raise InvalidKey(f"push.vapid_private_key cannot be read: {e}") from e
    if len(raw) != 32:
        raise InvalidKey("push.vapid_private_key: a raw key is 32 bytes of base64url")
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())


def key_for(settings: PushSettings, keys: tokens.KeySet) -> VapidKey:
    """The configured VAPID key, or the one derived from the signing key (the same on every replica)."""
    if settings.vapid_private_key is not None and settings.vapid_private_key.get_secret_value():
        return VapidKey(_from_setting(settings.vapid_private_key.get_secret_value()))
    seed = int.from_bytes(keys.derive(PURPOSE), "big")
    return VapidKey(ec.derive_private_key(seed % (_P256_ORDER - 1) + 1, ec.SECP256R1()))
