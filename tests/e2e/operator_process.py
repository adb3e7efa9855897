"""The operator as it runs in production, but out of the cluster: `kopf run -m storybang_operator`
in a process of its own, authenticated by a token of the chart's operator ServiceAccount, so that
every request it makes goes through the chart's RBAC and nothing more.
"""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path

from kube import REPO
from storybang_testing import processes
from storybang_testing.kube import eventually
from storybang_testing.waiting import free_port

# Quick passes, so that drift is repaired and readiness is seen within seconds.
SETTINGS = {
    "STORYBANG_OPERATOR_PROFILES_DIR": str(REPO / "inference" / "vllm"),
    "STORYBANG_OPERATOR_RESYNC_SECONDS": "2",
    "STORYBANG_OPERATOR_RESYNC_INITIAL_DELAY_SECONDS": "1",
    "STORYBANG_OPERATOR_RETRY_DELAY_SECONDS": "2",
    # KEDA's CRDs come and go within one test.
    "STORYBANG_OPERATOR_KEDA_CHECK_SECONDS": "1",
}
FORBIDDEN = re.compile(r"forbidden", re.IGNORECASE)


@dataclasses.dataclass
class OperatorProcess:
    """One `kopf run` watching some namespaces; `start` waits until it has configured itself."""

    kubeconfig: Path
    namespaces: Iterable[str]
    log_path: Path
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.namespaces = list(self.namespaces)
        self.metrics_port = free_port()
        self.health_port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, *, timeout: float = 60) -> OperatorProcess:
        args = [
            sys.executable, "-m", "kopf", "run", "--standalone", "-m", "storybang_operator",
            f"--liveness=http://127.0.0.1:{self.health_port}/healthz",
            *(f"--namespace={ns}" for ns in self.namespaces),
        ]  # fmt: skip
        env = {
            **os.environ,
            **SETTINGS,
            "STORYBANG_OPERATOR_METRICS_PORT": str(self.metrics_port),
            **self.env,
            "KUBECONFIG": str(self.kubeconfig),
        }
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {self.starts + 1}: {' '.join(args)}\n".encode())
            self._proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.starts += 1
        expected = self.starts
        eventually(
            lambda: self.log().count("storybang-operator configured") >= expected,
            timeout,
        )
        eventually(self.healthy, timeout)
        return self

    def healthy(self) -> bool:
        if not self.running:
            raise AssertionError(f"the operator exited:\n{self.log()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/healthz", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no last status patch; as when a node dies."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGKILL)
        self._proc.wait(timeout=10)

    def stop(self) -> None:
        if not self.running:
            return
        assert self._proc is not None
        processes.stop(self._proc, grace=15)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def forbidden(self) -> list[str]:
        """Log lines that say the API server refused the operator something."""
        return [line for line in self.log().splitlines() if FORBIDDEN.search(line)]

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as r:
            return str(r.read().decode())

    def metric(self, name: str, **labels: str) -> float:
        """The sum of a metric's samples whose labels include `labels`."""
        total = 0.0
        for line in self.metrics().splitlines():
            if not line.startswith((f"{name}{{", f"{name} ")):
                continue
            head, _, value = line.rpartition(" ")
            if all(f'{k}="{v}"' in head for k, v in labels.items()):
                total += float(value)
        return total


def wait_for_log(process: OperatorProcess, pattern: str, timeout: float = 30) -> None:
    compiled = re.compile(pattern)
    eventually(lambda: compiled.search(process.log()) is not None, timeout)


def sleep_resyncs(n: float) -> None:
    time.sleep(n * float(SETTINGS["STORYBANG_OPERATOR_RESYNC_SECONDS"]))
