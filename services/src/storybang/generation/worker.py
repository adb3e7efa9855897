"""Running jobs: the one function every actor calls, the actors, and the `storybang worker` role.

Failure policy: a backend that is down or cold (``Unavailable``) is retried by Dramatiq with
exponential backoff, up to ``generation.max_retries`` times, the job going back to ``queued`` in
between; anything that retrying cannot fix (bad input, a missing character, no backend for the
task) fails the job at once with the reason. Every job has a time limit.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import signal
import threading
import time
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import dramatiq
import structlog
from dramatiq.asyncio import EventLoopThread, get_event_loop_thread
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO, CurrentMessage

from storybang import errors, logs, queue
from storybang.events import EventBus
from storybang.generation import jobs, limits, metrics, quotas, sweeper
from storybang.generation.backends.base import BackendError, Rejected, Unavailable, Unsupported
from storybang.generation.backends.chain import AllDown, Chain, NoBackend
from storybang.generation.tasks import RUNNERS, Cancelled, Context
from storybang.runtime import Runtime
from storybang.settings import GenerationSettings, Settings
from storybang.stores.errors import STORE_DOWN

log = logs.get(__name__)

# Dramatiq's backoff between retries, in milliseconds.
MIN_BACKOFF_MS, MAX_BACKOFF_MS = 1_000, 60_000

# Errors a later attempt may not meet: a backend or a store that is down or restarting.
TRANSIENT: tuple[type[BaseException], ...] = (Unavailable, errors.Unavailable, *STORE_DOWN)


async def execute(ctx: Context, job_id: str, retries: int) -> str:
    """Run one job to an end state; returns what happened (for logs and tests).

    Raises :class:`dramatiq.Retry` when a later attempt may succeed; the job then waits in ``queued`` (or,
    when its store was down too, stays ``running`` and the retry takes it over).
    """
    runtime = ctx.runtime
    lease_seconds = jobs.lease_seconds(runtime.settings.worker.heartbeat_timeout_seconds)
    try:
        job = await jobs.start(runtime.documents, job_id, lease_seconds=lease_seconds)
    except jobs.Held as e:
        # Its worker may have just died (the broker redelivers after its heartbeat timeout, the
        # lease runs as long): look again shortly. A duplicate message ends as "skipped" then.
        raise dramatiq.Retry("the job is held by another worker") from e
    except TRANSIENT as e:
        # The store is down at pick-up: the message comes back later (and the sweeper, should its
        # retries run out, sends it again), so the job never waits in "queued" for nothing.
        raise dramatiq.Retry(f"picking the job up: {type(e).__name__}") from e
    if job is None:
        return "skipped"  # finished, cancelled, another worker's, or unknown: a late or repeated message
    owner, task = job["owner_id"], job["task"]
    event = {"id": job_id, "task": task}
    started = time.monotonic()
    lease = asyncio.create_task(_keep_lease(runtime, job, lease_seconds))
    try:
        await runtime.events.publish(owner, "generation.started", event)
        async with limits.running(runtime.settings.generation):
            outcome = await RUNNERS[task](ctx, job)
        # Inside the try: a store that is down at this very moment is retried like any other step
        # (the result is applied idempotently, so running the job again stores it once).
        done = await jobs.succeed(runtime.documents, job, outcome.result, outcome.backend)
    except Cancelled:
        return "cancelled"
    except TimeoutError as e:
        return await _fail(runtime, job, _timed_out(runtime.settings.generation, time.monotonic() - started), e)
    except TRANSIENT as e:
        reason = getattr(e, "detail", None) or str(e) or type(e).__name__
        if retries < runtime.settings.generation.max_retries:
            log.warning("transient failure, retrying", retries=retries, error=reason)
            with contextlib.suppress(*TRANSIENT):  # with the store down, the retry takes the job over
                await jobs.requeue(runtime.documents, job, f"retrying: {reason}")
            raise dramatiq.Retry(reason) from e
        return await _fail(runtime, job, reason, e)
    except (Rejected, Unsupported, NoBackend, errors.StoryBangError, BackendError) as e:
        return await _fail(runtime, job, getattr(e, "detail", None) or str(e), e)
    finally:
        lease.cancel()
    if done is None:
        return "cancelled" if not await jobs.is_running(runtime.documents, job) else "lost"
    if outcome.tokens:
        metrics.TOKENS.labels(task, outcome.backend).inc(outcome.tokens)
    try:
        await quotas.record(runtime, owner, tokens=outcome.tokens, images=outcome.images)
    except TRANSIENT:  # the job is done; a usage counter that missed it is no reason to undo that
        log.warning("usage not counted: the counters are unavailable", tokens=outcome.tokens)
    completed = event | {"backend": outcome.backend, "summary": summary(outcome.result)}
    await _announce(runtime, owner, "generation.completed", completed)
    return "succeeded"


# A finished job's last event is worth a short wait for a store blip: the job cannot run again to
# send it, and a client waiting on it would otherwise learn of the end only when it refetches.
ANNOUNCE_TRIES = 4


async def _announce(runtime: Runtime, owner: str, name: str, data: dict[str, Any]) -> None:
    for attempt in range(ANNOUNCE_TRIES):
        try:
            await runtime.events.publish(owner, name, data)
            return
        except TRANSIENT:
            if attempt == ANNOUNCE_TRIES - 1:
                log.error("event lost: the event bus stayed unavailable", event_name=name)
                return
            await asyncio.sleep(0.25 * 2**attempt)


def _timed_out(settings: GenerationSettings, elapsed: float) -> str:
    ceiling = limits.ceiling_seconds(settings)
    if elapsed >= ceiling - 1:
        return f"ran past the {ceiling:.0f} s its work allows"
    return f"made no progress for {settings.timeout_seconds} s"


async def _keep_lease(runtime: Runtime, job: dict[str, Any], lease_seconds: float) -> None:
    """Renew the job's lease while it runs, so that no other worker takes it over."""
    while True:
        await asyncio.sleep(lease_seconds / jobs.RENEWALS_PER_LEASE)
        with contextlib.suppress(*TRANSIENT):  # a blip: the lease outlasts two missed renewals
            if not await jobs.renew(runtime.documents, job, lease_seconds=lease_seconds):
                return  # cancelled, or taken over after all: its own writes will be refused


