"""A real Prometheus for the monitoring tests, and the shipped dashboards read as Grafana reads them.

Prometheus is Debian's package (`scripts/prometheus.sh install`), started on a free loopback port
with the scrape configuration a test gives it. The dashboards (charts/storybang/files/dashboards)
have their variables resolved against it in order, then each panel's queries filled in.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from storybang_testing.waiting import free_port

REPO = Path(__file__).resolve().parents[3]
DASHBOARDS = REPO / "charts/storybang/files/dashboards"
# What Grafana puts for $__rate_interval and $__range: the whole length of a test's traffic.
RANGE = "10m"
# The dashboards' marker for panels that only vLLM answers (see charts/tools/dashboards/common.py).
ENGINE_ONLY = "Only vLLM exports this."
_LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.*),\s*(?P<label>\w+)\)$")


class Prometheus:
    """Prometheus's HTTP API, the parts the tests read."""

    def __init__(self, base: str) -> None:
        self.base = base

    def _get(self, path: str, **params: str) -> Any:
        url = f"{self.base}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - our own loopback server
                body = json.load(response)
        except urllib.error.HTTPError as e:
            body = json.load(e)
        if body.get("status") != "success":
            raise AssertionError(f"{path} {params}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._get("/api/v1/query", query=expr)["result"]
        return result

    def label_values(self, selector: str, label: str) -> list[str]:
        return sorted({s[label] for s in self._get("/api/v1/series", **{"match[]": selector}) if label in s})

    def targets(self) -> list[dict[str, Any]]:
        active: list[dict[str, Any]] = self._get("/api/v1/targets")["activeTargets"]
        return active

    def metadata(self) -> dict[str, list[dict[str, str]]]:
        data: dict[str, list[dict[str, str]]] = self._get("/api/v1/metadata")
        return data

    def label_names(self) -> list[str]:
        names: list[str] = self._get("/api/v1/labels")
        return names


@contextmanager
def prometheus(folder: Path, config: dict[str, Any]) -> Iterator[Prometheus]:
    """Prometheus with ``config`` (prometheus.yml as a dict) until the block ends."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise RuntimeError("prometheus is not installed: run scripts/prometheus.sh install (make test does)")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log_path = folder / "prometheus.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(  # noqa: S603 - Debian's prometheus with our own flags
            [
                binary,
                f"--config.file={folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"prometheus exited: {log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/-/ready", timeout=1) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("prometheus did not become ready")
            time.sleep(0.2)
        yield Prometheus(base)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Target:
    dashboard: str
    panel: str
    expr: str
    engine_only: bool


def dashboard(name: str) -> dict[str, Any]:
    board: dict[str, Any] = json.loads((DASHBOARDS / f"{name}.json").read_text())
    return board


def dashboard_names() -> list[str]:
    return sorted(p.stem for p in DASHBOARDS.glob("*.json"))


def fill(text: str, values: dict[str, str]) -> str:
    text = text.replace("$__rate_interval", RANGE).replace("$__range", RANGE)
    for name in sorted(values, key=len, reverse=True):  # $pod before $p…, were there one
        text = text.replace(f"${name}", values[name])
    return text


def resolve_variables(board: dict[str, Any], prom: Prometheus) -> dict[str, str]:
    """Each query variable's values, as Grafana would offer them, all selected (a regex of them).
    A variable that offers nothing fails: its dashboard would show nothing."""
    values: dict[str, str] = {}
    for variable in board["templating"]["list"]:
        if variable["type"] != "query":
            continue
        match = _LABEL_VALUES.match(variable["query"])
        assert match, f"{board['uid']}: variable {variable['name']} is not label_values(…): {variable['query']}"
        found = prom.label_values(fill(match["selector"], values), match["label"])
        assert found, f"{board['uid']}: variable {variable['name']} offers no value ({variable['query']})"
        values[variable["name"]] = "(" + "|".join(found) + ")"  # Grafana's "All" with every value picked
    return values


def targets(board: dict[str, Any], values: dict[str, str]) -> list[Target]:
    return [
        Target(board["uid"], panel["title"], fill(t["expr"], values), ENGINE_ONLY in panel.get("description", ""))
        for panel in board["panels"]
        for t in panel.get("targets", [])
    ]


def panels_without_data(name: str, prom: Prometheus) -> list[str]:
    """The queries of dashboard ``name`` that return nothing, with its variables filled in. Panels
    only vLLM answers are held to naming vLLM's metrics alone instead."""
    board = dashboard(name)
    values = resolve_variables(board, prom)
    empty = []
    for target in targets(board, values):
        if target.engine_only:
            metrics = set(re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{", target.expr))
            assert metrics, target
            assert all(m.startswith("vllm:") for m in metrics), target
            continue
        if not prom.query(target.expr):
            empty.append(f"{target.panel}: {target.expr}")
    return empty
