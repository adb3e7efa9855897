"""Apps whose refresh grace differs from the default: strict rotation (0 s), or a grace short enough
to wait out in a test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from storybang.runtime import Runtime
from storybang.settings import Settings
from tests.conftest import SignUp, app_for, client_for, make_settings, sign_up


@asynccontextmanager
async def graced(base: Settings, tmp: Path, seconds: int, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client on an app over ``base``'s stores whose refresh grace is ``seconds``."""
    settings = make_settings(
        tmp,
        env=base.env,
        mysql=base.mysql.model_dump(),
        mongo=base.mongo.model_dump(),
        redis=base.redis.model_dump(),
        auth={"refresh_grace_seconds": seconds},
        **overrides,
    )
    runtime = await Runtime.open(settings)
    try:
        async with client_for(app_for(runtime)) as client:
            yield client
    finally:
        await runtime.close()


@pytest.fixture
async def strict_rotation(real_settings: Settings, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, SignUp]]:
    """A client (and sign-up) on an app without the refresh grace: every reuse revokes the family."""
    async with graced(real_settings, tmp_path, 0) as client:

        async def make(**kwargs: Any) -> Any:
            return await sign_up(client, **kwargs)

        yield client, make
