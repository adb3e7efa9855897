"""Real `storybang inference` servers on loopback ports, for the tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from storybang.inference.app import create_app
from storybang.inference.settings import InferenceSettings
from storybang_testing import processes
from storybang_testing.waiting import eventually, free_port


@contextmanager
def serving(settings: InferenceSettings, *, ready: bool = True) -> Iterator[str]:
    """`storybang inference`'s app under a real uvicorn on a loopback port, in a thread."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wanted = "/readyz" if ready else "/healthz"
    eventually(lambda: processes.answers(base + wanted) or (not ready and server.started), timeout=120, interval=0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def settings_for(model: Path | str, **overrides: Any) -> InferenceSettings:
    # One CPU thread: the test machines are small and shared, where more threads only contend.
    values: dict[str, Any] = {"model": str(model), "device": "cpu", "threads": 1, **overrides}
    return InferenceSettings(**values)
