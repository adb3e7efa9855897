"""Stories over HTTP: parse, call :mod:`storybang.stories.service`, return."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Header, Path, Query, Response, status

from storybang import images
from storybang.api import problems, signed_images
from storybang.api.conditional import IfMatch, if_revision, tagged
from storybang.api.deps import CurrentUser, RuntimeDep
from storybang.api.routing import APIRouter
from storybang.stories import pdf, pictures, service, versions
from storybang.stories.models import (
    StoriesPublic,
    StoryCreate,
    StoryPublic,
    StoryUpdate,
    StoryVersion,
    StoryVersionsPublic,
)

router = APIRouter(prefix="/api/v1/stories", tags=["stories"])

Limit = Annotated[int, Query(ge=1, le=100)]
Search = Annotated[str | None, Query(max_length=100, description="Case-insensitive part of the title")]
# Bounded above too: a number beyond 64 bits cannot even be looked up in MongoDB.
Number = Annotated[int, Path(ge=1, le=1_000_000_000, description="A version number, from 1")]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_story(body: StoryCreate, runtime: RuntimeDep, user: CurrentUser) -> StoryPublic:
    return pictures.signed(runtime.keys.image_urls, user.id, await service.create(runtime, user.id, body))


@router.get("")
async def list_stories(
    runtime: RuntimeDep, user: CurrentUser, limit: Limit = 20, cursor: str | None = None, q: Search = None
) -> StoriesPublic:
    return await service.list_stories(runtime, user.id, limit=limit, cursor=cursor, q=q)


@router.get("/{story_id}")
async def get_story(story_id: str, runtime: RuntimeDep, user: CurrentUser, response: Response) -> StoryPublic:
    """The story, with its ``ETag``: send it back as ``If-Match`` to write only over this version."""
    story = await service.get(runtime, user.id, story_id)
    return tagged(pictures.signed(runtime.keys.image_urls, user.id, story), response)


@router.patch("/{story_id}", responses=problems.responses(409))
async def update_story(
    story_id: str,
    body: StoryUpdate,
    runtime: RuntimeDep,
    user: CurrentUser,
    response: Response,
    if_match: IfMatch = None,
) -> StoryPublic:
    """Change the story; the content it replaces is kept as a version."""
    story = await service.update(runtime, user.id, story_id, body, if_revision=if_revision(if_match))
    return tagged(pictures.signed(runtime.keys.image_urls, user.id, story), response)


@router.delete("/{story_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_story(story_id: str, runtime: RuntimeDep, user: CurrentUser, if_match: IfMatch = None) -> None:
    await service.delete(runtime, user.id, story_id, if_revision=if_revision(if_match))


@router.get("/{story_id}/versions")
async def list_versions(
    story_id: str, runtime: RuntimeDep, user: CurrentUser, limit: Limit = 20, cursor: str | None = None
) -> StoryVersionsPublic:
    return await versions.list_versions(runtime, user.id, story_id, limit=limit, cursor=cursor)


@router.get("/{story_id}/versions/{number}")
async def get_version(story_id: str, number: Number, runtime: RuntimeDep, user: CurrentUser) -> StoryVersion:
    version = await versions.get_version(runtime, user.id, story_id, number)
    return pictures.signed(runtime.keys.image_urls, user.id, version)


@router.post("/{story_id}/versions/{number}/restore", responses=problems.responses(409, 413))
async def restore_version(story_id: str, number: Number, runtime: RuntimeDep, user: CurrentUser) -> StoryPublic:
    """Make an earlier version current again; this is itself a new version."""
    story = await versions.restore_version(runtime, user.id, story_id, number)
    return pictures.signed(runtime.keys.image_urls, user.id, story)


@router.get("/{story_id}/images/{image_id}", response_class=Response, responses={200: {"content": {"image/*": {}}}})
async def get_image(
    story_id: str,
    image_id: str,
    runtime: RuntimeDep,
    user: CurrentUser,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """An illustration of the story (a paragraph's ``image_id``, current or of an earlier version)."""
    return images.response(await service.get_image(runtime, user.id, story_id, image_id), if_none_match)


@router.get(
    "/{story_id}/export.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The story as a PDF"}},
)
async def export_pdf(
    story_id: str,
    runtime: RuntimeDep,
    user: CurrentUser,
    language: Annotated[str | None, Query(pattern=r"^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})?$")] = None,
) -> Response:
    """The story as a PDF, with its illustrations: as written, or in a ``language`` it was translated to."""
    title, data = await pdf.export(runtime, user.id, story_id, language)
    name = "".join(c for c in title if c.isalnum() or c in " _-").strip()[:80] or "story"
    return Response(
        data,
        media_type="application/pdf",
        headers={
            # An ASCII name for old clients, the title itself (RFC 6266) for the rest.
            "Content-Disposition": f'attachment; filename="{name.encode("ascii", "ignore").decode() or "story"}.pdf"; '
            f"filename*=UTF-8''{quote(name)}.pdf",
            "Cache-Control": "private, no-store",
        },
    )


routers = [router, signed_images.router(pictures.PREFIX, "stories")]
