"""Generation benchmarks on the real stores (started by scripts/bench.sh).

1. No-op throughput: jobs per second through StoryBang's path (job document, queue, worker claim,
   backend call, result, events) against bare Dramatiq actors doing nothing, on the same Redis,
   with the same number of worker threads.
2. What one job asks of the stores (:func:`counts`): document and SQL round trips and Redis
   commands per job, by phase (submit, claim, run, result, events), against the Redis commands
   per message of the bare Dramatiq actor.
3. Submit → completed overhead: an HTTP submission to `storybang serve`, a `storybang worker`
   process, and the `generation.completed` event over Socket.IO from `storybang notifier`, with an
   instant backend; p50/p99 over sequential jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import dramatiq
import httpx
import pytest
import socketio  # type: ignore[import-untyped]
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO

from storybang import events, queue
from storybang.generation import execution, jobs, quotas, service, tasks, worker
from storybang.generation.models import TranslateJobCreate
from storybang.push import service as push
from storybang.runtime import Runtime
from storybang.security import tokens
from storybang.settings import Settings
from storybang_testing.waiting import free_port
from tests import roundtrips
from tests.processes import settings_env, storybang

JOBS = int(os.environ.get("BENCH_JOBS", "1000"))
THREADS = 8
SEQUENTIAL = int(os.environ.get("BENCH_SEQUENTIAL", "200"))
# Jobs run one at a time while the stores' commands are counted: a count per job, not a rate.
COUNTED = int(os.environ.get("BENCH_COUNTED", "50"))


def settings_for(tag: str, data: Path, instant_url: str) -> Settings:
    env = os.environ
    return Settings(
        env="production",
        data_dir=data,
        mysql={"url": env["STORYBANG_TEST_MYSQL_URL"]},
        mongo={"url": env["STORYBANG_TEST_MONGO_URL"], "database": f"bench_{tag}"},
        redis={"url": env["STORYBANG_TEST_REDIS_URL"]},
        auth={"signing_key": tokens.generate_pem(), "require_verification": False},
        limits={"login_per_address": "100000/minute", "register_per_address": "100000/minute"},
        worker={"queue_namespace": f"bench-{tag}", "concurrency": THREADS},
        generation={
            "backends": [{"name": "instant", "kind": "openai", "base_url": instant_url, "model": "m"}],
            "max_active_jobs": 100_000,
            "daily_tokens": 10**12,
        },
    )


def raw_dramatiq(redis_url: str, tag: str, jobs: int = JOBS, *, one_by_one: bool = False) -> float:
    """Jobs/s of a no-op actor; ``one_by_one`` sends each message after the previous one ran."""
    broker = RedisBroker(url=redis_url, namespace=f"bench-raw-{tag}")  # type: ignore[no-untyped-call]
    broker.add_middleware(AsyncIO())
    done = threading.Semaphore(0)

    async def noop(job_id: str) -> None:
        done.release()

    actor = dramatiq.actor(queue_name="raw", broker=broker)(noop)
    for i in range(0 if one_by_one else jobs):
        actor.send(str(i))
    started = time.perf_counter()
    w = dramatiq.Worker(broker, queues={"raw"}, worker_threads=THREADS)
    w.start()
    for i in range(jobs):
        if one_by_one:
            actor.send(str(i))
        done.acquire()
    elapsed = time.perf_counter() - started
    w.stop()
    return jobs / elapsed


def _in_phase(name: str, function: Any) -> Any:
    async def counted(*args: Any, **kwargs: Any) -> Any:
        with roundtrips.phase(name):
            return await function(*args, **kwargs)

    return counted


def _phases() -> contextlib.ExitStack:
    """Attribute each step of a job to its phase, for :mod:`tests.roundtrips`."""
    stack = contextlib.ExitStack()
    patch = pytest.MonkeyPatch()
    stack.callback(patch.undo)
    patch.setattr(execution, "execute", _in_phase("worker", execution.execute))
    patch.setattr(jobs, "start", _in_phase("claim", jobs.start))
    patch.setitem(tasks.RUNNERS, "translate", _in_phase("run", tasks.RUNNERS["translate"]))
    patch.setattr(jobs, "succeed", _in_phase("result", jobs.succeed))
    patch.setattr(quotas, "record", _in_phase("result", quotas.record))
    patch.setattr(push, "notify", _in_phase("push", push.notify))
    for bus in (events.RedisEventBus, events.InProcessEventBus):
        patch.setattr(bus, "publish", _in_phase("events", bus.publish))
    return stack


async def counts(settings: Settings) -> roundtrips.Counts:
    """What ``COUNTED`` jobs ask of the stores, each submitted as the API does and run to its end
    before the next is submitted."""
    roundtrips.install()  # before the runtime's clients are made
    runtime = await Runtime.open(settings)
    owner = secrets.token_hex(12)
    w = worker.start(settings, ["translate"])
    request = TranslateJobCreate(task="translate", input={"text": "The fox is happy.", "target_language": "es"})
    try:
        # A first job warms every connection up: what is counted is the steady state.
        for counting in (False, True):
            with _phases(), roundtrips.counting() as counted:
                for _ in range(COUNTED if counting else 1):
                    with roundtrips.phase("submit"):
                        job = await service.create(runtime, owner, request)
                    while True:
                        with roundtrips.phase("polling"):
                            stored = await jobs.get(runtime.documents, job.root.id)
                        if stored is not None and stored["status"] == "succeeded":
                            break
                        await asyncio.sleep(0.01)
                    # Its last event goes out after the job is stored as succeeded.
                    await asyncio.sleep(0.05)
    finally:
        await asyncio.to_thread(w.stop)
        await runtime.close()
    del counted.mongo["polling"]  # the benchmark's own reads: no part of the job
    for key in [k for k in counted.names if k[0] == "polling"]:
        del counted.names[key]
    return counted


def raw_counts(redis_url: str, tag: str) -> roundtrips.Counts:
    """The Redis commands of the bare actor's messages, sent one at a time like :func:`counts`'."""
    with roundtrips.counting() as counted:
        raw_dramatiq(redis_url, f"{tag}-counted", COUNTED, one_by_one=True)
    return counted


async def ours(settings: Settings) -> float:
    runtime = await Runtime.open(settings)
    owner = secrets.token_hex(12)
    ids = []
    for _ in range(JOBS):
        data = {"text": "The fox is happy.", "target_language": "es", "source_language": "en", "story_id": None}
        job = await jobs.create(runtime.documents, owner, "translate", data, None)
        queue.enqueue(runtime.broker, "translate", job["id"])
        ids.append(job["id"])
    started = time.perf_counter()
    w = worker.start(settings, ["translate"])
    # Polling the store is what is measured: the time until the jobs are stored as succeeded.
    while await runtime.documents.count(jobs.COLLECTION, owner_id=owner, where={"status": "succeeded"}) < JOBS:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    await asyncio.to_thread(w.stop)
    await runtime.close()
    return JOBS / elapsed


async def overhead(settings: Settings, data: Path) -> list[float]:
    env = settings_env(settings) | {"STORYBANG_WORKER__METRICS_PORT": str(free_port())}
    api_port, notifier_port = free_port(), free_port()
    api_args = ["serve", "--port", str(api_port), "--domain", "identity", "--domain", "generation"]
    worker_port = int(env["STORYBANG_WORKER__METRICS_PORT"])
    latencies: list[float] = []
    with (
        storybang(api_args, env, api_port, data / "api.log") as api,
        storybang(["worker", "--task", "translate"], env, worker_port, data / "worker.log"),
        storybang(["notifier", "--port", str(notifier_port)], env, notifier_port, data / "notifier.log") as notifier,
    ):
        async with httpx.AsyncClient(base_url=api, timeout=30) as http:
            account = {"email": f"bench-{secrets.token_hex(3)}@example.com", "password": "benchmark passphrase"}
            await http.post("/api/v1/auth/register", json=account | {"display_name": "B"})
            token = (await http.post("/api/v1/auth/login", json=account)).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            # By job id: a job may complete before its submission's response arrives, so an event
            # may come before the id is known.
            completions: dict[str, asyncio.Future[float]] = {}

            def completion(job_id: str) -> asyncio.Future[float]:
                return completions.setdefault(job_id, asyncio.get_running_loop().create_future())

            sio = socketio.AsyncClient(reconnection=False)

            @sio.on("generation.completed")  # type: ignore[untyped-decorator]
            async def completed(data: dict[str, Any]) -> None:
                future = completion(data["id"])
                if not future.done():
                    future.set_result(time.perf_counter())

            await sio.connect(notifier, auth={"token": token}, transports=["websocket"])
            body = {"task": "translate", "input": {"text": "The fox is happy.", "target_language": "es"}}
            for _ in range(SEQUENTIAL):
                start = time.perf_counter()
                r = await http.post("/api/v1/generations", headers=headers, json=body)
                r.raise_for_status()
                latencies.append((await asyncio.wait_for(completion(r.json()["id"]), 30) - start) * 1000)
            await sio.disconnect()
    return latencies


def main() -> None:
    tag = secrets.token_hex(3)
    data = Path(tempfile.mkdtemp(prefix="storybang-bench-"))
    port = free_port()
    instant = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "uvicorn", "bench.instant:app", "--port", str(port), "--log-level", "warning"],
        cwd=Path(__file__).parent.parent,
    )
    try:
        for _ in range(100):
            try:
                httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json={})
                break
            except httpx.TransportError:
                time.sleep(0.1)
        settings = settings_for(tag, data, f"http://127.0.0.1:{port}/v1")
        subprocess.run(
            [sys.executable, "-m", "storybang", "migrate"],
            env=os.environ | settings_env(settings),
            check=True,
            capture_output=True,
        )
        counted = asyncio.run(counts(settings))
        # What MongoDB itself makes of it: a compare-and-set in one command (safe here: one job at a time).
        atomic = settings.model_copy(update={"mongo": settings.mongo.model_copy(update={"atomic_updates": True})})
        counted_atomic = asyncio.run(counts(atomic))
        raw_counted = raw_counts(os.environ["STORYBANG_TEST_REDIS_URL"], tag)
        raw = raw_dramatiq(os.environ["STORYBANG_TEST_REDIS_URL"], tag) if JOBS else 0.0
        our = asyncio.run(ours(settings)) if JOBS else 0.0
        latencies = asyncio.run(overhead(settings, data)) if SEQUENTIAL else []
    finally:
        instant.terminate()
        instant.wait()
    print(f"\nWhat a job asks of the stores ({COUNTED} jobs one at a time, submitted as the API does), FerretDB:")
    print(counted.table(COUNTED))
    print("\nThe same with MongoDB's one-command compare-and-set (mongo.atomic_updates):")
    print(counted_atomic.table(COUNTED))
    print(f"\nBare Dramatiq no-op actor, {COUNTED} messages one at a time:")
    print(raw_counted.table(COUNTED))
    if JOBS:
        print(f"\nGeneration benchmark ({JOBS} jobs, {THREADS} worker threads, real Redis/FerretDB/MariaDB)")
        print(f"raw Dramatiq no-op actor:             {raw:8.0f} jobs/s")
        print(f"StoryBang job path, instant backend:  {our:8.0f} jobs/s")
        print(f"ratio StoryBang/raw: {our / raw:.3f}")
    if len(latencies) >= 2:
        q = statistics.quantiles(latencies, n=100)
        print(
            f"submit -> completed over Socket.IO ({SEQUENTIAL} sequential jobs, API + worker + notifier processes):"
            f" p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms"
        )


if __name__ == "__main__":
    main()
