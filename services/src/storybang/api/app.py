"""The application factory: one FastAPI app serving the routes of the chosen domains."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from prometheus_fastapi_instrumentator import Instrumentator

import storybang
from storybang import migrations
from storybang.api import health, limits, problems
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
) -> FastAPI:
    """Build the app. ``runtime``: for tests that share connections across apps; ``open_runtime``
    and ``background``: for `storybang dev`, which shares its queue and events with in-process
    workers running alongside the app."""
    chosen = list(domains)
    unknown = sorted(set(chosen) - DOMAINS.keys())
    if unknown:
        raise ValueError(f"unknown domain(s): {', '.join(unknown)}; known: {', '.join(DOMAINS)}")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runtime is not None:  # owned by the caller
            yield
            return
        if settings.env == "dev":
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            await migrations.upgrade(settings.sql_url)
        app.state.runtime = await open_runtime(settings)
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
    )
    if runtime is not None:
        app.state.runtime = runtime
    problems.install(app, store_down=STORE_DOWN)
    app.include_router(health.router)
    for name in chosen:
        for router in importlib.import_module(DOMAINS[name]).routers:
            app.include_router(router)
    if "web" in chosen:  # the client's files answer whatever no route takes, so after them all
        importlib.import_module(DOMAINS["web"]).install(app, settings)
    Instrumentator(excluded_handlers=["/metrics", "/healthz", "/readyz"]).instrument(app).expose(
        app, include_in_schema=False
    )
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
    return app
