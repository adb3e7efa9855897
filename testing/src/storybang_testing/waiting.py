"""Waiting for what happens in its own time, and ports to listen on."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def free_port() -> int:
    """A loopback port that nothing listens on now (the kernel's choice, so parallel runs differ)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def eventually(
    check: Callable[[], T],
    timeout: float = 60.0,
    interval: float = 0.5,
    *,
    not_yet: Callable[[Exception], bool] = lambda _: False,
) -> T:
    """The first truthy result of `check` within `timeout` seconds. An exception for which `not_yet`
    is true counts as "not yet" (any other is raised at once); the last answer or error is in the
    failure message."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            result = check()
            if result:
                return result
            last = result
        except Exception as e:
            if not not_yet(e):
                raise
            last = e
        if time.monotonic() > deadline:
            name = getattr(check, "__qualname__", repr(check))
            raise AssertionError(f"not true after {timeout:.0f}s: {name}; last: {last!r}")
        time.sleep(interval)
