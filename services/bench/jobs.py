"""Generation benchmarks on the real stores (started by scripts/bench.sh).

1. Throughput: jobs per second through StoryBang's path (job document, queue, worker claim,
   backend call, result, events) against two baselines on the same Redis, with the same number of
   worker threads:
   - a bare Dramatiq actor doing nothing;
   - bare Dramatiq, PyMongo and redis-py doing the store work a job does on MongoDB's path
     (:func:`same_work`), compared with StoryBang on that path: what StoryBang itself costs.
   Like with like: the backend answers in process (:class:`bench.instant.InstantBackend`), as the
   bare actors call nothing, and every side counts a job done when its actor returns
   (:class:`Finished`), then checks that every job document says so. Each side's CPU per job is
   printed, this process's (the worker's) and the servers' apart.
2. What one job asks of the stores (:func:`counts`): document and SQL round trips and Redis
   commands per job, by phase (submit, claim, run, result, events), against the Redis commands
   per message of the bare Dramatiq actor.
3. Submit → completed overhead: an HTTP submission to `storybang serve`, a `storybang worker`
   process, and the `generation.completed` event over Socket.IO from `storybang notifier`, with an
   instant backend; p50/p99 over sequential jobs.

1 and 3 run BENCH_ROUNDS times (3), the two sides of 1 alternating; medians are printed, and the
ratio is the median of the rounds' ratios.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import httpx
import pytest
import redis.asyncio as aioredis
import socketio  # type: ignore[import-untyped]
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO
from pymongo import AsyncMongoClient, MongoClient, ReturnDocument

from bench.instant import TEXT, InstantBackend
from storybang import events, memory, queue
from storybang.generation import execution, jobs, quotas, service, tasks, worker
from storybang.generation.backends import chain
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
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


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


class Finished(dramatiq.Middleware):
    """Counts the messages a worker is done with, the same way for both sides of the comparison."""

    def __init__(self) -> None:
        self.done = threading.Semaphore(0)

    def after_process_message(
        self, broker: dramatiq.Broker, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        self.done.release()

    def after_skip_message(self, broker: dramatiq.Broker, message: Any) -> None:
        self.done.release()

    def wait(self, n: int) -> None:
        for _ in range(n):
            self.done.acquire()


def server_cpu_seconds() -> dict[str, float]:
    """CPU time used so far by each test server and its child processes (PostgreSQL's backends)."""
    state = Path(os.environ.get("SERVERS_STATE", Path(__file__).resolve().parents[2] / ".servers"))
    stats: dict[int, tuple[int, float]] = {}  # pid: (parent, cpu seconds)
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                stats[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / tick)
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in stats.items():
        children.setdefault(parent, []).append(pid)

    def tree(pid: int) -> float:
        return stats.get(pid, (0, 0.0))[1] + sum(tree(c) for c in children.get(pid, []))

    cpu = {}
    for pidfile in sorted(state.glob("*.pid")):
        with contextlib.suppress(OSError, ValueError):
            cpu[pidfile.stem] = tree(int(pidfile.read_text().split()[0]))
    return cpu


@dataclasses.dataclass
class Run:
    """A timed run: jobs/s, and CPU milliseconds per job of this process and of each server."""

    rate: float
    cpu_ms: float
    servers_ms: dict[str, float]

    @classmethod
    def median(cls, runs: list[Run]) -> Run:
        names = {name for run in runs for name in run.servers_ms}
        return cls(
            statistics.median(r.rate for r in runs),
            statistics.median(r.cpu_ms for r in runs),
            {name: statistics.median(r.servers_ms.get(name, 0.0) for r in runs) for name in sorted(names)},
        )

    def line(self) -> str:
        servers = ", ".join(f"{name} {ms:.2f}" for name, ms in self.servers_ms.items() if ms >= 0.005)
        return f"{self.rate:8.0f} jobs/s; CPU per job: worker {self.cpu_ms:.2f} ms, servers {servers or '0'} ms"


@contextlib.contextmanager
def timed(jobs: int) -> Iterator[list[Run]]:
    out: list[Run] = []
    servers, cpu, started = server_cpu_seconds(), time.process_time(), time.perf_counter()
    yield out
    elapsed, cpu_used = time.perf_counter() - started, time.process_time() - cpu
    after = server_cpu_seconds()
    used = {name: (after[name] - servers.get(name, after[name])) * 1000 / jobs for name in after}
    out.append(Run(jobs / elapsed, cpu_used * 1000 / jobs, used))


def raw_dramatiq(redis_url: str, tag: str, jobs: int = JOBS, *, one_by_one: bool = False) -> Run:
    """A no-op actor's run; ``one_by_one`` sends each message after the previous one ran."""

    async def noop(job_id: str) -> None:
        return None

    return _bare_run(redis_url, f"bench-raw-{tag}", noop, [str(i) for i in range(jobs)], one_by_one=one_by_one)


def _bare_run(
    redis_url: str,
    namespace: str,
    function: Any,
    job_ids: list[str],
    *,
    one_by_one: bool = False,
    cleanup: Callable[[], Awaitable[None]] | None = None,
) -> Run:
    """``function`` as a bare Dramatiq actor, run once for each of ``job_ids`` by a worker of
    ``THREADS`` threads; ``one_by_one`` sends each message after the previous one ran. ``cleanup``
    runs on the worker's event loop before it stops."""
    broker = RedisBroker(url=redis_url, namespace=namespace)  # type: ignore[no-untyped-call]
    broker.add_middleware(AsyncIO())
    finished = Finished()
    broker.add_middleware(finished)
    actor = dramatiq.actor(queue_name="raw", broker=broker)(function)
    jobs = len(job_ids)
    for job_id in [] if one_by_one else job_ids:
        actor.send(job_id)
    with timed(jobs) as run:
        w = dramatiq.Worker(broker, queues={"raw"}, worker_threads=THREADS)
        w.start()
        for job_id in job_ids if one_by_one else []:
            actor.send(job_id)
            finished.wait(1)
        if not one_by_one:
            finished.wait(jobs)
    loop = get_event_loop_thread()
    if cleanup is not None and loop is not None:
        loop.run_coroutine(cleanup())
    w.stop()
    return run[0]


def _job_document(owner_id: str) -> dict[str, Any]:
    """A queued translation job as :func:`storybang.generation.jobs.create` stores it."""
    data = {"text": "The fox is happy.", "target_language": "es", "source_language": "en", "story_id": None}
    stamp = jobs.now()
    return {
        "_id": secrets.token_hex(12),
        "owner_id": owner_id,
        "task": "translate",
        "status": "queued",
        "progress": 0.0,
        "input": data,
        "backend": None,
        "result": None,
        "error": None,
        "attempt": 0,
        "request_id": None,
        "created_at": stamp,
        "updated_at": stamp,
    }


def same_work(
    mongo_url: str,
    redis_url: str,
    tag: str,
    jobs_: int = JOBS,
    *,
    one_by_one: bool = False,
    counts: roundtrips.Counts | None = None,
) -> Run:
    """Bare Dramatiq, PyMongo and redis-py doing the store work of a StoryBang job on MongoDB's
    path, and nothing else: claim the job document (one conditional update), publish
    ``generation.started`` (XADD, EXPIRE, PUBLISH: one round trip, as StoryBang's script), write
    the result (one conditional update), count the job out of its owner's jobs in flight and add
    its tokens (ZREM, INCRBY, EXPIRE, GET of the push mark: one round trip), publish
    ``generation.completed``. The job documents are written before the clock starts, as
    :func:`ours` writes them. ``counts``: where to count what the jobs ask of the stores."""
    owner = secrets.token_hex(12)
    database = f"bench_{tag}_bare"
    documents = [_job_document(owner) for _ in range(jobs_)]
    setup: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    with setup:
        setup[database]["generations"].insert_many(documents)
    clients: dict[str, Any] = {}
    stream, active, used, mark = f"bare:events:{owner}", f"bare:active:{owner}", f"bare:tokens:{owner}", f"bare:{owner}"

    async def publish(r: aioredis.Redis, name: str, data: dict[str, Any]) -> None:
        text = json.dumps(data)
        async with r.pipeline(transaction=False) as pipe:
            pipe.xadd(stream, {"name": name, "data": text}, maxlen=1000, approximate=True)
            pipe.expire(stream, 86400)
            pipe.publish("bare", f'{{"name": "{name}", "data": {text}}}')
            await pipe.execute()

    async def job(job_id: str) -> None:
        if not clients:  # made on the worker's event loop, which they are bound to
            clients["mongo"] = AsyncMongoClient(mongo_url, tz_aware=True)
            clients["redis"] = aioredis.Redis.from_url(redis_url)
        generations, r = clients["mongo"][database]["generations"], clients["redis"]
        claimed = await generations.find_one_and_update(
            {"_id": job_id, "status": "queued"},
            {
                "$set": {"status": "running", "updated_at": jobs.now(), "error": None, "lease_until": jobs.now()},
                "$inc": {"attempt": 1, "_rev": 1},
            },
            return_document=ReturnDocument.AFTER,
        )
        event = {"id": job_id, "task": "translate"}
        await publish(r, "generation.started", event)
        result = {"text": TEXT}
        done = {"status": "succeeded", "progress": 1.0, "result": result, "answered_by": "instant"}
        await generations.find_one_and_update(
            {"_id": job_id, "status": "running", "attempt": claimed["attempt"]},
            {"$set": {**done, "updated_at": jobs.now()}, "$inc": {"_rev": 1}},
            return_document=ReturnDocument.AFTER,
        )
        async with r.pipeline(transaction=False) as pipe:
            pipe.zrem(active, job_id)
            pipe.incrby(used, 4)  # the words translated
            pipe.expire(used, 86400)
            pipe.get(mark)
            await pipe.execute()
        await publish(r, "generation.completed", event | {"backend": "instant", "summary": result})

    async def close() -> None:
        if clients:
            await clients["mongo"].close()
            await clients["redis"].aclose()

    ids = [d["_id"] for d in documents]
    with roundtrips.counting(counts) if counts is not None else contextlib.nullcontext():
        run = _bare_run(redis_url, f"bench-same-{tag}", job, ids, one_by_one=one_by_one, cleanup=close)
    _all_succeeded(mongo_url, database, jobs_)
    return run


def _all_succeeded(mongo_url: str, database: str, expected: int) -> None:
    """The check that a side did the work it is timed for: every job it ran says it succeeded."""
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    with client:
        generations = client[database]["generations"]
        succeeded = generations.count_documents({"status": "succeeded"})
        assert succeeded == expected == generations.count_documents({}), f"{succeeded} of {expected} jobs succeeded"


def _instant_backends() -> pytest.MonkeyPatch:
    """Every configured backend answers in process (see :mod:`bench.instant`)."""
    patch = pytest.MonkeyPatch()
    patch.setattr(chain, "build", lambda config, settings: InstantBackend(config.name))
    return patch


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
    patch.setattr(quotas, "finish", _in_phase("result", quotas.finish))
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
    finished = Finished()
    broker = queue.make_broker(settings)
    broker.add_middleware(finished)
    instant = _instant_backends()
    w = worker.start(settings, ["translate"], broker=broker)
    request = TranslateJobCreate(task="translate", input={"text": "The fox is happy.", "target_language": "es"})
    try:
        # A first job warms every connection up: what is counted is the steady state.
        for counting in (False, True):
            with _phases(), roundtrips.counting() as counted:
                for _ in range(COUNTED if counting else 1):
                    with roundtrips.phase("submit"):
                        await service.create(runtime, owner, request)
                    await asyncio.to_thread(finished.wait, 1)
                    # Its push notification goes out beside the job, after the actor returned.
                    await asyncio.sleep(0.05)
    finally:
        await asyncio.to_thread(w.stop)
        instant.undo()
        await runtime.close()
    return counted


def raw_counts(redis_url: str, tag: str) -> roundtrips.Counts:
    """The Redis commands of the bare actor's messages, sent one at a time like :func:`counts`'."""
    with roundtrips.counting() as counted:
        raw_dramatiq(redis_url, f"{tag}-counted", COUNTED, one_by_one=True)
    return counted


async def ours(settings: Settings) -> Run:
    runtime = await Runtime.open(settings)
    owner = secrets.token_hex(12)
    for _ in range(JOBS):
        data = {"text": "The fox is happy.", "target_language": "es", "source_language": "en", "story_id": None}
        job = await jobs.create(runtime.documents, owner, "translate", data, None)
        queue.enqueue(runtime.broker, "translate", job["id"])
    finished = Finished()
    broker = queue.make_broker(settings)
    broker.add_middleware(finished)
    instant = _instant_backends()
    try:
        with timed(JOBS) as run:
            w = worker.start(settings, ["translate"], broker=broker)
            await asyncio.to_thread(finished.wait, JOBS)
        await asyncio.to_thread(w.stop)
    finally:
        instant.undo()
        await runtime.close()
    _all_succeeded(os.environ["STORYBANG_TEST_MONGO_URL"], settings.mongo.database, JOBS)
    return run[0]


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
        instant_url = f"http://127.0.0.1:{port}/v1"
        settings = settings_for(tag, data, instant_url)
        subprocess.run(
            [sys.executable, "-m", "storybang", "migrate"],
            env=os.environ | settings_env(settings),
            check=True,
            capture_output=True,
        )
        # The process's collector set as `storybang worker` sets it; both sides run under it.
        memory.settle()
        counted = asyncio.run(counts(settings))
        # What MongoDB itself makes of it: a compare-and-set in one command (safe here: one job at a time).
        atomic = settings.model_copy(update={"mongo": settings.mongo.model_copy(update={"atomic_updates": True})})
        counted_atomic = asyncio.run(counts(atomic))
        mongo_url, redis_url = os.environ["STORYBANG_TEST_MONGO_URL"], os.environ["STORYBANG_TEST_REDIS_URL"]
        raw_counted = raw_counts(redis_url, tag)
        same_counted = roundtrips.Counts()
        same_work(mongo_url, redis_url, f"{tag}c", COUNTED, one_by_one=True, counts=same_counted)

        # Each round on a database and queues of its own: on FerretDB a collection that earlier rounds
        # filled makes every later round slower, which is the stand-in's doing, not the job path's.
        def fresh(n: int, what: str, *, atomic: bool | None = None) -> Settings:
            made = settings_for(f"{tag}{what}{n}", data, instant_url)
            return made.model_copy(update={"mongo": made.mongo.model_copy(update={"atomic_updates": atomic})})

        # Each round: the no-op actor, StoryBang on FerretDB's path, the bare store work, StoryBang on
        # MongoDB's path (FerretDB stands in for MongoDB there: no two writers race for a job here).
        rounds = [
            (
                raw_dramatiq(redis_url, f"{tag}-{n}"),
                asyncio.run(ours(fresh(n, "j"))),
                same_work(mongo_url, redis_url, f"{tag}s{n}"),
                asyncio.run(ours(fresh(n, "a", atomic=True))),
            )
            for n in range(ROUNDS if JOBS else 0)
        ]
        latencies = [asyncio.run(overhead(fresh(n, "l"), data)) for n in range(ROUNDS if SEQUENTIAL >= 2 else 0)]
    finally:
        instant.terminate()
        instant.wait()
    print(f"\nWhat a job asks of the stores ({COUNTED} jobs one at a time, submitted as the API does), FerretDB:")
    print(counted.table(COUNTED))
    print("\nThe same with MongoDB's one-command compare-and-set (mongo.atomic_updates):")
    print(counted_atomic.table(COUNTED))
    print(f"\nBare Dramatiq no-op actor, {COUNTED} messages one at a time:")
    print(raw_counted.table(COUNTED))
    print(f"\nBare Dramatiq, PyMongo and redis-py doing a job's store work, {COUNTED} jobs one at a time:")
    print(same_counted.table(COUNTED))
    if rounds:

        def compared(ours_at: int, bare_at: int) -> str:
            bare, our = Run.median([r[bare_at] for r in rounds]), Run.median([r[ours_at] for r in rounds])
            rate = statistics.median(r[ours_at].rate / r[bare_at].rate for r in rounds)
            cpu = statistics.median(r[bare_at].cpu_ms / r[ours_at].cpu_ms for r in rounds)
            ratio = f"ratio StoryBang/bare: {rate:.3f} (jobs/s), {cpu:.3f} (worker CPU)"
            return f"{bare.line()}\n  StoryBang: {our.line()}\n  {ratio}"

        print(
            f"\nGeneration benchmark ({JOBS} jobs, {THREADS} worker threads, real Redis/FerretDB/MariaDB,"
            f" {len(rounds)} round(s), medians; StoryBang with an in-process instant backend)"
        )
        print(f"bare Dramatiq no-op actor: {compared(1, 0)}")
        print(f"bare Dramatiq + PyMongo + redis-py, a job's store work on MongoDB's path: {compared(3, 2)}")
    if latencies:
        quantiles = [statistics.quantiles(round_, n=100) for round_ in latencies]
        p50, p99 = statistics.median(q[49] for q in quantiles), statistics.median(q[98] for q in quantiles)
        each = ", ".join(f"{q[98]:.1f}" for q in quantiles)
        print(
            f"submit -> completed over Socket.IO ({SEQUENTIAL} sequential jobs, API + worker + notifier processes,"
            f" {len(quantiles)} round(s), medians): p50 {p50:.1f} ms, p99 {p99:.1f} ms (p99 of each round: {each})"
        )


if __name__ == "__main__":
    main()
