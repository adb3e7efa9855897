"""Run `storybang` roles as real processes on loopback ports, for tests that need a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from storybang.settings import Settings
from storybang_testing import processes


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process the same settings as ``settings``."""
    env = {
        "STORYBANG_ENV": settings.env,
        "STORYBANG_DATA_DIR": str(settings.data_dir),
        "STORYBANG_AUTH__REQUIRE_VERIFICATION": str(settings.auth.require_verification).lower(),
        "STORYBANG_LIMITS__LOGIN_PER_ADDRESS": settings.limits.login_per_address,
        "STORYBANG_LIMITS__REGISTER_PER_ADDRESS": settings.limits.register_per_address,
        "STORYBANG_MONGO__DATABASE": settings.mongo.database,
        "STORYBANG_WORKER__QUEUE_NAMESPACE": settings.worker.queue_namespace,
        "STORYBANG_WORKER__HEARTBEAT_TIMEOUT_SECONDS": str(settings.worker.heartbeat_timeout_seconds),
        "STORYBANG_WORKER__MAINTENANCE_CHANCE": str(settings.worker.maintenance_chance),
        "STORYBANG_WORKER__CONCURRENCY": str(settings.worker.concurrency),
        "STORYBANG_GENERATION__BACKENDS": json.dumps([b.model_dump() for b in settings.generation.backends]),
        "STORYBANG_GENERATION__MAX_RETRIES": str(settings.generation.max_retries),
        "STORYBANG_GENERATION__MAX_ACTIVE_JOBS": str(settings.generation.max_active_jobs),
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


@dataclass
class Role:
    proc: subprocess.Popen[bytes]
    base: str


def start_role(
    args: list[str], env: Mapping[str, str], port: int, log: Path, timeout: float = 60, ready: str = "/healthz"
) -> Role:
    """Start ``storybang <args>`` (which must listen on ``port``) and wait until ``ready`` answers 200."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("STORYBANG_")} | dict(env)
    proc = processes.start([sys.executable, "-m", "storybang", *args], log, full_env)
    role = Role(proc, f"http://127.0.0.1:{port}")
    try:
        processes.wait_ready(proc, lambda: processes.answers(role.base + ready), log, timeout)
    except RuntimeError:
        stop_role(role)
        raise
    return role


def stop_role(role: Role) -> None:
    processes.stop(role.proc)


@contextmanager
def storybang(
    args: list[str], env: Mapping[str, str], port: int, log: Path, timeout: float = 60, ready: str = "/healthz"
) -> Iterator[str]:
    """``storybang <args>`` for the length of a block; yields its base URL."""
    role = start_role(args, env, port, log, timeout, ready)
    try:
        yield role.base
    finally:
        stop_role(role)
