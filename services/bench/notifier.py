"""Socket.IO fan-out benchmark on the real Redis: many sockets, each receiving a steady event rate.

BENCH_USERS users x (BENCH_CLIENTS / BENCH_USERS) sockets each, spread over BENCH_CLIENT_PROCS
client processes and BENCH_NOTIFIERS notifier processes. The publisher sends BENCH_RATE events per
second per user (so each socket should get BENCH_RATE per second) for BENCH_SECONDS, through the
real :class:`storybang.events.RedisEventBus`. Each event carries its publish time; a client
records receive time minus publish time (one machine, one clock).

Reports p50/p99/max delivery latency, drops (expected minus received within DRAIN_S after the
publisher stops: a backlog still queued then counts as dropped), duplicates, events out of order,
the notifiers' CPU per delivery, and the cores used while publishing by the notifiers, the clients,
the publisher, Redis and the whole machine. On a small machine they all compete for the same
cores: read the CPU figures before blaming the notifier.
BENCH_CLIENT=raw (default) uses a hand-written protocol client, =socketio python-socketio's.
BENCH_DEFLATE=1 makes the raw client offer permessage-deflate, as browsers do.

    cd services && . ../.servers/env && ../.venv/bin/python -m bench.notifier
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, cast

import redis.asyncio
import socketio  # type: ignore[import-untyped]
import uvloop
import websockets.asyncio.client
from prometheus_client.parser import text_string_to_metric_families

from storybang import events
from storybang.security import tokens
from tests.conftest import make_settings
from tests.notifier.conftest import UNUSED_MONGO, UNUSED_MYSQL, notifier_process

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "1000"))
USERS = int(os.environ.get("BENCH_USERS", "100"))
RATE = float(os.environ.get("BENCH_RATE", "10"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
CLIENT_PROCS = int(os.environ.get("BENCH_CLIENT_PROCS", "4"))
NOTIFIERS = int(os.environ.get("BENCH_NOTIFIERS", "1"))
# "raw": a hand-written protocol client (lighter); "socketio": python-socketio's AsyncClient.
CLIENT_KIND = os.environ.get("BENCH_CLIENT", "raw")
DEFLATE = os.environ.get("BENCH_DEFLATE", "") == "1"
# Time for the last events to arrive after the publisher stops.
DRAIN_S = 10.0
# Publisher ticks per second: each tick publishes for a slice of the users, smoothing the load.
TICKS = 100
CONNECT_CONCURRENCY = 20


# ------------------------------------------------------------------------------------------ clients


class Tally:
    """What one client process saw: per socket, events counted once, in event_id order."""

    def __init__(self, sockets: int) -> None:
        self.latencies: list[float] = []
        self.received = [0] * sockets
        self.last = [(0, 0)] * sockets
        self.duplicates = 0
        self.disorder = 0

    def saw(self, index: int, data: dict[str, Any]) -> None:
        self.latencies.append(time.time() - data["sent_at"])
        event_id = events.parse_id(data["event_id"])
        if event_id == self.last[index]:
            self.duplicates += 1
            return
        if event_id < self.last[index]:
            self.disorder += 1
        self.last[index] = event_id
        self.received[index] += 1


async def socketio_client(item: dict[str, str], index: int, tally: Tally) -> Callable[[], Awaitable[None]]:
    """python-socketio's AsyncClient: what the tests use; costs the client side more CPU."""
    sio = socketio.AsyncClient(reconnection=False)

    async def on_progress(data: dict[str, Any]) -> None:
        tally.saw(index, data)

    sio.on("generation.progress", on_progress)
    await sio.connect(item["url"], auth={"token": item["token"]}, transports=["websocket"], wait_timeout=30)
    return cast(Callable[[], Awaitable[None]], sio.disconnect)


async def raw_client(item: dict[str, str], index: int, tally: Tally) -> Callable[[], Awaitable[None]]:
    """The Engine.IO 4 / Socket.IO 5 protocol over one WebSocket, by hand: open, CONNECT with the
    auth payload, answer pings, parse EVENT packets. A lighter client, so more of a small machine's
    CPU is left to the notifier."""
    url = item["url"].replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    ws = await websockets.asyncio.client.connect(url, max_size=2**20, compression="deflate" if DEFLATE else None)
    opened = await ws.recv()
    if not isinstance(opened, str) or not opened.startswith("0"):
        raise RuntimeError(f"not an Engine.IO open packet: {opened!r}")
    await ws.send("40" + json.dumps({"token": item["token"]}))
    answer = await ws.recv()
    if not isinstance(answer, str) or not answer.startswith("40"):
        raise RuntimeError(f"refused: {answer!r}")

    async def read() -> None:
        async for message in ws:
            if message == "2":
                await ws.send("3")
            elif isinstance(message, str) and message.startswith("42"):
                name, data = json.loads(message[2:])
                if name == "generation.progress":
                    tally.saw(index, data)

    reader = asyncio.create_task(read())

    async def close() -> None:
        await ws.close()
        await asyncio.gather(reader, return_exceptions=True)

    return close


