"""A Redis of a test's own: for tests that restart it, or that must not share the test servers'."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from storybang_testing.waiting import free_port


class RedisServer:
    """A `redis-server` on a free loopback port, with its data in `folder`. With `append_only`,
    every write is on disk before it is acknowledged and survives `restart`."""

    def __init__(self, folder: Path, *, append_only: bool = False) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise RuntimeError("redis-server is missing: make test installs it (scripts/servers.sh install)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if append_only else ["--appendonly", "no"]
        self._args = [server, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", ""]
        self._args += persistence
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20) -> None:
        self._proc = subprocess.Popen(self._args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        deadline = time.monotonic() + timeout
        # PING answers LOADING while the append-only file is replayed, which is not ready.
        while not self._pong():
            if self._proc.poll() is not None:
                raise RuntimeError(f"redis-server exited {self._proc.returncode}: {' '.join(self._args)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout}s")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
            self._proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def _pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@contextlib.contextmanager
def redis_server(folder: Path | None = None, *, append_only: bool = False) -> Iterator[RedisServer]:
    """A started `RedisServer` for the length of a block; its data in `folder`, else in a temporary
    folder removed afterwards."""
    with contextlib.ExitStack() as stack:
        if folder is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="storybang-redis-")))
        folder.mkdir(parents=True, exist_ok=True)
        server = RedisServer(folder, append_only=append_only)
        server.start()
        stack.callback(server.stop)
        yield server
