"""The actors and the `storybang worker` role: Dramatiq's side of running jobs.

One actor per task takes a job id and hands it to :func:`storybang.generation.execution.execute`,
where a job's life and its failure policy are. The worker also sweeps for jobs that nothing will
run any more (:mod:`storybang.generation.sweeper`) and serves its health and metrics.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
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

from storybang import logs, queue
from storybang.events import EventBus
from storybang.generation import execution, limits, metrics, sweeper
from storybang.generation.backends.chain import Chain
from storybang.generation.tasks import Context
from storybang.runtime import Runtime
from storybang.settings import Settings
from storybang.stores.counters import Counters

log = logs.get(__name__)

# Dramatiq's backoff between retries, in milliseconds.
MIN_BACKOFF_MS, MAX_BACKOFF_MS = 1_000, 60_000


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
                    outcome = await execution.execute(contexts[_task], job_id, _retries())
                    metrics.JOBS.labels(_task, outcome).inc()
                    metrics.DURATION.labels(_task, outcome).observe(time.perf_counter() - started)
                except dramatiq.Retry:
                    metrics.JOBS.labels(_task, "retried").inc()
                    raise
                except Exception:
                    # A defect, not a condition: log it with its traceback, fail the job so it does
                    # not wait forever, and do not retry what would fail the same way.
                    log.exception("job crashed")
                    await execution.crashed(contexts[_task], job_id)

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
            # Our own limits (storybang.generation.limits) end a job; Dramatiq's is a backstop above
            # them, turns waited behind this worker's other jobs included.
            time_limit=int((limits.backstop_seconds(settings.generation, settings.worker.concurrency) + 60) * 1000),
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
    the first message is consumed, closed after the last. Connections (PyMongo, asyncmy, redis) are
    bound to the loop that made them, so they must be made on this one."""

    def __init__(
        self,
        settings: Settings,
        tasks: list[str],
        contexts: dict[str, Context],
        bus: EventBus | None = None,
        counters: Counters | None = None,
    ) -> None:
        super().__init__()
        self.settings, self.tasks, self.contexts, self.bus, self.counters = settings, tasks, contexts, bus, counters
        self.sweeping: concurrent.futures.Future[None] | None = None

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        super().before_worker_boot(broker, worker)  # type: ignore[no-untyped-call]
        opening = Runtime.open(self.settings, broker=broker, bus=self.bus, counters=self.counters)
        runtime = _loop().run_coroutine(opening)
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
    counters: Counters | None = None,
) -> dramatiq.Worker:
    """Declare the actors for ``tasks`` and start consuming their queues in this process.

    ``broker``, ``bus`` and ``counters`` are given when the worker shares them with an app in the
    same process;
    ``contexts`` is filled with each task's context once the worker has booted.
    """
    broker = broker or queue.make_broker(settings)
    contexts = {} if contexts is None else contexts
    broker.add_middleware(Lifecycle(settings, tasks, contexts, bus, counters))
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
