"""Login and code attempts are limited per account and per client address (Redis-backed)."""

from __future__ import annotations

import secrets
from pathlib import Path

from storybang.runtime import Runtime
from storybang.settings import Settings
from tests.conftest import SignUp, app_for, client_for, make_settings


async def limited_runtime(real: Settings, tmp: Path, **limits: str) -> Runtime:
    settings = make_settings(
        tmp, mysql=real.mysql.model_dump(), mongo=real.mongo.model_dump(), redis=real.redis.model_dump(), limits=limits
    )
    return await Runtime.open(settings)


async def test_login_attempts_per_account_get_429_with_retry_after(
    real_settings: Settings, tmp_path: Path, signup: SignUp
) -> None:
    account = await signup()
    runtime = await limited_runtime(real_settings, tmp_path, login_per_account="3/minute")
    try:
        async with client_for(app_for(runtime)) as client:
            answers = [
                (
                    await client.post("/api/v1/auth/login", json={"email": account.email, "password": "wrong one!"})
                ).status_code
                for _ in range(4)
            ]
            assert answers == [401, 401, 401, 429]
            r = await client.post("/api/v1/auth/login", json={"email": account.email, "password": account.password})
            assert r.status_code == 429  # even the right password waits: that is the point
            assert 1 <= int(r.headers["Retry-After"]) <= 60
            assert r.headers["content-type"].startswith("application/problem+json")
    finally:
        await runtime.close()


async def test_login_attempts_per_address_are_limited(real_settings: Settings, tmp_path: Path) -> None:
    runtime = await limited_runtime(real_settings, tmp_path, login_per_address="2/minute")
    try:
        app = app_for(runtime)
        # Addresses and emails unique to this run: the limits live in Redis, beyond one test.
        net, tag = f"198.51.{secrets.randbelow(250)}", secrets.token_hex(4)
        async with client_for(app, f"{net}.9") as client, client_for(app, f"{net}.10") as other:
            for i in range(2):
                r = await client.post(
                    "/api/v1/auth/login", json={"email": f"n{i}-{tag}@example.com", "password": "whatever1"}
                )
                assert r.status_code == 401
            r = await client.post(
                "/api/v1/auth/login", json={"email": f"n3-{tag}@example.com", "password": "whatever1"}
            )
            assert r.status_code == 429
            r = await other.post("/api/v1/auth/login", json={"email": f"n3-{tag}@example.com", "password": "whatever1"})
            assert r.status_code == 401  # another address is not affected
    finally:
        await runtime.close()


async def test_code_attempts_are_limited(real_settings: Settings, tmp_path: Path, signup: SignUp) -> None:
    account = await signup()
    runtime = await limited_runtime(real_settings, tmp_path, codes_per_account="2/minute")
    try:
        async with client_for(app_for(runtime)) as client:
            codes = [
                (await client.post("/api/v1/auth/verify", json={"email": account.email, "code": "123456"})).status_code
                for _ in range(3)
            ]
            assert codes == [400, 400, 429]
    finally:
        await runtime.close()


async def test_an_attackers_failures_do_not_lock_the_owner_out(
    real_settings: Settings, tmp_path: Path, signup: SignUp
) -> None:
    account = await signup()
    runtime = await limited_runtime(real_settings, tmp_path, login_per_account="3/minute", codes_per_account="2/minute")
    try:
        app = app_for(runtime)
        net = f"198.18.{secrets.randbelow(250)}"
        async with client_for(app, f"{net}.66") as attacker, client_for(app, f"{net}.7") as owner:
            for _ in range(4):
                await attacker.post("/api/v1/auth/login", json={"email": account.email, "password": "wrong one!"})
                await attacker.post("/api/v1/auth/verify", json={"email": account.email, "code": "000000"})
                await attacker.post("/api/v1/auth/password/forgot", json={"email": account.email})
            r = await attacker.post("/api/v1/auth/login", json={"email": account.email, "password": account.password})
            assert r.status_code == 429  # the attacker is stopped...
            r = await owner.post("/api/v1/auth/login", json={"email": account.email, "password": account.password})
            assert r.status_code == 200  # ...and the owner is not
            r = await owner.post("/api/v1/auth/verify", json={"email": account.email, "code": "123456"})
            assert r.status_code == 400  # a wrong code, answered as such: not 429
            r = await owner.post("/api/v1/auth/password/forgot", json={"email": account.email})
            assert r.status_code == 202
    finally:
        await runtime.close()