# What of a result an event carries: ids and short values. A story or a translation can be far larger
# than an event may be; the client fetches the whole result (GET /generations/{id}).
SUMMARY_TEXT_MAX = 200


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """The small part of ``result`` that a ``generation.completed`` event carries."""
    return {
        key: value
        for key, value in result.items()
        if isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) <= SUMMARY_TEXT_MAX)
    }


async def _fail(runtime: Runtime, job: dict[str, Any], reason: str, error: BaseException | None) -> str:
    tried = error.tried if isinstance(error, AllDown) else []
    if await jobs.fail(runtime.documents, job, reason, backends_tried=tried) is None:
        return "cancelled"
    kind = metrics.reason_of(error) if error is not None else "internal"
    metrics.FAILURES.labels(job["task"], kind).inc()
    log.info("job failed", task=job["task"], reason=reason, reason_class=kind, backends_tried=tried)
    await runtime.events.publish(
        job["owner_id"], "generation.failed", {"id": job["id"], "task": job["task"], "error": reason}
    )
    return "failed"


async def _crashed(ctx: Context, job_id: str) -> None:
    job = await jobs.get(ctx.runtime.documents, job_id)
    if job is not None and job["status"] == "running":
        await _fail(ctx.runtime, job, "internal error", None)


def _retries() -> int:
    message = CurrentMessage.get_current_message()
    return int(message.options.get("retries", 0)) if message is not None else 0


def declare(
    broker: dramatiq.Broker, contexts: dict[str, Context], tasks: list[str], settings: Settings
) -> list[dramatiq.Actor[Any, Any]]:
    """Declare one actor per task on ``broker``; each takes a job id and nothing else.

    ``contexts`` may still be empty: it is filled when the worker boots (see :class:`Lifecycle`).
    """
    actors = []
    for task in tasks:

        async def run(job_id: str, _task: str = task) -> None:
            started = time.perf_counter()
            # Every log line of this job, here and in what it calls, carries its id.
            with (
                structlog.contextvars.bound_contextvars(job_id=job_id, task=_task),
                metrics.RUNNING.labels(_task).track_inprogress(),
            ):
                try:
                    outcome = await execute(contexts[_task], job_id, _retries())
                    metrics.JOBS.labels(_task, outcome).inc()
                    metrics.DURATION.labels(_task, outcome).observe(time.perf_counter() - started)
                except dramatiq.Retry:
                    metrics.JOBS.labels(_task, "retried").inc()
                    raise
                except Exception:
                    # A defect, not a condition: log it with its traceback, fail the job so it does
                    # not wait forever, and do not retry what would fail the same way.
                    log.exception("job crashed")
                    await _crashed(contexts[_task], job_id)

        decorate = dramatiq.actor(
            actor_name=queue.actor_name(task),
            queue_name=task,
            broker=broker,
            # Only dramatiq.Retry leaves run(): execute() raises it for a transient failure while
            # retries are left, and fails the job itself on the last one. Dramatiq's Retries
            # middleware then redelivers with exponential backoff; max_retries is its backstop.
            max_retries=settings.generation.max_retries,
            min_backoff=MIN_BACKOFF_MS,
            max_backoff=MAX_BACKOFF_MS,
            # Our own limits (storybang.generation.limits) end a job; Dramatiq's is a backstop above them.
            time_limit=int((limits.ceiling_seconds(settings.generation) + 60) * 1000),
        )
        actors.append(decorate(run))
    return actors


