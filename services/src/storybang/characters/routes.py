"""Characters over HTTP: parse, call :mod:`storybang.characters.service`, return."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Header, Query, Request, Response, UploadFile, status
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile as StarletteUploadFile

from storybang import images, validation
from storybang.api import deps, problems, queries, signed_images
from storybang.api.conditional import IfMatch, if_revision, tagged
from storybang.api.deps import CurrentUser, RuntimeDep
from storybang.api.routing import APIRouter
from storybang.characters import exchange, pictures, service
from storybang.characters.models import (
    CardFormat,
    CardVersion,
    CharacterCreate,
    CharacterPublic,
    CharactersPublic,
    CharacterUpdate,
)
from storybang.errors import BadRequest, InvalidInput, UnsupportedMediaType
from storybang.runtime import Runtime

router = APIRouter(prefix="/api/v1/characters", tags=["characters"])

IfNoneMatch = Annotated[str | None, Header()]

_IMPORT_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {"schema": {"type": "object", "description": "A Character Card V1, V2 or V3"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "A PNG with the card in a `ccv3` or `chara` tEXt chunk, or a card JSON file",
                    }
                },
            }
        },
    },
}


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_character(body: CharacterCreate, runtime: RuntimeDep, user: CurrentUser) -> CharacterPublic:
    return pictures.signed(runtime.keys.image_urls, user.id, await service.create(runtime, user.id, body))


class ListQuery(BaseModel):
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: str | None = None
    q: Annotated[str | None, Field(max_length=100, description="Case-insensitive part of the name")] = None


@router.get("", response_model=CharactersPublic, openapi_extra={"parameters": queries.parameters(ListQuery)})
async def list_characters(request: Request, user: CurrentUser) -> Response:
    # The app's most frequent read: the caller its only dependency, its query read in one step, and
    # the page's JSON as made by the service from each character's kept JSON, not validated and
    # serialized again here.
    query = queries.read(request, ListQuery)
    page = await service.list_json(deps.runtime_of(request), user.id, limit=query.limit, cursor=query.cursor, q=query.q)
    return Response(page, media_type="application/json")


@router.post(
    "/import",
    status_code=status.HTTP_201_CREATED,
    responses=problems.responses(415),
    openapi_extra={"requestBody": _IMPORT_BODY},
    summary="Import a Character Card (V1/V2/V3 JSON, or a PNG carrying one)",
)
async def import_character(request: Request, runtime: RuntimeDep, user: CurrentUser) -> CharacterPublic:
    return pictures.signed(runtime.keys.image_urls, user.id, await _import(request, runtime, user.id))


async def _import(request: Request, runtime: Runtime, owner_id: str) -> CharacterPublic:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if not isinstance(upload, StarletteUploadFile):
            raise InvalidInput("Upload the card as the multipart field `file`.", field="file")
        data = await upload.read()
        if data.startswith(images.PNG_SIGNATURE):
            return await exchange.import_card(runtime, owner_id, png=data)
        return await exchange.import_card(runtime, owner_id, card=_json(data))
    if content_type == "application/json" or content_type.endswith("+json"):
        return await exchange.import_card(runtime, owner_id, card=_json(await request.body()))
    if content_type == "image/png":
        return await exchange.import_card(runtime, owner_id, png=await request.body())
    raise UnsupportedMediaType("Send the card as JSON, as image/png, or as multipart/form-data.")


def _json(data: bytes) -> Any:
    try:
        return validation.loads(data, field="file")
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadRequest("The card is neither a PNG nor valid JSON.", field="file") from e


@router.get("/{character_id}")
async def get_character(
    character_id: str, runtime: RuntimeDep, user: CurrentUser, response: Response
) -> CharacterPublic:
    """The character, with its ``ETag``: send it back as ``If-Match`` to write only over this version."""
    character = await service.get(runtime, user.id, character_id)
    return tagged(pictures.signed(runtime.keys.image_urls, user.id, character), response)


@router.patch("/{character_id}", responses=problems.responses(409))
async def update_character(
    character_id: str,
    body: CharacterUpdate,
    runtime: RuntimeDep,
    user: CurrentUser,
    response: Response,
    if_match: IfMatch = None,
) -> CharacterPublic:
    character = await service.update(runtime, user.id, character_id, body, if_revision=if_revision(if_match))
    return tagged(pictures.signed(runtime.keys.image_urls, user.id, character), response)


@router.delete("/{character_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_character(character_id: str, runtime: RuntimeDep, user: CurrentUser, if_match: IfMatch = None) -> None:
    await service.delete(runtime, user.id, character_id, if_revision=if_revision(if_match))


@router.put("/{character_id}/photo", responses=problems.responses(409, 415))
async def put_photo(
    character_id: str,
    file: UploadFile,
    runtime: RuntimeDep,
    user: CurrentUser,
    response: Response,
    if_match: IfMatch = None,
) -> CharacterPublic:
    """Upload the character's photo (PNG, JPEG, WebP or GIF; judged by content, not by name or type)."""
    data = await file.read()
    character = await service.set_photo(runtime, user.id, character_id, data, if_revision=if_revision(if_match))
    return tagged(pictures.signed(runtime.keys.image_urls, user.id, character), response)


@router.get("/{character_id}/photo", response_class=Response, responses={200: {"content": {"image/*": {}}}})
async def get_photo(
    character_id: str, runtime: RuntimeDep, user: CurrentUser, if_none_match: IfNoneMatch = None
) -> Response:
    return images.response(await service.get_photo(runtime, user.id, character_id), if_none_match)


@router.get("/{character_id}/portrait", response_class=Response, responses={200: {"content": {"image/*": {}}}})
async def get_portrait(
    character_id: str, runtime: RuntimeDep, user: CurrentUser, if_none_match: IfNoneMatch = None
) -> Response:
    """The generated portrait; 404 until the image worker has made one."""
    return images.response(await service.get_portrait(runtime, user.id, character_id), if_none_match)


@router.get(
    "/{character_id}/card",
    response_class=Response,
    responses={200: {"content": {"application/json": {}, "image/png": {}}}},
)
async def export_card(
    character_id: str,
    runtime: RuntimeDep,
    user: CurrentUser,
    fmt: Annotated[CardFormat, Query(alias="format")] = "json",
    version: CardVersion = "3",
) -> Response:
    """Export as a Character Card: JSON, or a PNG with the card in its `ccv3`/`chara` text chunks."""
    card = await exchange.export_card(runtime, user.id, character_id, fmt=fmt, version=version)
    return Response(
        card.data,
        media_type=card.media_type,
        headers={"Content-Disposition": f'attachment; filename="{card.filename}"'},
    )


routers = [router, signed_images.router(pictures.PREFIX, "characters")]
