"""API benchmark on the real stores (started by scripts/bench.sh).

1. Authenticated ``GET /api/v1/characters`` (20 items) on `storybang serve`, against a bare FastAPI
   endpoint returning 20 items under the same uvicorn settings: requests/s, p50, p99 and the ratio,
   measured with wrk (a C load generator, so the client is not the bottleneck).
2. Logins at a steady 20 per second: p50 and p99.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from storybang.security import tokens
from storybang.settings import Settings
from storybang_testing.waiting import free_port
from tests.processes import settings_env, storybang

DURATION = os.environ.get("BENCH_DURATION", "10s")
CONNECTIONS = os.environ.get("BENCH_CONNECTIONS", "32")
LOGIN_RATE = 20
LOGIN_SECONDS = 10


def wrk(url: str, headers: dict[str, str]) -> dict[str, float]:
    cmd = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency", url]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout  # noqa: S603
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"benchmark got {non2xx.group(1)} error responses:\n{out}")

    def ms(label: str) -> float:
        m = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        assert m, out
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert rps, out
    return {"rps": float(rps.group(1)), "p50": ms("50"), "p99": ms("99")}


async def logins(base: str) -> list[float]:
    """40 accounts, each logging in 5 times, at a steady LOGIN_RATE per second."""
    password = "benchmark passphrase"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        emails = [f"bench-{secrets.token_hex(4)}@example.com" for _ in range(40)]
        for email in emails:
            await client.post("/api/v1/auth/register", json={"email": email, "password": password, "display_name": "B"})
        latencies: list[float] = []

        async def one(email: str) -> None:
            start = time.perf_counter()
            r = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
            r.raise_for_status()
            latencies.append((time.perf_counter() - start) * 1000)

        tasks = []
        for i in range(LOGIN_RATE * LOGIN_SECONDS):
            tasks.append(asyncio.create_task(one(emails[i % len(emails)])))
            await asyncio.sleep(1 / LOGIN_RATE)
        await asyncio.gather(*tasks)
    return latencies


def real_settings(prefix: str) -> Settings:
    """Settings on the real servers of `make bench` (scripts/servers.sh), in a database of their own."""
    env = os.environ
    return Settings(
        env="production",
        data_dir=Path(tempfile.mkdtemp(prefix=prefix)),
        mysql={"url": env["STORYBANG_TEST_MYSQL_URL"]},
        mongo={"url": env["STORYBANG_TEST_MONGO_URL"], "database": f"bench_{secrets.token_hex(3)}"},
        redis={"url": env["STORYBANG_TEST_REDIS_URL"]},
        auth={"signing_key": tokens.generate_pem(), "require_verification": False},
        limits={"login_per_address": "100000/minute", "register_per_address": "100000/minute"},
    )


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: run `make bench` (scripts/bench.sh installs it)")
    settings = real_settings("storybang-bench-")
    data, tag = settings.data_dir, secrets.token_hex(3)
    subprocess.run([sys.executable, "-m", "storybang", "migrate"], env=os.environ | settings_env(settings), check=True)
    port, bare_port = free_port(), free_port()
    with storybang(
        ["serve", "--domain", "identity", "--domain", "characters", "--port", str(port)],
        settings_env(settings),
        port,
        data / "api.log",
    ) as base:
        email, password = f"reader-{tag}@example.com", "benchmark passphrase"
        httpx.post(base + "/api/v1/auth/register", json={"email": email, "password": password, "display_name": "R"})
        login_body = {"email": email, "password": password}
        token = httpx.post(base + "/api/v1/auth/login", json=login_body).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        for i in range(20):
            character = {"name": f"Character {i}", "description": "A brave little fox who loves maps."}
            httpx.post(base + "/api/v1/characters", headers=auth, json=character).raise_for_status()
        assert len(httpx.get(base + "/api/v1/characters?limit=20", headers=auth).json()["items"]) == 20
        ours = wrk(base + "/api/v1/characters?limit=20", auth)
        login = asyncio.run(logins(base))

    bare_cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.bare:app",
        "--port",
        str(bare_port),
        "--log-level",
        "warning",
        "--no-server-header",
    ]
    bare = subprocess.Popen(bare_cmd, cwd=Path(__file__).parent.parent)  # noqa: S603
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{bare_port}/items")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        baseline = wrk(f"http://127.0.0.1:{bare_port}/items", {})
    finally:
        bare.terminate()
        bare.wait()

    q = statistics.quantiles(login, n=100)
    print(f"\nAPI benchmark (wrk, {CONNECTIONS} connections, {DURATION}, one uvicorn worker,", end=" ")
    print("real MariaDB/FerretDB/Redis)")
    print(f"{'endpoint':44} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    print(f"{'GET /api/v1/characters (auth, 20 items)':44} {ours['rps']:9.0f} {ours['p50']:8.2f} {ours['p99']:8.2f}")
    print(f"{'bare FastAPI, 20 items':44} {baseline['rps']:9.0f} {baseline['p50']:8.2f} {baseline['p99']:8.2f}")
    print(f"ratio storybang/bare: {ours['rps'] / baseline['rps']:.2f}x throughput")
    print(f"login at {LOGIN_RATE}/s for {LOGIN_SECONDS}s ({len(login)} logins, argon2id):", end=" ")
    print(f"p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms")


if __name__ == "__main__":
    main()
