"""Signed image URLs: an ``<img>`` cannot send a bearer token, so image URLs in API answers carry
their own short-lived proof instead (never the access token: it would land in logs and histories).

A URL is ``<path>?owner=<user id>&expires=<unix time>&signature=<HMAC-SHA256>``, the HMAC taken over
the path, the owner and the expiry, so none of the three can be changed: not the image, not whose
image it is (a person cannot turn their own URL into another user's), not the lifetime. The key is
derived from the token signing key for this one purpose (:meth:`storybang.security.tokens.KeySet.derive`),
so it needs no Secret of its own and rotates with the signing key.

Expiries are rounded to steps of half the lifetime: the same image gets the same URL for a while,
so browsers cache it, and every URL handed out stays valid for at least half the lifetime.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from urllib.parse import urlencode

# Purpose label for deriving the key: nothing else is ever derived with it.
PURPOSE = b"storybang image-url v1"


class InvalidSignature(Exception):
    """A URL that was not signed by us, or was changed since."""


class Expired(Exception):
    """A URL signed by us whose lifetime is over."""


def image_path(prefix: str, image_id: str) -> str:
    """Where a domain serves its images at signed URLs (:mod:`storybang.api.signed_images`)."""
    return f"{prefix}/images/{image_id}"


class UrlSigner:
    def __init__(self, key: bytes, ttl_seconds: int, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self._ttl = ttl_seconds
        self._clock = clock

    def _mac(self, path: str, owner_id: str, expires: int) -> str:
        message = f"{path}\n{owner_id}\n{expires}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def expiry(self) -> int:
        step = max(1, self._ttl // 2)
        return (int(self._clock()) // step + 2) * step

    def sign(self, path: str, owner_id: str) -> str:
        """``path`` with the query that proves it, for ``owner_id``'s image."""
        expires = self.expiry()
        query = urlencode({"owner": owner_id, "expires": expires, "signature": self._mac(path, owner_id, expires)})
        return f"{path}?{query}"

    def image(self, prefix: str, owner_id: str, image_id: str) -> str:
        """The signed URL of ``owner_id``'s image ``image_id``, served under ``prefix``."""
        return self.sign(image_path(prefix, image_id), owner_id)

    def verify(self, path: str, owner_id: str, expires: int, signature: str) -> int:
        """The seconds the URL has left; :class:`InvalidSignature` or :class:`Expired` otherwise.

        The signature is checked first, in constant time, so that a forged URL learns nothing
        about expiries; a signed expiry far in the future (a longer lifetime configured since) is
        still capped by the current one.
        """
        if not hmac.compare_digest(self._mac(path, owner_id, expires).encode(), signature.encode()):
            raise InvalidSignature("the signature does not match")
        left = expires - int(self._clock())
        if left <= 0:
            raise Expired("the URL has expired")
        return min(left, self._ttl)
