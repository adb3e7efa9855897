"""The application factory: one FastAPI app serving the routes of the chosen domains."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

import storybang
from storybang import migrations
from storybang.api import docs, health, limits, problems, requestid, routing
from storybang.api.metrics import FASTAPI_TELEMETRY, request_metrics
from storybang.generation import backlog
from storybang.generation.models import TASKS
from storybang.runtime import Runtime
from storybang.settings import Settings
from storybang.stores.errors import STORE_DOWN

# Each domain's routes module exposes ``routers``; `storybang serve --domain X` imports and mounts
# only X's, so a pod carries no code path it does not serve.
DOMAINS: dict[str, str] = {
    "identity": "storybang.identity.routes",
    "characters": "storybang.characters.routes",
    "stories": "storybang.stories.routes",
    "generation": "storybang.generation.routes",
    "web": "storybang.web.routes",
}


Background = Callable[[Runtime], AbstractAsyncContextManager[None]]


def create_app(
    settings: Settings,
    domains: Iterable[str],
    *,
    runtime: Runtime | None = None,
    open_runtime: Callable[[Settings], Awaitable[Runtime]] = Runtime.open,
    background: Background | None = None,
    metrics: bool = True,
) -> FastAPI:
    """Build the app. ``runtime``: for tests that share connections across apps; ``open_runtime``
    and ``background``: for `storybang dev`, which shares its queue and events with in-process
    workers running alongside the app. ``metrics=False`` leaves out the request metrics (to
    measure what they cost)."""
    chosen = list(domains)
    unknown = sorted(set(chosen) - DOMAINS.keys())
    if unknown:
        raise ValueError(f"unknown domain(s): {', '.join(unknown)}; known: {', '.join(DOMAINS)}")

    def watch_queues(runtime: Runtime) -> None:
        # The generation API exports the queues' backlog (see storybang.generation.backlog).
        if metrics and "generation" in chosen:
            backlog.BACKLOG.watch(runtime.broker, TASKS)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:  # owned by the caller
            watch_queues(runtime)
            yield
            return
        if settings.env == "dev":
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            await migrations.upgrade(settings.sql_url)
        app.state.runtime = await open_runtime(settings)
        watch_queues(app.state.runtime)
        try:
            if background is None:
                yield
            else:
                async with background(app.state.runtime):
                    yield
        finally:
            await app.state.runtime.close()

    app = FastAPI(
        title="StoryBang",
        version=storybang.__version__,
        summary="Write illustrated stories with AI.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        telemetry=FASTAPI_TELEMETRY,
    )
    if runtime is not None:
        app.state.runtime = runtime
    problems.install(app, store_down=STORE_DOWN)
    problems.document(app)
    docs.install(app, app.title)
    included = [health.router]
    for name in chosen:
        included += importlib.import_module(DOMAINS[name]).routers
    for router in included:
        app.include_router(router)
    if "web" in chosen:  # the client's files answer whatever no route takes, so after them all
        importlib.import_module(DOMAINS["web"]).install(app, settings)
    if metrics:
        request_metrics().install(app)
    routing.index_fixed_paths(app, included)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(
        limits.BodyLimitMiddleware,
        max_body=settings.limits.max_body_bytes,
        max_upload=settings.limits.max_upload_bytes,
    )
    app.add_middleware(requestid.RequestIdMiddleware)  # outermost: every line of a request has its id
    return app
