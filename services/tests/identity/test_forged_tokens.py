"""Every kind of forged or stale access token is refused with 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from storybang.runtime import Runtime
from storybang.security import tokens
from tests.conftest import SIGNING_KEY, Account, SignUp


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def encode(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes] | None) -> str:
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    return head + "." + (b64(sign(head.encode())) if sign else "")


OUR_KEY = serialization.load_pem_private_key(SIGNING_KEY.encode(), password=None)
assert isinstance(OUR_KEY, Ed25519PrivateKey)
OTHER_KEY = Ed25519PrivateKey.generate()
PUBLIC_PEM = OUR_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


def claims_for(account: Account, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": "storybang",
        "aud": "storybang",
        "sub": account.id,
        "role": "user",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


async def test_a_token_signed_by_us_is_accepted(client: httpx.AsyncClient, signup: SignUp, runtime: Runtime) -> None:
    # The control case: the hand-made encoder and our key produce a token the API accepts, so the
    # refusals below are caused by the one thing each of them changes.
    account = await signup()
    header = {"alg": "Ed25519", "kid": runtime.keys.kid, "typ": "at+jwt"}
    token = encode(header, claims_for(account), OUR_KEY.sign)
    r = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("case", "forge"),
    [
        ("alg none", lambda kid, c: encode({"alg": "none", "kid": kid, "typ": "at+jwt"}, c, None)),
        (
            "HS256 signed with the public key",
            lambda kid, c: encode(
                {"alg": "HS256", "kid": kid, "typ": "at+jwt"},
                c,
                lambda m: hmac.new(PUBLIC_PEM, m, hashlib.sha256).digest(),
            ),
        ),
        (
            "wrong iss",
            lambda kid, c: encode({"alg": "Ed25519", "kid": kid, "typ": "at+jwt"}, {**c, "iss": "evil"}, OUR_KEY.sign),
        ),
        (
            "wrong aud",
            lambda kid, c: encode({"alg": "Ed25519", "kid": kid, "typ": "at+jwt"}, {**c, "aud": "other"}, OUR_KEY.sign),
        ),
        ("wrong typ", lambda kid, c: encode({"alg": "Ed25519", "kid": kid, "typ": "JWT"}, c, OUR_KEY.sign)),
        ("missing typ", lambda kid, c: encode({"alg": "Ed25519", "kid": kid}, c, OUR_KEY.sign)),
        # With more than one key published (rotation), a token without kid names no key at all.
        ("missing kid", lambda kid, c: encode({"alg": "Ed25519", "typ": "at+jwt"}, c, OUR_KEY.sign)),
        (
            "expired",
            lambda kid, c: encode(
                {"alg": "Ed25519", "kid": kid, "typ": "at+jwt"},
                {**c, "iat": int(time.time()) - 3600, "exp": int(time.time()) - 1800},
                OUR_KEY.sign,
            ),
        ),
        (
            "future nbf",
            lambda kid, c: encode(
                {"alg": "Ed25519", "kid": kid, "typ": "at+jwt"}, {**c, "nbf": int(time.time()) + 3600}, OUR_KEY.sign
            ),
        ),
        (
            "unknown kid",
            lambda kid, c: encode({"alg": "Ed25519", "kid": "someone-else", "typ": "at+jwt"}, c, OTHER_KEY.sign),
        ),
        (
            "signed by another key",
            lambda kid, c: encode({"alg": "Ed25519", "kid": kid, "typ": "at+jwt"}, c, OTHER_KEY.sign),
        ),
        ("stripped signature", lambda kid, c: encode({"alg": "Ed25519", "kid": kid, "typ": "at+jwt"}, c, None)),
        (
            "no exp",
            lambda kid, c: encode({"alg": "Ed25519", "kid": kid, "typ": "at+jwt"}, {**c, "exp": None}, OUR_KEY.sign),
        ),
        ("garbage", lambda kid, c: "not.a.jwt"),
    ],
)
async def test_forged_token_is_rejected(
    case: str, forge: Callable[[str, dict[str, Any]], str], client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    account = await signup()
    token = forge(runtime.keys.kid, claims_for(account))
    r = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401, case
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "WWW-Authenticate" in r.headers


async def test_tampered_payload_is_rejected(client: httpx.AsyncClient, signup: SignUp) -> None:
    victim, attacker = await signup(), await signup()
    head, payload, sig = attacker.access_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = victim.id
    claims["role"] = "admin"
    forged = f"{head}.{b64(json.dumps(claims).encode())}.{sig}"
    r = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401


async def test_refresh_token_is_not_an_access_token(client: httpx.AsyncClient, signup: SignUp) -> None:
    account = await signup()
    r = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {account.refresh_token}"})
    assert r.status_code == 401


async def test_missing_token_is_401(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/users/me")
    assert r.status_code == 401


async def test_jwks_publishes_the_verification_key(client: httpx.AsyncClient, runtime: Runtime) -> None:
    r = await client.get("/.well-known/jwks.json")
    assert r.status_code == 200
    (key,) = r.json()["keys"]
    assert key["kid"] == runtime.keys.kid
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519" and key["alg"] == tokens.ALGORITHM
    assert "d" not in key  # never the private part
    x = base64.urlsafe_b64decode(key["x"] + "=" * (-len(key["x"]) % 4))
    assert x == OUR_KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
