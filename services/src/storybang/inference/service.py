"""The OpenAI-compatible behaviour, as plain functions the routes call and tests can call directly:
request -> generation, generation -> answer or server-sent events, images, and the two StoryBang
routes."""

from __future__ import annotations

import asyncio
import base64
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel

from storybang import images, logs
from storybang.errors import InvalidInput, NotFound
from storybang.inference import models, text
from storybang.inference.errors import ContentRefused, NotConfigured
from storybang.inference.metrics import Observation
from storybang.inference.settings import InferenceSettings

if TYPE_CHECKING:  # each imports torch, which a llama.cpp server does not have
    from storybang.inference.caption import Captioner
    from storybang.inference.draw import Drawer
    from storybang.inference.translate import Translator

log = logs.get(__name__)

# OpenAI's default for /v1/completions (chat has none; ours is a setting).
COMPLETION_DEFAULT_MAX_TOKENS = 16
# Latent diffusion works on an eighth of the pixels: sides must divide by 8.
_SIZE = re.compile(r"(\d{1,5})x(\d{1,5})")
SIZE_STEP, SIZE_MIN = 8, 64


def _max_tokens(requested: int | None, default: int, limit: int) -> int:
    if requested is None:
        return min(default, limit)
    if requested > limit:
        raise InvalidInput(f"max_tokens may be at most {limit} on this server", field="max_tokens")
    return requested


def _check_model(requested: str, llm: text.TextModel) -> None:
    # An unknown name is 404, as OpenAI and vLLM answer: a client routed to the wrong server should
    # fall through to its next backend, not get another model's words.
    if requested and requested != llm.name:
        raise NotFound(f"The model {requested!r} does not exist here; this server serves {llm.name!r}.")


def start_chat(
    llm: text.TextModel, request: models.ChatCompletionRequest, settings: InferenceSettings
) -> text.Generation:
    _check_model(request.model, llm)
    requested = request.max_completion_tokens or request.max_tokens
    return llm.stream_chat(
        [{"role": m.role, "content": m.text()} for m in request.messages],
        max_tokens=_max_tokens(requested, settings.default_max_tokens, settings.max_tokens_limit),
        temperature=1.0 if request.temperature is None else request.temperature,
        top_p=request.top_p or 1.0,
        stop=request.stops(),
        seed=request.seed,
    )


def start_completion(
    llm: text.TextModel, request: models.CompletionRequest, settings: InferenceSettings
) -> text.Generation:
    _check_model(request.model, llm)
    prompts = [request.prompt] if isinstance(request.prompt, str) else request.prompt
    if len(prompts) != 1:
        raise InvalidInput("this server completes one prompt per request", field="prompt")
    return llm.stream_completion(
        prompts[0],
        max_tokens=_max_tokens(request.max_tokens, COMPLETION_DEFAULT_MAX_TOKENS, settings.max_tokens_limit),
        temperature=1.0 if request.temperature is None else request.temperature,
        top_p=request.top_p or 1.0,
        stop=request.stops(),
        seed=request.seed,
    )


def _usage(usage: text.Usage) -> models.Usage:
    return models.Usage(
        prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens, total_tokens=usage.total_tokens
    )


async def _collect(generation: text.Generation, observation: Observation) -> str:
    parts: list[str] = []
    try:
        async for delta in generation:
            observation.delta()
            parts.append(delta)
    except BaseException as e:
        outcome = "cancelled" if isinstance(e, asyncio.CancelledError) else "error"
        observation.done(outcome, generation.prompt_tokens, generation.usage.completion_tokens)
        raise
    observation.done("ok", generation.prompt_tokens, generation.usage.completion_tokens)
    return "".join(parts)


async def chat_completion(generation: text.Generation, model: str) -> models.ChatCompletion:
    text = await _collect(generation, Observation("chat"))
    return models.ChatCompletion(
        id=f"chatcmpl-{uuid.uuid4().hex}",
        created=int(time.time()),
        model=model,
        choices=[
            models.ChatChoice(message=models.AssistantMessage(content=text), finish_reason=generation.finish_reason)
        ],
        usage=_usage(generation.usage),
    )


async def completion(generation: text.Generation, model: str) -> models.Completion:
    text = await _collect(generation, Observation("completions"))
    return models.Completion(
        id=f"cmpl-{uuid.uuid4().hex}",
        created=int(time.time()),
        model=model,
        choices=[models.CompletionChoice(text=text, finish_reason=generation.finish_reason)],
        usage=_usage(generation.usage),
    )


def sse(chunk: BaseModel) -> str:
    """One server-sent event; ``usage`` appears only in the chunk that carries it, as in OpenAI's."""
    exclude = {"usage"} if getattr(chunk, "usage", None) is None else None
    return f"data: {chunk.model_dump_json(exclude=exclude)}\n\n"


DONE = "data: [DONE]\n\n"
ERROR = 'data: {"error": {"message": "generation failed", "type": "internal_error", "code": 500}}\n\n'


