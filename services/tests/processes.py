"""Run `storybang` roles as real processes on loopback ports, for tests that need a real server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from storybang.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process the same settings as ``settings``."""
    env = {
        "STORYBANG_ENV": settings.env,
        "STORYBANG_DATA_DIR": str(settings.data_dir),
        "STORYBANG_AUTH__REQUIRE_VERIFICATION": str(settings.auth.require_verification).lower(),
        "STORYBANG_LIMITS__LOGIN_PER_ADDRESS": settings.limits.login_per_address,
        "STORYBANG_LIMITS__REGISTER_PER_ADDRESS": settings.limits.register_per_address,
        "STORYBANG_MONGO__DATABASE": settings.mongo.database,
    }
    for name, secret in (
        ("STORYBANG_AUTH__SIGNING_KEY", settings.auth.signing_key),
        ("STORYBANG_MYSQL__URL", settings.mysql.url),
        ("STORYBANG_MONGO__URL", settings.mongo.url),
        ("STORYBANG_REDIS__URL", settings.redis.url),
    ):
        if secret is not None:
            env[name] = secret.get_secret_value()
    return env


@contextmanager
def storybang(args: list[str], env: Mapping[str, str], port: int, log: Path, timeout: float = 60) -> Iterator[str]:
    """Start ``storybang <args>`` (which must listen on ``port``), wait for /healthz, stop it after."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("STORYBANG_")} | dict(env)
    with log.open("ab") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI with fixed arguments
            [sys.executable, "-m", "storybang", *args], env=full_env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"storybang {' '.join(args)} exited {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"storybang {' '.join(args)} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
