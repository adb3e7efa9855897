"""Servers the tests run as processes of their own: started with their output in a log, waited for
until they answer, stopped (SIGTERM, then SIGKILL) whatever happens."""

from __future__ import annotations

import contextlib
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path


def start(args: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`args` as a process, its output appended to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - the tests' own commands
            list(args), env=None if env is None else dict(env), stdout=out, stderr=subprocess.STDOUT
        )


def answers(url: str) -> bool:
    """`url` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=1) as r:  # noqa: S310 - loopback URLs of the tests
            return bool(r.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def wait_ready(proc: subprocess.Popen[bytes], ready: Callable[[], bool], log: Path, timeout: float = 60) -> None:
    """Until `ready()`; fail at once, with the end of the log, when the process exits first."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            raise RuntimeError(f"{_name(proc)} exited {proc.returncode}:\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{_name(proc)} was not ready within {timeout:.0f}s:\n{_tail(log)}")
        time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes], grace: float = 10) -> None:
    """SIGTERM, and SIGKILL when it has not exited within `grace` seconds."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def serving(
    args: Sequence[str],
    log: Path,
    ready: Callable[[], bool],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
    grace: float = 10,
) -> Iterator[subprocess.Popen[bytes]]:
    """`args` as a process for the length of a block, once `ready()` holds."""
    proc = start(args, log, env)
    try:
        wait_ready(proc, ready, log, timeout)
        yield proc
    finally:
        stop(proc, grace)


def _name(proc: subprocess.Popen[bytes]) -> str:
    args = proc.args if isinstance(proc.args, list) else [str(proc.args)]
    return " ".join(str(a) for a in args[:4])


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""
