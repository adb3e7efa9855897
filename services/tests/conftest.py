"""Fixtures: the real stores (MariaDB, FerretDB, Redis) started by `make test`, and the embedded one.

The real servers' URLs come from ``STORYBANG_TEST_*`` variables written by ``scripts/servers.sh``.
Without them the tests fail rather than skip: a skipped test proves nothing.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from storybang import migrations
from storybang.api.app import DOMAINS, create_app
from storybang.runtime import Runtime
from storybang.security import tokens
from storybang.settings import Settings


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the tests with `make test`, which starts the real servers")
    return value


@pytest.fixture(scope="session")
def session_tag() -> str:
    return secrets.token_hex(4)


@pytest.fixture(scope="session")
async def mysql_url(session_tag: str) -> AsyncIterator[str]:
    """A fresh MariaDB database for this test session, migrated to head."""
    base = _env("STORYBANG_TEST_MYSQL_URL")
    name = f"storybang_t{session_tag}"
    admin = create_async_engine(base)
    async with admin.begin() as conn:
        await conn.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    url = base.rsplit("/", 1)[0] + "/" + name
    await migrations.upgrade(url)
    yield url
    async with admin.begin() as conn:
        await conn.exec_driver_sql(f"DROP DATABASE {name}")
    await admin.dispose()


@pytest.fixture(scope="session")
def mongo_url() -> str:
    return _env("STORYBANG_TEST_MONGO_URL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _env("STORYBANG_TEST_REDIS_URL")


SIGNING_KEY = tokens.generate_pem()
# Queues of this test run only: other runs may share the Redis server.
QUEUE_NAMESPACE = f"dramatiq-test-{secrets.token_hex(4)}"


def make_settings(tmp: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "production",
        "data_dir": tmp,
        "auth": {"signing_key": SIGNING_KEY, "require_verification": False},
        # The whole suite logs in from one address: keep that limit out of the way, except in
        # the tests about it, which set their own.
        "limits": {"login_per_address": "10000/minute", "register_per_address": "10000/minute"},
        "worker": {"queue_namespace": QUEUE_NAMESPACE, "concurrency": 2},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(values.get(key), dict):
            values[key] = {**values[key], **value}
        else:
            values[key] = value
    return Settings(**values)


@pytest.fixture(scope="session")
def real_settings(
    tmp_path_factory: pytest.TempPathFactory, mysql_url: str, mongo_url: str, redis_url: str, session_tag: str
) -> Settings:
    return make_settings(
        tmp_path_factory.mktemp("real"),
        mysql={"url": mysql_url},
        mongo={"url": mongo_url, "database": f"storybang_t{session_tag}"},
        redis={"url": redis_url},
    )


@pytest.fixture(scope="session")
async def runtime(real_settings: Settings) -> AsyncIterator[Runtime]:
    """The runtime on the real stores, shared by the API tests."""
    runtime = await Runtime.open(real_settings)
    yield runtime
    await runtime.close()


async def open_embedded(tmp: Path, **overrides: Any) -> Runtime:
    settings = make_settings(tmp, env="dev", **overrides)
    await migrations.upgrade(settings.sql_url)
    return await Runtime.open(settings)


@pytest.fixture
async def embedded_runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    runtime = await open_embedded(tmp_path)
    yield runtime
    await runtime.close()


def app_for(runtime: Runtime) -> FastAPI:
    return create_app(runtime.settings, DOMAINS, runtime=runtime)


@pytest.fixture(scope="session")
def app(runtime: Runtime) -> FastAPI:
    return app_for(runtime)


def client_for(app: FastAPI, address: str = "203.0.113.7") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        yield c


@dataclass
class Account:
    id: str
    email: str
    password: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


SignUp = Callable[..., Awaitable[Account]]


async def sign_up(client: httpx.AsyncClient, *, display_name: str = "Ada") -> Account:
    email = f"user-{secrets.token_hex(6)}@example.com"
    password = "correct horse battery staple"
    r = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": password, "display_name": display_name}
    )
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    body = r.json()
    me = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200, me.text
    return Account(me.json()["id"], email, password, body["access_token"], body["refresh_token"])


@pytest.fixture
def signup(client: httpx.AsyncClient) -> SignUp:
    """Register and log in a new person; returns their account with fresh tokens."""

    async def make(**kwargs: Any) -> Account:
        return await sign_up(client, **kwargs)

    return make
