"""The wire format: OpenAI's chat and text completions (the subset vLLM also serves), and the two
StoryBang routes. Unknown request fields are ignored, as OpenAI-compatible servers do, so newer
clients keep working."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

FinishReason = Literal["stop", "length"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ContentPart(_Request):
    type: str
    text: str = ""


class ChatMessage(_Request):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content if part.type == "text")
        return self.content or ""


class StreamOptions(_Request):
    include_usage: bool = False


class _Generate(_Request):
    model: str = ""
    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(1, ge=1, le=1, description="Only one choice per request.")

    def stops(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else self.stop

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


class ChatCompletionRequest(_Generate):
    messages: list[ChatMessage] = Field(min_length=1)
    # OpenAI's newer name for max_tokens in chat.
    max_completion_tokens: int | None = Field(None, ge=1)


class CompletionRequest(_Generate):
    prompt: str | list[str] = Field(description="One prompt (a list of one is accepted).")


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int = 0
    message: AssistantMessage
    logprobs: None = None
    finish_reason: FinishReason | None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage


class ChunkChoice(BaseModel):
    index: int = 0
    # {"role": "assistant", "content": ""} first, then {"content": "..."}, then {} with finish_reason.
    delta: dict[str, str]
    logprobs: None = None
    finish_reason: FinishReason | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None


class CompletionChoice(BaseModel):
    index: int = 0
    text: str
    logprobs: None = None
    finish_reason: FinishReason | None = None


class Completion(BaseModel):
    """A whole answer, or (with ``usage`` None) one streamed chunk: OpenAI uses one shape for both."""

    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: Usage | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "storybang"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class TranslationRequest(_Request):
    text: str = Field(min_length=1, max_length=20_000)
    source_language: str = Field(min_length=2, max_length=16, examples=["en", "eng_Latn"])
    target_language: str = Field(min_length=2, max_length=16, examples=["es", "spa_Latn"])


class CaptionRequest(_Request):
    """The JSON form of /v1/captions; multipart with a ``file`` part works too."""

    image: str = Field(description="Base64 image bytes, or a data: URL.")


class Text(BaseModel):
    text: str


class ImageRequest(_Request):
    """OpenAI's image generation request, the fields this server can honour; ``seed`` is an
    extension (as vLLM has for text) for repeatable pictures."""

    prompt: str = Field(min_length=1, max_length=4000)
    model: str = ""
    n: int = Field(1, ge=1, le=1, description="One image per request.")
    size: str | None = Field(
        None,
        examples=["512x512"],
        description="WIDTHxHEIGHT in pixels, multiples of 8; 'auto' or none: the size the model was trained at.",
    )
    response_format: Literal["b64_json", "url"] | None = Field(
        None, description="b64_json only: this server keeps no files to link to."
    )
    seed: int | None = None


class ImageData(BaseModel):
    b64_json: str


class ImagesResponse(BaseModel):
    created: int
    data: list[ImageData]
