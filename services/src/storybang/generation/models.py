"""Generation jobs: the task inputs and results, and the job as the API shows it.

A request and a job are a discriminated union on ``task``: each task is its own model with its own
``input`` and ``result``, so that the OpenAPI document (and a client generated from it) types them,
and a request whose ``input`` does not fit its ``task`` is refused naming the field at fault.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints, model_validator

Task = Literal["story", "image", "describe", "translate"]
TASKS: tuple[Task, ...] = ("story", "image", "describe", "translate")
Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]
ACTIVE: tuple[Status, ...] = ("queued", "running")
Audience = Literal["children", "young", "general"]
Length = Literal["short", "medium", "long"]
Rewrite = Literal["regenerate", "continue"]

ObjectId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{24}$")]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})?$")]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoryInput(_Input):
    """A whole story; or, with ``story_id`` and ``paragraph``, one paragraph of a saved story written
    again (``regenerate``) or a new one after it (``continue``), the ``prompt`` then an optional wish."""

    prompt: Annotated[str, Field(max_length=20_000)] = ""
    audience: Audience = "general"
    character_ids: Annotated[list[ObjectId], Field(max_length=6)] = []
    genre: Short | None = None
    values: Annotated[list[Short], Field(max_length=5)] = []
    length: Length = "short"
    language: Language = "en"
    save: bool = False
    story_id: ObjectId | None = None  # with save: keep the result as a new version of this story
    paragraph: Annotated[int, Field(ge=0, le=500)] | None = None
    rewrite: Rewrite = "regenerate"

    @model_validator(mode="after")
    def _paragraph_of_a_story(self) -> StoryInput:
        if self.paragraph is not None and self.story_id is None:
            raise ValueError("a paragraph is written for a story: give its story_id")
        return self


class ImageInput(_Input):
    prompt: Annotated[str, Field(max_length=4000)] = ""
    character_id: ObjectId | None = None
    story_id: ObjectId | None = None
    paragraph: Annotated[int, Field(ge=0, le=500)] | None = None
    size: Literal["256x256", "512x512", "1024x1024"] = "512x512"

    @model_validator(mode="after")
    def _something_to_draw(self) -> ImageInput:
        if not self.prompt and not self.character_id and self.story_id is None:
            raise ValueError("give a prompt, a character_id, or a story_id with a paragraph")
        if (self.story_id is None) != (self.paragraph is None):
            raise ValueError("story_id and paragraph go together")
        return self


class DescribeInput(_Input):
    image_id: ObjectId | None = None
    character_id: ObjectId | None = None
    save: bool = True  # with character_id: keep the description on the character

    @model_validator(mode="after")
    def _one_image(self) -> DescribeInput:
        if (self.image_id is None) == (self.character_id is None):
            raise ValueError("give exactly one of image_id and character_id")
        return self


class TranslateInput(_Input):
    text: Annotated[str, Field(min_length=1, max_length=20_000)] | None = None
    story_id: ObjectId | None = None
    target_language: Language
    source_language: Language | None = None

    @model_validator(mode="after")
    def _one_source(self) -> TranslateInput:
        if (self.text is None) == (self.story_id is None):
            raise ValueError("give exactly one of text and story_id")
        return self


INPUTS: dict[str, type[_Input]] = {
    "story": StoryInput,
    "image": ImageInput,
    "describe": DescribeInput,
    "translate": TranslateInput,
}


# Results as the workers write them (:mod:`storybang.generation.tasks`).


class StoryResult(BaseModel):
    """A whole story; ``story_id`` when it was saved."""

    title: str
    paragraphs: list[str]
    story_id: str | None = None


class ParagraphResult(BaseModel):
    """One paragraph of a saved story, written again (``regenerate``) or added (``continue``) at
    index ``paragraph``; the story keeps it as a new version."""

    story_id: str
    paragraph: int
    rewrite: Rewrite
    text: str


class ImageResult(BaseModel):
    """A drawn image, kept for its owner; a portrait or an illustration is also kept on its
    character or story. ``image_url``: where an ``<img>`` loads it (a signed URL that expires: the
    job, read again, has a fresh one); only in answers, never stored."""

    image_id: str
    image_url: str | None = None


class DescribeResult(BaseModel):
    description: str


class TextTranslationResult(BaseModel):
    text: str


class TranslatedStory(BaseModel):
    language: str
    title: str
    paragraphs: list[str]


class StoryTranslationResult(BaseModel):
    """A story's translation, also kept on the story under ``translations``."""

    translation: TranslatedStory
    story_id: str


# What a client sends: ``task`` chooses the model of ``input``.


class _Create(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,63}$")] | None = None


class StoryJobCreate(_Create):
    task: Literal["story"]
    input: StoryInput


class ImageJobCreate(_Create):
    task: Literal["image"]
    input: ImageInput


class DescribeJobCreate(_Create):
    task: Literal["describe"]
    input: DescribeInput


class TranslateJobCreate(_Create):
    task: Literal["translate"]
    input: TranslateInput


AnyJobCreate = StoryJobCreate | ImageJobCreate | DescribeJobCreate | TranslateJobCreate


class GenerationCreate(RootModel[Annotated[AnyJobCreate, Field(discriminator="task")]]):
    """A job to queue: ``input`` is the ``task``'s."""


# What a client reads back: ``task`` says the models of ``input`` and ``result``.


class _Job(BaseModel):
    id: str
    status: Status
    progress: float = 0.0
    # While queued, in a read of the job: 1 when it is next for its task's workers (jobs of every user
    # count). The answer to the submission leaves it out (null).
    queue_position: int | None = None
    error: str | None = None
    backend: str | None = None
    created_at: str
    updated_at: str


class StoryJob(_Job):
    task: Literal["story"]
    input: StoryInput
    result: StoryResult | ParagraphResult | None = None


class ImageJob(_Job):
    task: Literal["image"]
    input: ImageInput
    result: ImageResult | None = None


class DescribeJob(_Job):
    task: Literal["describe"]
    input: DescribeInput
    result: DescribeResult | None = None


class TranslateJob(_Job):
    task: Literal["translate"]
    input: TranslateInput
    result: TextTranslationResult | StoryTranslationResult | None = None


class GenerationPublic(
    RootModel[Annotated[StoryJob | ImageJob | DescribeJob | TranslateJob, Field(discriminator="task")]]
):
    """A job; ``result`` once it has succeeded."""


class GenerationPage(BaseModel):
    items: list[GenerationPublic]
    next_cursor: str | None


class FailedGeneration(BaseModel):
    """A failed job as administrators see it: whose, why, and which backends were asked."""

    id: str
    owner_id: str
    task: Task
    error: str | None
    backends_tried: list[str]
    attempts: int
    request_id: str | None  # the API request that queued it: its log lines and the worker's carry it
    created_at: str
    updated_at: str


class FailedGenerationPage(BaseModel):
    items: list[FailedGeneration]
    next_cursor: str | None


class LogLine(BaseModel):
    """One log line of a job, as its process wrote it: when, how severe, what happened, and the
    line's other fields (``job_id``, ``task``, ``request_id``, ``reason``, ``exception``...)."""

    model_config = ConfigDict(extra="allow")

    timestamp: str
    level: str
    event: str


class GenerationLogs(BaseModel):
    """A job's log lines, oldest first: the last ones of every process that logged about it (the
    API that queued it, the workers that ran it), kept for a while after its last line."""

    items: list[LogLine]


class Usage(BaseModel):
    day: str
    tokens: int
    tokens_limit: int
    images: int
    images_limit: int
    active_jobs: int
    active_jobs_limit: int
