"""What request metrics cost on the hot path: an authenticated ``GET /api/v1/characters`` (20
items) on the same app with Prometheus request metrics on (as deployed) and off, on the real
stores, measured with wrk. Rounds alternate on and off so a noisy machine hurts both alike; the
best round of each counts. Then, because a busy machine blurs a difference of a few percent, the
CPU time the metrics middleware itself adds to one request, measured in-process (CPU time of this
process only, so other load on the machine does not count) on the bare 20-item endpoint with and
without the same instrumentation. Run by `make bench` (BENCH=metrics).

    python -m bench.metrics                       (in services/, with .servers/env sourced)
    uvicorn --factory bench.metrics:with_metrics  (what it serves; settings from STORYBANG_*)
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from bench import bare
from bench.api import CONNECTIONS, DURATION, real_settings, wrk
from storybang.api.app import create_app
from storybang.api.metrics import request_metrics
from storybang.settings import Settings
from storybang_testing.waiting import free_port
from tests.processes import settings_env

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
CPU_REQUESTS = 3000
DOMAINS = ["identity", "characters"]


def with_metrics() -> FastAPI:
    return create_app(Settings(), DOMAINS)


def without_metrics() -> FastAPI:
    return create_app(Settings(), DOMAINS, metrics=False)


@contextmanager
def serving(factory: str, env: dict[str, str], log: Path) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "--factory", f"bench.metrics:{factory}", "--port", str(port)]
    cmd += ["--log-level", "warning", "--no-server-header", "--no-access-log"]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=os.environ | env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait()


async def cpu_per_request(app: FastAPI) -> float:
    """Microseconds of this process's CPU time per ``GET /items``, through the ASGI stack."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        for _ in range(300):  # warm up
            await client.get("/items")
        started = time.process_time()
        for _ in range(CPU_REQUESTS):
            await client.get("/items")
        return (time.process_time() - started) / CPU_REQUESTS * 1e6


def middleware_cost() -> tuple[float, float]:
    """CPU µs per request without and with the API's request metrics, best of three each."""
    plain = FastAPI()
    plain.add_api_route("/items", bare.items)
    measured = FastAPI()
    measured.add_api_route("/items", bare.items)
    request_metrics(CollectorRegistry()).install(measured)  # the API's own, on a registry of its own
    off = min(asyncio.run(cpu_per_request(plain)) for _ in range(3))
    on = min(asyncio.run(cpu_per_request(measured)) for _ in range(3))
    return off, on


def main() -> None:
    settings = real_settings("storybang-bench-metrics-")
    data, tag = settings.data_dir, secrets.token_hex(3)
    app_env = settings_env(settings) | {"STORYBANG_LOG__LEVEL": "warning"}
    subprocess.run([sys.executable, "-m", "storybang", "migrate"], env=os.environ | app_env, check=True)
    url = "/api/v1/characters?limit=20"
    with serving("with_metrics", app_env, data / "api.log") as base:
        email, password = f"reader-{tag}@example.com", "benchmark passphrase"
        httpx.post(base + "/api/v1/auth/register", json={"email": email, "password": password, "display_name": "R"})
        token = httpx.post(base + "/api/v1/auth/login", json={"email": email, "password": password}).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        for i in range(20):
            character = {"name": f"Character {i}", "description": "A brave little fox who loves maps."}
            httpx.post(base + "/api/v1/characters", headers=auth, json=character).raise_for_status()
    runs: dict[str, list[dict[str, float]]] = {"with_metrics": [], "without_metrics": []}
    for _ in range(ROUNDS):
        for factory, results in runs.items():
            with serving(factory, app_env, data / "api.log") as base:
                assert len(httpx.get(base + url, headers=auth).json()["items"]) == 20
                assert (httpx.get(base + "/metrics").status_code == 200) == (factory == "with_metrics")
                wrk(base + url, auth)  # warm up: connections, caches, the JIT-less interpreter's imports
                results.append(wrk(base + url, auth))
    on = max(runs["with_metrics"], key=lambda r: r["rps"])
    off = max(runs["without_metrics"], key=lambda r: r["rps"])
    print(f"\nMetrics on the hot path (wrk, {CONNECTIONS} connections, {DURATION}, best of {ROUNDS} rounds, one")
    print("uvicorn worker, real MariaDB/FerretDB/Redis)")
    print(f"{'GET /api/v1/characters (auth, 20 items)':44} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, r in (("metrics on", on), ("metrics off", off)):
        print(f"{name:44} {r['rps']:9.0f} {r['p50']:8.2f} {r['p99']:8.2f}")
    print(f"ratio on/off: {on['rps'] / off['rps']:.3f}x throughput, {on['p50'] / off['p50']:.3f}x p50 latency")
    cpu_off, cpu_on = middleware_cost()
    print(f"CPU per request, bare 20-item endpoint in-process ({CPU_REQUESTS} requests, best of 3):")
    print(f"  metrics off {cpu_off:.0f} µs, on {cpu_on:.0f} µs: +{cpu_on - cpu_off:.0f} µs ({cpu_on / cpu_off:.3f}x)")


if __name__ == "__main__":
    main()