async def run_clients(assignments: list[dict[str, str]], kind: str) -> dict[str, Any]:
    """One client process: connect every assigned socket, say "ready", count until told to stop."""
    tally = Tally(len(assignments))
    make = raw_client if kind == "raw" else socketio_client
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def connect(index: int, item: dict[str, str]) -> Callable[[], Awaitable[None]]:
        async with limit:
            return await make(item, index, tally)

    started = time.monotonic()
    closers = await asyncio.gather(*(connect(i, item) for i, item in enumerate(assignments)))
    print(f"ready {time.monotonic() - started:.2f}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await asyncio.gather(*(close() for close in closers))
    return {
        "received": tally.received,
        "latencies_ms": [round(x * 1000, 2) for x in tally.latencies],
        "duplicates": tally.duplicates,
        "disorder": tally.disorder,
    }


def client_main(kind: str, out: Path) -> None:
    assignments = json.loads(sys.stdin.readline())
    out.write_text(json.dumps(uvloop.run(run_clients(assignments, kind))))


# ------------------------------------------------------------------------------------------ publisher


async def publish(redis_url: str, users: list[str]) -> tuple[dict[str, int], float]:
    """BENCH_RATE events per second per user for BENCH_SECONDS; returns counts per user and the
    seconds it actually took (a publisher that cannot keep up shows here)."""
    bus = events.RedisEventBus.open(redis_url, max_len=1000, ttl_seconds=600)
    counts = dict.fromkeys(users, 0)
    # TICKS times a second, one group of users: each user's group comes round RATE times a second.
    groups = max(1, round(TICKS / RATE))
    slices = [users[i::groups] for i in range(groups)]

    async def one(user: str, n: int) -> None:
        data = {"id": "bench", "task": "story", "progress": 0.5, "delta": f"w{n} ", "sent_at": time.time()}
        await bus.publish(user, "generation.progress", data)
        counts[user] += 1

    start = time.monotonic()
    try:
        for tick in range(int(SECONDS * TICKS)):
            await asyncio.sleep(max(0.0, start + tick / TICKS - time.monotonic()))
            await asyncio.gather(*(one(user, tick) for user in slices[tick % groups]))
    finally:
        await bus.close()
    return counts, time.monotonic() - start


# ------------------------------------------------------------------------------------------ main


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies over all cores since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def redis_pid(redis_url: str) -> int:
    """The Redis server's process, to count its CPU too (it is on this machine)."""

    async def ask() -> int:
        client = redis.asyncio.Redis.from_url(redis_url)
        try:
            return int((await client.info("server"))["process_id"])
        finally:
            await client.aclose()

    return asyncio.run(ask())


def notifier_lag(base: str) -> tuple[float, float]:
    """p50 and p99 of a notifier's own lag histogram (publish to handing the event to the room's
    sockets), as bucket upper bounds: the part of the latency spent before the notifier's sends."""
    with urllib.request.urlopen(base + "/metrics", timeout=10) as answer:  # noqa: S310 - our own notifier
        text = answer.read().decode()
    buckets: list[tuple[float, float]] = []
    for family in text_string_to_metric_families(text):
        if family.name == "storybang_notifier_delivery_lag_seconds":
            buckets = [(float(s.labels["le"]), s.value) for s in family.samples if s.name.endswith("_bucket")]
    total = buckets[-1][1] if buckets else 0.0

    def quantile(q: float) -> float:
        return next((le for le, count in buckets if count >= q * total), float("nan")) if total else float("nan")

    return quantile(0.5), quantile(0.99)


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] if len(values) > 1 else float("nan")


