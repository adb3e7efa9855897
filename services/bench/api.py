"""API benchmark on the real stores (started by scripts/bench.sh).

1. Authenticated ``GET /api/v1/characters`` (20 items) on `storybang dev` (SQLite, in-process
   everything) and on `storybang serve` (MariaDB, Redis and FerretDB for the MongoDB wire protocol),
   each against a bare FastAPI endpoint returning the very same bytes (checked) under the same
   uvicorn call (bench/bare.py): requests/s, p50, p99 and the server process's CPU time per
   request, read from /proc, so a busy machine blurs the throughput more than the CPU figure. Load
   from wrk (a C load generator, so the client is not the bottleneck). Rounds alternate StoryBang
   and bare; each ratio is StoryBang / bare within a round, and the median of the rounds is printed.
   `serve` runs twice: on the servers' FerretDB, on PostgreSQL, and on a FerretDB on SQLite that the
   benchmark starts itself. SQLite takes one writer at a time, so its row shows what the stand-in
   costs; the PostgreSQL row is the one that measures StoryBang. (Servers started with
   SERVERS_FERRETDB_BACKEND=sqlite give the SQLite row only.)
2. Logins at a steady 20 per second on `storybang serve` (FerretDB on the servers' backend): p50 and p99.

    python -m bench.api     (in services/, with .servers/env sourced)

BENCH_DURATION (wrk's -d, default 10s), BENCH_CONNECTIONS (32) and BENCH_ROUNDS (3) shorten it.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from storybang.security import tokens
from storybang.settings import Settings
from storybang_testing import processes
from storybang_testing.waiting import free_port
from tests.processes import settings_env, start_role, stop_role

DURATION = os.environ.get("BENCH_DURATION", "10s")
CONNECTIONS = os.environ.get("BENCH_CONNECTIONS", "32")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
LOGIN_RATE = 20
LOGIN_SECONDS = 10
URL = "/api/v1/characters?limit=20"
# Clock ticks per second of /proc/<pid>/stat's utime and stime.
TICKS = os.sysconf("SC_CLK_TCK")
# Built by scripts/servers.sh install.
FERRETDB = Path(__file__).resolve().parents[2] / "bin" / "ferretdb"
BACKENDS = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}


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
    requests = re.search(r"(\d+) requests in", out)
    assert rps, out
    assert requests, out
    return {"rps": float(rps.group(1)), "p50": ms("50"), "p99": ms("99"), "requests": float(requests.group(1))}


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process ``pid`` (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime: fields 14 and 15 of stat(5)


@dataclass
class Target:
    name: str
    url: str
    headers: dict[str, str]
    pid: int

    def measure(self) -> dict[str, float]:
        started = cpu_seconds(self.pid)
        result = wrk(self.url, self.headers)
        result["cpu_us"] = (cpu_seconds(self.pid) - started) / result["requests"] * 1e6
        return result


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


def real_settings(prefix: str, mongo_url: str | None = None) -> Settings:
    """Settings on the real servers of `make bench` (scripts/servers.sh), in a database of their own;
    ``mongo_url`` for another MongoDB-wire server than theirs."""
    env = os.environ
    return Settings(
        env="production",
        data_dir=Path(tempfile.mkdtemp(prefix=prefix)),
        mysql={"url": env["STORYBANG_TEST_MYSQL_URL"]},
        mongo={"url": mongo_url or env["STORYBANG_TEST_MONGO_URL"], "database": f"bench_{secrets.token_hex(3)}"},
        redis={"url": env["STORYBANG_TEST_REDIS_URL"]},
        auth={"signing_key": tokens.generate_pem(), "require_verification": False},
        limits={"login_per_address": "100000/minute", "register_per_address": "100000/minute"},
    )


@contextmanager
def role(args: list[str], env: Mapping[str, str], log: Path) -> Iterator[tuple[str, int]]:
    """``storybang <args> --port P`` on a free port; yields its base URL and process id."""
    port = free_port()
    started = start_role([*args, "--port", str(port)], {**env, "STORYBANG_LOG__LEVEL": "warning"}, port, log)
    try:
        yield started.base, started.proc.pid
    finally:
        stop_role(started)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def ferretdb_on_sqlite(data: Path) -> Iterator[str]:
    """A FerretDB of the benchmark's own on SQLite files under ``data``; yields its MongoDB URL."""
    if not FERRETDB.exists():
        raise SystemExit(f"{FERRETDB} is missing: run scripts/servers.sh install")
    port, log = free_port(), data / "ferretdb-sqlite.log"
    cmd = [str(FERRETDB), "--listen-addr", f"127.0.0.1:{port}", "--sqlite-dir", str(data / "ferretdb-sqlite")]
    with processes.serving(cmd, log, lambda: port_open(port)):
        yield f"mongodb://127.0.0.1:{port}/storybang"


