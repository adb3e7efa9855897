"""SIGTERM ends a notifier promptly even with long-polling clients connected."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest
import socketio  # type: ignore[import-untyped]

from storybang.security import tokens
from storybang.settings import Settings
from tests.notifier.conftest import new_user, notifier_process

GRACE_S = 1


async def test_sigterm_with_a_long_polling_client_exits_within_the_grace(
    notifier_settings: Settings, keys: tokens.KeySet, tmp_path: Path
) -> None:
    # Long-polling is off by default (several replicas); a single notifier may turn it on.
    env = {"STORYBANG_SHUTDOWN_GRACE_SECONDS": str(GRACE_S), "STORYBANG_NOTIFIER__POLLING": "true"}
    with notifier_process(notifier_settings, tmp_path / "notifier.log", extra_env=env) as process:
        client = socketio.AsyncClient(reconnection=False)
        token, _ = keys.issue(new_user(), "user")
        await client.connect(process.base, auth={"token": token}, transports=["polling"])
        await asyncio.sleep(0.5)  # a long-poll is now waiting on the server
        started = time.monotonic()
        os.kill(process.pid, signal.SIGTERM)
        while os.waitpid(process.pid, os.WNOHANG) == (0, 0):  # noqa: ASYNC222 - WNOHANG never blocks
            # Socket.IO's long-poll lasts 25 s: an exit well before it means the poll was cut.
            if time.monotonic() - started > 15:
                pytest.fail("the notifier did not exit within 15 s of SIGTERM")
            await asyncio.sleep(0.1)
        await client.disconnect()
