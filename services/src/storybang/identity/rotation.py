"""The refresh grace: a rotated refresh token answered again, for a few seconds, with the same pair.

Two tabs, or a phone retrying a request whose answer it lost, may present the same refresh token at
once. Strict rotation (RFC 9700 §4.14.2) would take the second for a thief and revoke the family,
logging the person out. Instead, for ``auth.refresh_grace_seconds`` after a rotation, the old token
gets the very pair the rotation issued; after that, a reuse revokes the family as before.

Returning the same pair means keeping it, and a database must never hold usable tokens. So the
pair is sealed (AES-256-GCM) with a key derived (HKDF-SHA256) from the *old* refresh token, which
the database only knows as a SHA-256 digest: the sealed pair can be opened only by someone
presenting that old token, who could have rotated it anyway. The row's id is the associated data,
so a sealed pair cannot be moved to another row. Re-deriving the pair instead (deterministic
tokens) would tie the access token's bytes to every claim and to the JWT library's serialization;
sealing keeps rotation itself unchanged.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import ValidationError

from storybang.identity.models import RefreshToken, TokenPair

# Domain separation: this key seals a successor pair, and nothing else is ever derived this way.
_INFO = b"storybang refresh-token successor v1"
_NONCE_BYTES = 12


def _key(old_token: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(old_token.encode())


def seal(old_token: str, row_id: str, pair: TokenPair) -> bytes:
    """``pair`` encrypted for whoever presents ``old_token`` again (the rotated row ``row_id``)."""
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(_key(old_token)).encrypt(nonce, pair.model_dump_json().encode(), row_id.encode())


def replay(row: RefreshToken, old_token: str, now: datetime, grace_seconds: int) -> TokenPair | None:
    """The pair that rotating ``row`` issued, if ``old_token`` comes back within the grace; else None.

    A revoked family, a row rotated before sealing existed, or a seal that does not open (a wrong
    token cannot reach here: rows are found by the token's digest) all mean "no grace".
    """
    if grace_seconds <= 0 or row.revoked_at is not None or row.used_at is None or row.successor is None:
        return None
    if now > row.used_at + timedelta(seconds=grace_seconds):
        return None
    sealed = row.successor
    try:
        plain = AESGCM(_key(old_token)).decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], row.id.encode())
        return TokenPair.model_validate_json(plain)
    except (InvalidTag, ValidationError, ValueError):
        return None