def fill(base: str) -> tuple[dict[str, str], bytes]:
    """A reader with 20 characters; their token's header and the page the benchmark reads."""
    email, password = f"reader-{secrets.token_hex(3)}@example.com", "benchmark passphrase"
    httpx.post(base + "/api/v1/auth/register", json={"email": email, "password": password, "display_name": "R"})
    token = httpx.post(base + "/api/v1/auth/login", json={"email": email, "password": password}).json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    for i in range(20):
        character = {"name": f"Character {i}", "description": "A brave little fox who loves maps."}
        httpx.post(base + "/api/v1/characters", headers=auth, json=character).raise_for_status()
    page = httpx.get(base + URL, headers=auth)
    assert len(page.json()["items"]) == 20
    return auth, page.content


@contextmanager
def bare_twin(name: str, body: bytes, data: Path) -> Iterator[Target]:
    """The bare endpoint serving ``body``, checked to answer exactly those bytes."""
    port, body_file, log = free_port(), data / f"bare-{name}.json", data / f"bare-{name}.log"
    body_file.write_bytes(body)
    cmd = [sys.executable, "-m", "bench.bare", str(port), str(body_file)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYBANG_")}
    proc = processes.start(cmd, log, env)  # in services/, where `bench` is importable
    url = f"http://127.0.0.1:{port}/items"
    try:
        processes.wait_ready(proc, lambda: processes.answers(url), log, 60)
        answered = httpx.get(url).content
        if answered != body:
            raise SystemExit(f"the bare endpoint answers other bytes than {name}:\n{answered[:200]!r}\n{body[:200]!r}")
        yield Target(f"  bare FastAPI, the same {len(body)} bytes ({name})", url, {}, proc.pid)
    finally:
        processes.stop(proc)


def report(pairs: list[tuple[Target, Target]], results: dict[str, list[dict[str, float]]]) -> None:
    print(
        f"\nAPI benchmark (wrk, {CONNECTIONS} connections, {DURATION}, {ROUNDS} round(s), medians, one uvicorn worker)"
    )
    width = max(len(t.name) for pair in pairs for t in pair)
    print(f"{'endpoint':{width}} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU µs/req':>11}")
    for ours, bare in pairs:
        for target in (ours, bare):
            runs = results[target.name]
            row = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50", "p99", "cpu_us")}
            print(f"{target.name:{width}} {row['rps']:8.0f} {row['p50']:8.2f} {row['p99']:8.2f} {row['cpu_us']:11.0f}")
        rounds = list(zip(results[ours.name], results[bare.name], strict=True))
        throughput = statistics.median(o["rps"] / b["rps"] for o, b in rounds)
        cpu = statistics.median(b["cpu_us"] / o["cpu_us"] for o, b in rounds)
        print(f"  ratio storybang/bare: {throughput:.2f} by req/s, {cpu:.2f} by CPU per request")


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: run `make bench` (scripts/bench.sh installs it)")
    backend = os.environ.get("STORYBANG_TEST_MONGO_BACKEND", "sqlite")
    if backend not in BACKENDS:
        raise SystemExit(f"STORYBANG_TEST_MONGO_BACKEND is one of {', '.join(BACKENDS)}, not {backend!r}")
    settings = real_settings("storybang-bench-")
    data = settings.data_dir
    serve_env = settings_env(settings)
    subprocess.run([sys.executable, "-m", "storybang", "migrate"], env=os.environ | serve_env, check=True)
    dev_env = {"STORYBANG_AUTH__REQUIRE_VERIFICATION": "false"} | {
        k: v for k, v in serve_env.items() if k.startswith("STORYBANG_LIMITS__")
    }
    serve_args = ["serve", "--domain", "identity", "--domain", "characters"]
    with ExitStack() as stack:
        roles = [
            ("storybang dev (SQLite)", "dev", ["dev", "--data-dir", str(data / "dev")], dev_env),
            (f"storybang serve (FerretDB on {BACKENDS[backend]})", f"serve-{backend}", serve_args, serve_env),
        ]
        if backend != "sqlite":
            sqlite_url = stack.enter_context(ferretdb_on_sqlite(data))
            sqlite_env = settings_env(real_settings("storybang-bench-sqlite-", sqlite_url))
            roles.append(("storybang serve (FerretDB on SQLite)", "serve-sqlite", serve_args, sqlite_env))
        pairs: list[tuple[Target, Target]] = []
        for name, key, args, env in roles:
            base, pid = stack.enter_context(role(args, env, data / f"{key}.log"))
            auth, body = fill(base)
            pairs.append((Target(name, base + URL, auth, pid), stack.enter_context(bare_twin(key, body, data))))
        serve_base = pairs[1][0].url.removesuffix(URL)
        results: dict[str, list[dict[str, float]]] = {t.name: [] for pair in pairs for t in pair}
        for target in (t for pair in pairs for t in pair):
            wrk(target.url, target.headers)  # warm up: connections, caches, lazy imports
        for _ in range(ROUNDS):
            for ours, bare in pairs:
                results[ours.name].append(ours.measure())
                results[bare.name].append(bare.measure())
        login = asyncio.run(logins(serve_base))
    report(pairs, results)
    q = statistics.quantiles(login, n=100)
    print(f"login on serve (FerretDB on {BACKENDS[backend]})", end=" ")
    print(f"at {LOGIN_RATE}/s for {LOGIN_SECONDS}s ({len(login)} logins, argon2id):", end=" ")
    print(f"p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms")


if __name__ == "__main__":
    main()
