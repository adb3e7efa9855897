"""The application factory of `storybang inference`.

The models load in the background after start-up: /healthz answers at once, /readyz says 503 until
every configured model is in memory (the first start also converts the bundled GGUF, about a minute).
A model that fails to load turns /healthz to 503 too, so Kubernetes restarts the pod and its events
show why, instead of a server that is up but never ready.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import storybang
from storybang.api import problems
from storybang.api.limits import BodyLimitMiddleware
from storybang.api.metrics import FASTAPI_TELEMETRY, request_metrics
from storybang.inference import routes
from storybang.inference.runtime import Models, load_into
from storybang.inference.settings import InferenceSettings


def create_app(settings: InferenceSettings) -> FastAPI:
    models = Models()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        loading = asyncio.create_task(asyncio.to_thread(load_into, models, settings))
        try:
            yield
        finally:
            loading.cancel()

    app = FastAPI(
        title="StoryBang inference",
        version=storybang.__version__,
        summary="OpenAI-compatible text and image generation, plus translations and captions.",
        lifespan=lifespan,
        telemetry=FASTAPI_TELEMETRY,
    )
    app.state.models = models
    app.state.settings = settings
    problems.install(app)
    app.include_router(routes.router)
    # The same request metrics as the API's, on the process's registry: one set however many apps a
    # process builds (the tests build the inference app and StoryBang's in one process).
    request_metrics().install(app)
    # JSON may carry a base64 image (/v1/captions): a third larger than the upload it encodes.
    max_upload = settings.limits.max_upload_bytes
    app.add_middleware(BodyLimitMiddleware, max_body=max_upload * 4 // 3 + 64 * 1024, max_upload=max_upload)
    return app