def chat_events(generation: text.Generation, model: str, *, include_usage: bool) -> AsyncIterator[str]:
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def chunk(choices: list[models.ChunkChoice], usage: models.Usage | None = None) -> models.ChatCompletionChunk:
        return models.ChatCompletionChunk(id=ident, created=created, model=model, choices=choices, usage=usage)

    return _events(
        generation,
        Observation("chat"),
        first=chunk([models.ChunkChoice(delta={"role": "assistant", "content": ""})]),
        delta=lambda text: chunk([models.ChunkChoice(delta={"content": text})]),
        final=lambda reason: chunk([models.ChunkChoice(delta={}, finish_reason=reason)]),
        usage=(lambda u: chunk([], u)) if include_usage else None,
    )


def completion_events(generation: text.Generation, model: str, *, include_usage: bool) -> AsyncIterator[str]:
    ident, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())

    def chunk(choices: list[models.CompletionChoice], usage: models.Usage | None = None) -> models.Completion:
        return models.Completion(id=ident, created=created, model=model, choices=choices, usage=usage)

    return _events(
        generation,
        Observation("completions"),
        first=None,
        delta=lambda text: chunk([models.CompletionChoice(text=text)]),
        final=lambda reason: chunk([models.CompletionChoice(text="", finish_reason=reason)]),
        usage=(lambda u: chunk([], u)) if include_usage else None,
    )


async def _events(
    generation: text.Generation,
    observation: Observation,
    *,
    first: BaseModel | None,
    delta: Callable[[str], BaseModel],
    final: Callable[[models.FinishReason | None], BaseModel],
    usage: Callable[[models.Usage], BaseModel] | None,
) -> AsyncIterator[str]:
    """The chunks of one answer, then ``[DONE]``. A failure after the headers went out can no longer
    be a status code: it is sent as an ``error`` event, as vLLM does, and logged."""
    outcome = "cancelled"  # until proven otherwise: a client that leaves mid-stream ends us here
    try:
        if first is not None:
            yield sse(first)
        async for text in generation:
            observation.delta()
            yield sse(delta(text))
        yield sse(final(generation.finish_reason))
        if usage is not None:
            yield sse(usage(_usage(generation.usage)))
        outcome = "ok"
    except Exception as e:
        outcome = "error"
        log.error("generation failed mid-stream", exc_info=e)
        yield ERROR
    finally:
        generation.cancel()
        observation.done(outcome, generation.prompt_tokens, generation.usage.completion_tokens)
    yield DONE


async def translate(translator: Translator | None, request: models.TranslationRequest) -> models.Text:
    if translator is None:
        raise NotConfigured("no translation model on this server: start it with --translation-model")
    observation = Observation("translations")
    text = await translator.translate(request.text, request.source_language, request.target_language)
    observation.done("ok")
    return models.Text(text=text)


async def caption(captioner: Captioner | None, image: bytes, settings: InferenceSettings) -> models.Text:
    if captioner is None:
        raise NotConfigured("no caption model on this server: start it with --caption-model")
    checked = await images.check_async(image, settings.limits)
    observation = Observation("captions")
    text = await captioner.caption(checked.data)
    observation.done("ok")
    return models.Text(text=text)


def image_size(size: str | None, max_side: int) -> tuple[int, int] | None:
    """``"WIDTHxHEIGHT"`` as (width, height), or None for the model's own size ("auto" or none)."""
    if size is None or size == "auto":
        return None
    match = _SIZE.fullmatch(size)
    if match is None:
        raise InvalidInput("size must be WIDTHxHEIGHT, such as 512x512, or auto", field="size")
    width, height = int(match[1]), int(match[2])
    if not all(SIZE_MIN <= side <= max_side and side % SIZE_STEP == 0 for side in (width, height)):
        raise InvalidInput(
            f"each side must be a multiple of {SIZE_STEP} from {SIZE_MIN} to {max_side} on this server", field="size"
        )
    return width, height


async def draw(
    drawer: Drawer | None, request: models.ImageRequest, settings: InferenceSettings
) -> models.ImagesResponse:
    if drawer is None:
        raise NotConfigured("no image model on this server: start it with --image-model")
    if request.model and request.model != drawer.name:
        raise NotFound(f"The model {request.model!r} does not exist here; this server draws with {drawer.name!r}.")
    if request.response_format == "url":
        raise InvalidInput("this server keeps no files to link to: ask for b64_json", field="response_format")
    size = image_size(request.size, settings.image_max_side)
    observation = Observation("images")
    try:
        png = await drawer.draw(request.prompt, size=size, seed=request.seed)
    except ContentRefused:
        observation.done("refused")
        raise
    except BaseException as e:
        observation.done("cancelled" if isinstance(e, asyncio.CancelledError) else "error")
        raise
    observation.done("ok")
    return models.ImagesResponse(
        created=int(time.time()), data=[models.ImageData(b64_json=base64.b64encode(png).decode())]
    )
