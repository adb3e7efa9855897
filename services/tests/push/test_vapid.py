"""The VAPID key: the configured one, or one derived from the signing key that every replica agrees on."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import OKPKey

from storybang.security import tokens, vapid
from storybang.settings import AuthSettings, PushSettings
from tests.conftest import SIGNING_KEY
from tests.push.conftest import b64url


def keyset(pem: str) -> tokens.KeySet:
    return tokens.KeySet(OKPKey.import_key(pem), AuthSettings())


def test_the_derived_key_is_the_same_for_the_same_signing_key_and_only_for_it() -> None:
    first = vapid.key_for(PushSettings(), keyset(SIGNING_KEY)).application_server_key
    assert vapid.key_for(PushSettings(), keyset(SIGNING_KEY)).application_server_key == first
    assert vapid.key_for(PushSettings(), keyset(tokens.generate_pem())).application_server_key != first


def test_a_configured_key_is_used_as_pem_or_as_a_raw_scalar() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    public = b64url(
        private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    raw = b64url(private.private_numbers().private_value.to_bytes(32, "big"))
    for configured in (pem.decode(), raw):
        settings = PushSettings(vapid_private_key=configured)
        assert vapid.key_for(settings, keyset(SIGNING_KEY)).application_server_key == public


@pytest.mark.parametrize(
    "configured", ["not a key", b64url(b"\x01" * 31), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"]
)
def test_a_configured_key_that_cannot_be_read_stops_the_start(configured: str) -> None:
    with pytest.raises(vapid.InvalidKey):
        vapid.key_for(PushSettings(vapid_private_key=configured), keyset(SIGNING_KEY))
