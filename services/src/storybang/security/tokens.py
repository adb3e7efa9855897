"""Access tokens: short-lived asymmetric JWTs (Ed25519, RFC 8037/9864) published as a JWKS.

Verification is strict on purpose: one allowed algorithm, a ``kid`` that names our key, ``typ`` = ``at+jwt``
(RFC 9068) so an ID token or a refresh token can never pass as an access token, and ``iss``,
``aud``, ``exp``, ``iat`` and ``nbf`` checked. Anything else is :class:`InvalidToken`.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet as JWKSet
from joserfc.jwk import OKPKey
from joserfc.jwt import JWTClaimsRegistry

from storybang.security import urls
from storybang.settings import AuthSettings

ALGORITHM = "Ed25519"
TOKEN_TYPE = "at+jwt"  # noqa: S105 - RFC 9068 media type, not a secret
# Clock skew tolerated between pods, in seconds.
LEEWAY = 30


class InvalidToken(Exception):
    pass


def lifetime(settings: AuthSettings) -> int:
    """The longest an access token can be accepted, in seconds: its lifetime plus the leeway."""
    return settings.access_token_ttl_seconds + LEEWAY


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    role: str
    expires_at: int
    session_version: int


class KeySet:
    def __init__(self, signing_key: OKPKey, settings: AuthSettings) -> None:
        signing_key.ensure_kid()
        self._key = signing_key
        self._keys = JWKSet([signing_key])
        self._settings = settings
        self._registry = JWTClaimsRegistry(
            leeway=LEEWAY,
            iss={"essential": True, "value": settings.issuer},
            aud={"essential": True, "value": settings.audience},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        )

    @classmethod
    def from_settings(cls, settings: AuthSettings, data_dir: Path) -> KeySet:
        if settings.signing_key is not None and settings.signing_key.get_secret_value():
            return cls(OKPKey.import_key(settings.signing_key.get_secret_value()), settings)
        return cls(_dev_key(data_dir), settings)

    @property
    def kid(self) -> str:
        return str(self._key.kid)

    def derive(self, purpose: bytes) -> bytes:
        """A 256-bit key for ``purpose`` alone, derived (HKDF-SHA256) from the signing key: other
        secrets without another Secret to provision, and no way back to the signing key."""
        private = self._key.private_key
        if not isinstance(private, Ed25519PrivateKey):
            raise TypeError("the signing key has no Ed25519 private part")
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(private.private_bytes_raw())

    @functools.cached_property
    def image_urls(self) -> urls.UrlSigner:
        """The signer of image URLs (:mod:`storybang.security.urls`)."""
        return urls.UrlSigner(self.derive(urls.PURPOSE), self._settings.image_url_ttl_seconds)

    def issue(self, user_id: str, role: str, session_version: int = 0) -> tuple[str, int]:
        now = int(time.time())
        ttl = self._settings.access_token_ttl_seconds
        claims = {
            "iss": self._settings.issuer,
            "aud": self._settings.audience,
            "sub": user_id,
            "role": role,
            "iat": now,
            "nbf": now,
            "exp": now + ttl,
            "jti": os.urandom(12).hex(),
            # The user's session version (storybang.identity.sessions): ending the sessions refuses it.
            "sv": session_version,
        }
        header = {"alg": ALGORITHM, "kid": self.kid, "typ": TOKEN_TYPE}
        return jwt.encode(header, claims, self._key, algorithms=[ALGORITHM]), ttl

    def verify(self, token: str) -> AccessClaims:
        try:
            decoded = jwt.decode(token, self._keys, algorithms=[ALGORITHM])
            if decoded.header.get("typ") != TOKEN_TYPE:
                raise InvalidToken("wrong token type")
            # Every token we issue names its key; one that does not is ambiguous once keys rotate.
            if decoded.header.get("kid") != self.kid:
                raise InvalidToken("missing or unknown key id")
            self._registry.validate(decoded.claims)
            claims: dict[str, Any] = decoded.claims
            return AccessClaims(
                str(claims["sub"]), str(claims.get("role", "user")), int(claims["exp"]), int(claims.get("sv", 0))
            )
        except InvalidToken:
            raise
        except (JoseError, ValueError, KeyError, TypeError) as e:
            raise InvalidToken(str(e) or type(e).__name__) from e

    def jwks(self) -> dict[str, Any]:
        keys = [dict(key) | {"use": "sig", "alg": ALGORITHM} for key in self._keys.as_dict(private=False)["keys"]]
        return {"keys": keys}


def _dev_key(data_dir: Path) -> OKPKey:
    """A signing key kept in the data directory, so dev tokens survive a restart."""
    path = data_dir / "signing-key.pem"
    if path.exists():
        return OKPKey.import_key(path.read_bytes())
    key = OKPKey.generate_key("Ed25519")
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.as_pem(private=True))
    return key


def generate_pem() -> str:
    """A fresh Ed25519 private key in PEM, for `storybang keygen` and for tests."""
    return OKPKey.generate_key("Ed25519").as_pem(private=True).decode()