def main() -> None:
    redis_url = os.environ.get("STORYBANG_TEST_REDIS_URL")
    if not redis_url:
        raise SystemExit("STORYBANG_TEST_REDIS_URL is not set: scripts/servers.sh start; . .servers/env")
    work = Path(tempfile.mkdtemp(prefix="bench-notifier-"))
    settings = make_settings(work, redis={"url": redis_url}, mysql={"url": UNUSED_MYSQL}, mongo={"url": UNUSED_MONGO})
    keys = tokens.KeySet.from_settings(settings.auth, settings.data_dir)
    users = [f"bench-{time.time_ns()}-{n}" for n in range(USERS)]
    load_before = Path("/proc/loadavg").read_text().split()[0]

    with ExitStack() as stack:
        pods = [stack.enter_context(notifier_process(settings, work / f"notifier-{n}.log")) for n in range(NOTIFIERS)]
        assignments = [
            {
                "url": pods[n % NOTIFIERS].base,
                "token": keys.issue(users[n % USERS], "user")[0],
                "user": users[n % USERS],
            }
            for n in range(CLIENTS)
        ]
        shares = [assignments[p::CLIENT_PROCS] for p in range(CLIENT_PROCS)]
        procs = []
        for n, share in enumerate(shares):
            proc = subprocess.Popen(  # noqa: S603 - this module, fixed arguments
                [sys.executable, "-m", "bench.notifier", "client", CLIENT_KIND, str(work / f"clients-{n}.json")],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            stack.callback(proc.kill)
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(share) + "\n")
            proc.stdin.flush()
            procs.append(proc)
        connect_s = 0.0
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline().split()
            if line[:1] != ["ready"]:
                raise SystemExit(f"a client process failed to connect its sockets: {line!r}")
            connect_s = max(connect_s, float(line[1]))

        server = redis_pid(redis_url)

        def sample() -> dict[str, Any]:
            return {
                "notifiers": [cpu_seconds(pod.pid) for pod in pods],
                "clients": sum(cpu_seconds(proc.pid) for proc in procs),
                "publisher": time.process_time(),
                "redis": cpu_seconds(server),
                "machine": machine_busy(),
            }

        before = sample()
        counts, took = asyncio.run(publish(redis_url, users))
        during = sample()
        rss = [rss_mib(pod.pid) for pod in pods]
        time.sleep(DRAIN_S)
        after = sample()
        lags = [notifier_lag(pod.base) for pod in pods]

        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("stop\n")
            proc.stdin.flush()
        for proc in procs:
            if proc.wait(timeout=120) != 0:
                raise SystemExit(f"a client process failed (exit {proc.returncode})")
        results = [json.loads((work / f"clients-{n}.json").read_text()) for n in range(len(procs))]

    latencies = [x for r in results for x in r["latencies_ms"]]
    received = sum(sum(r["received"]) for r in results)
    expected = sum(counts[a["user"]] for a in assignments)
    published = sum(counts.values())
    print(
        f"notifier fan-out: {CLIENTS} sockets, {USERS} users, {RATE:g} events/s per socket, {NOTIFIERS} notifier(s),"
        f" {CLIENT_PROCS} {CLIENT_KIND} client processes{' (deflate)' if DEFLATE else ''},"
        f" load average before {load_before}"
    )
    print(f"  connected all sockets in {connect_s:.1f} s (slowest client process)")
    print(f"  published {published} events in {took:.1f} s ({published / took:.0f}/s; target {USERS * RATE:.0f}/s)")
    print(f"  deliveries: expected {expected}, received {received}, drops {expected - received}")
    print(f"  duplicates {sum(r['duplicates'] for r in results)}, out of order {sum(r['disorder'] for r in results)}")
    print(
        f"  latency ms: p50 {percentile(latencies, 0.5):.1f}  p99 {percentile(latencies, 0.99):.1f}"
        f"  max {max(latencies, default=float('nan')):.1f}"
    )
    print(
        "  lag at the notifier (publish to queued for the sockets), ms, bucket bounds: "
        + ", ".join(f"p50 ≤ {p50 * 1000:g} p99 ≤ {p99 * 1000:g}" for p50, p99 in lags)
    )
    notifier_cpu = sum(after["notifiers"]) - sum(before["notifiers"])
    print(
        f"  notifier CPU per delivery: {notifier_cpu / max(received, 1) * 1e6:.1f} µs"
        f" (all notifiers, publishing and draining)"
    )

    def cores(key: str) -> str:
        return f"{(during[key] - before[key]) / took:.2f}"

    busy = (during["machine"][0] - before["machine"][0]) / (during["machine"][1] - before["machine"][1])
    per_notifier = [(d - b) / took for b, d in zip(before["notifiers"], during["notifiers"], strict=True)]
    print(
        f"  cores while publishing: notifier {', '.join(f'{c:.2f}' for c in per_notifier)},"
        f" clients {cores('clients')}, publisher {cores('publisher')}, redis {cores('redis')};"
        f" machine {busy:.0%} busy ({os.cpu_count()} cores, all processes)"
    )
    print(f"  notifier memory (RSS): {', '.join(f'{m:.0f} MiB' for m in rss)}")
    print(f"  delivered/s: {received / took:.0f} (target {CLIENTS * RATE:.0f}/s)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["client"]:
        client_main(sys.argv[2], Path(sys.argv[3]))
    else:
        main()
