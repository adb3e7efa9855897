"""The HTTP edge: parse, call :mod:`storybang.inference.service`, return. Nothing else lives here."""

from __future__ import annotations

import base64
import binascii
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.datastructures import UploadFile

from storybang.errors import InvalidInput, Unavailable, UnsupportedMediaType
from storybang.inference import models, service
from storybang.inference.errors import Loading
from storybang.inference.runtime import Models
from storybang.inference.settings import InferenceSettings
from storybang.inference.text import TextModel

router = APIRouter()
# Headers that keep proxies (nginx's buffering above all) from holding server-sent events back.
_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _models(request: Request) -> Models:
    loaded: Models = request.app.state.models
    return loaded


def _settings(request: Request) -> InferenceSettings:
    settings: InferenceSettings = request.app.state.settings
    return settings


ModelsDep = Annotated[Models, Depends(_models)]
SettingsDep = Annotated[InferenceSettings, Depends(_settings)]


def _ready(loaded: ModelsDep) -> Models:
    if loaded.failure:
        raise Unavailable(f"model loading failed: {loaded.failure}")
    if not loaded.loaded:
        raise Loading("the models are still loading")
    return loaded


ReadyDep = Annotated[Models, Depends(_ready)]


def _llm(loaded: ReadyDep) -> TextModel:
    assert loaded.llm is not None  # loaded implies it
    return loaded.llm


LLMDep = Annotated[TextModel, Depends(_llm)]


async def _image(request: Request) -> bytes:
    """The image of /v1/captions: a multipart ``file`` part, or JSON ``{"image": base64}``."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        part = form.get("file") or form.get("image")
        if not isinstance(part, UploadFile):
            raise InvalidInput("send the image as the multipart part 'file'", field="file")
        return await part.read()
    if content_type.startswith("application/json"):
        body = models.CaptionRequest.model_validate_json(await request.body())
        encoded = body.image.split(",", 1)[1] if body.image.startswith("data:") else body.image
        try:
            return base64.b64decode(encoded, validate=True)
        except binascii.Error as e:
            raise InvalidInput("image is not valid base64", field="image") from e
    raise UnsupportedMediaType("send multipart/form-data (part 'file') or JSON {'image': base64}")


@router.get("/healthz", tags=["health"])
async def healthz(loaded: ModelsDep) -> JSONResponse:
    """Up, unless a model failed to load: then a restart is the cure, and this tells Kubernetes."""
    if loaded.failure:
        return JSONResponse({"status": "failed", "detail": loaded.failure}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/readyz", tags=["health"])
async def readyz(loaded: ModelsDep) -> JSONResponse:
    status = "failed" if loaded.failure else "ok" if loaded.loaded else "loading"
    return JSONResponse({"status": status}, status_code=200 if status == "ok" else 503)


@router.get("/v1/models", tags=["openai"])
async def list_models(llm: LLMDep, loaded: ReadyDep) -> models.ModelList:
    names = [llm.name] + ([loaded.drawer.name] if loaded.drawer else [])
    return models.ModelList(data=[models.ModelCard(id=name, created=int(time.time())) for name in names])


@router.post("/v1/chat/completions", tags=["openai"], response_model=None)
async def chat_completions(
    request: models.ChatCompletionRequest, llm: LLMDep, settings: SettingsDep
) -> models.ChatCompletion | StreamingResponse:
    generation = service.start_chat(llm, request, settings)
    if request.stream:
        events = service.chat_events(generation, llm.name, include_usage=request.include_usage)
        return StreamingResponse(events, media_type="text/event-stream", headers=_SSE_HEADERS)
    return await service.chat_completion(generation, llm.name)


@router.post("/v1/completions", tags=["openai"], response_model=None)
async def completions(
    request: models.CompletionRequest, llm: LLMDep, settings: SettingsDep
) -> models.Completion | StreamingResponse:
    generation = service.start_completion(llm, request, settings)
    if request.stream:
        events = service.completion_events(generation, llm.name, include_usage=request.include_usage)
        return StreamingResponse(events, media_type="text/event-stream", headers=_SSE_HEADERS)
    return await service.completion(generation, llm.name)


@router.post("/v1/translations", tags=["storybang"])
async def translations(request: models.TranslationRequest, loaded: ReadyDep) -> models.Text:
    """Translate ``text`` with the seq2seq model of ``--translation-model``. NLLB-200's weights are
    CC-BY-NC-4.0: non-commercial use only."""
    return await service.translate(loaded.translator, request)


@router.post("/v1/captions", tags=["storybang"])
async def captions(image: Annotated[bytes, Depends(_image)], loaded: ReadyDep, settings: SettingsDep) -> models.Text:
    """Describe an image with the model of ``--caption-model``; 404 when none was given."""
    return await service.caption(loaded.captioner, image, settings)


@router.post("/v1/images/generations", tags=["openai"])
async def images_generations(
    request: models.ImageRequest, loaded: ReadyDep, settings: SettingsDep
) -> models.ImagesResponse:
    """Draw a PNG with the diffusers pipeline of ``--image-model``; 404 when none was given. One
    image per request, answered as base64 (``response_format`` ``url`` is refused: nothing is kept)."""
    return await service.draw(loaded.drawer, request, settings)
