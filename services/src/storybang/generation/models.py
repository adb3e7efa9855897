"""Generation jobs: the task inputs, and the job as the API shows it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

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


class GenerationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: Task
    input: dict[str, Any]
    backend: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,63}$")] | None = None


class GenerationPublic(BaseModel):
    id: str
    task: Task
    status: Status
    progress: float = 0.0
    # While queued: 1 when it is next for its task's workers (jobs of every user count).
    queue_position: int | None = None
    input: dict[str, Any]
    result: dict[str, Any] | None = None
    error: str | None = None
    backend: str | None = None
    created_at: str
    updated_at: str


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


class Usage(BaseModel):
    day: str
    tokens: int
    tokens_limit: int
    images: int
    images_limit: int
    active_jobs: int
    active_jobs_limit: int