def contexts_for(runtime: Runtime, tasks: list[str]) -> dict[str, Context]:
    return {task: Context(runtime, Chain.for_task(task, runtime.settings.generation)) for task in tasks}


def _loop() -> EventLoopThread:
    thread = get_event_loop_thread()
    assert thread is not None, "the AsyncIO middleware starts the loop before the worker boots"
    return thread


class Lifecycle(AsyncIO):
    """Dramatiq's event-loop middleware, plus our runtime: opened on the worker's event loop before
    the first message is consumed, closed after the last. Connections (motor, asyncmy, redis) are
    bound to the loop that made them, so they must be made on this one."""

    def __init__(
        self, settings: Settings, tasks: list[str], contexts: dict[str, Context], bus: EventBus | None = None
    ) -> None:
        super().__init__()
        self.settings, self.tasks, self.contexts, self.bus = settings, tasks, contexts, bus
        self.sweeping: concurrent.futures.Future[None] | None = None

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        super().before_worker_boot(broker, worker)  # type: ignore[no-untyped-call]
        runtime = _loop().run_coroutine(Runtime.open(self.settings, broker=broker, bus=self.bus))
        self.contexts.update(contexts_for(runtime, self.tasks))
        # An in-process queue is new at every start: whatever was queued or running lost its message.
        first_grace = 0 if isinstance(broker, StubBroker) else sweeper.QUEUED_GRACE_SECONDS
        sweeping = sweeper.keep_sweeping(runtime, broker, self.tasks, first_grace=first_grace)
        self.sweeping = asyncio.run_coroutine_threadsafe(sweeping, _loop().loop)

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        loop = _loop()
        if self.sweeping is not None:
            self.sweeping.cancel()
        if self.contexts:
            ctx = next(iter(self.contexts.values()))
            for c in self.contexts.values():
                loop.run_coroutine(c.chain.close())
            loop.run_coroutine(ctx.runtime.close())
        super().after_worker_shutdown(broker, worker)  # type: ignore[no-untyped-call]


def start(
    settings: Settings,
    tasks: list[str],
    *,
    broker: dramatiq.Broker | None = None,
    bus: EventBus | None = None,
    contexts: dict[str, Context] | None = None,
) -> dramatiq.Worker:
    """Declare the actors for ``tasks`` and start consuming their queues in this process.

    ``broker`` and ``bus`` are given when the worker shares them with an app in the same process;
    ``contexts`` is filled with each task's context once the worker has booted.
    """
    broker = broker or queue.make_broker(settings)
    contexts = {} if contexts is None else contexts
    broker.add_middleware(Lifecycle(settings, tasks, contexts, bus))
    declare(broker, contexts, tasks, settings)
    worker = dramatiq.Worker(
        broker,
        queues=set(tasks),
        worker_threads=settings.worker.concurrency,
        worker_timeout=settings.worker.poll_max_ms,
    )
    worker.start()
    metrics.worker_started(tasks, settings.worker.concurrency, settings.generation.timeout_seconds)
    return worker


def health_app(contexts: dict[str, Context]) -> Any:
    """The worker's HTTP face (WSGI): ``/healthz``, ``/readyz`` (its stores answer) and metrics."""
    from prometheus_client import make_wsgi_app

    metrics = make_wsgi_app()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        if path not in ("/healthz", "/readyz"):
            return list(metrics(environ, start_response))
        status = "200 OK"
        body: dict[str, Any] = {"status": "ok"}
        if path == "/readyz":
            if not contexts:
                status, body = "503 Service Unavailable", {"status": "starting"}
            else:
                runtime = next(iter(contexts.values())).runtime
                checks = _loop().run_coroutine(runtime.check())
                ready = all(v == "ok" for v in checks.values())
                status = "200 OK" if ready else "503 Service Unavailable"
                body = {"status": "ok" if ready else "unavailable", "checks": checks}
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    return app


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None  # probes every few seconds would flood the log


def run(settings: Settings, tasks: list[str]) -> None:
    """`storybang worker`: run until SIGTERM/SIGINT, then finish the jobs in hand and stop."""
    contexts: dict[str, Context] = {}
    server = make_server("0.0.0.0", settings.worker.metrics_port, health_app(contexts), handler_class=_QuietHandler)  # noqa: S104
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    worker = start(settings, tasks, contexts=contexts)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.info("worker started", tasks=tasks, concurrency=settings.worker.concurrency)
    stop.wait()
    log.info("worker stopping")
    worker.stop(timeout=int(limits.ceiling_seconds(settings.generation) * 1000))
