"""Images at signed URLs (:mod:`storybang.security.urls`): what an ``<img>`` in the web app loads.

Each domain that answers with images serves them under its own prefix (the ingress routes by
prefix): ``GET <prefix>/images/{image_id}?owner=&expires=&signature=``. No bearer token is asked
for; the signature is the proof. A blob id names immutable bytes, so the answer may be cached
privately until the URL expires. Routes that take a bearer token stay for API clients.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Query, Response

from storybang import images
from storybang.api.deps import RuntimeDep
from storybang.api.routing import APIRouter
from storybang.errors import Forbidden, NotFound
from storybang.runtime import Runtime
from storybang.security import urls
from storybang.stores import ids

_INVALID = "The image link is not valid: fetch what it came with again for a fresh one."
_EXPIRED = "The image link has expired: fetch what it came with again for a fresh one."


async def serve(
    runtime: Runtime,
    prefix: str,
    image_id: str,
    owner: str | None,
    expires: str | None,
    signature: str | None,
    if_none_match: str | None = None,
) -> Response:
    """The image if the URL is one we signed and it has not expired: 403 otherwise, 404 when the
    image is gone since (deleted with its character, say)."""
    # Malformed parts are refused like a wrong signature: one answer for every URL we did not sign.
    if owner is None or signature is None or expires is None or not expires.isdecimal() or len(expires) > 12:
        raise Forbidden(_INVALID, field="signature")
    try:
        left = runtime.keys.image_urls.verify(urls.image_path(prefix, image_id), owner, int(expires), signature)
    except urls.InvalidSignature as e:
        raise Forbidden(_INVALID, field="signature") from e
    except urls.Expired as e:
        raise Forbidden(_EXPIRED, field="expires") from e
    blob = await runtime.blobs.get(image_id, owner_id=owner) if ids.is_valid(image_id) else None
    if blob is None:
        raise NotFound("No such image.")
    response = images.response(blob, if_none_match)
    # Private: a shared cache must not keep one person's picture. Immutable: the id names the bytes.
    response.headers["Cache-Control"] = f"private, max-age={left}, immutable"
    return response


def router(prefix: str, tag: str) -> APIRouter:
    """``GET <prefix>/images/{image_id}`` at signed URLs, for a domain's router list."""
    signed = APIRouter(prefix=prefix, tags=[tag])

    @signed.get(
        "/images/{image_id}",
        response_class=Response,
        responses={200: {"content": {"image/*": {}}}, 403: {"description": "An invalid or expired link"}},
        summary="An image at a signed URL (no token: the URL is the proof)",
    )
    async def signed_image(
        image_id: str,
        runtime: RuntimeDep,
        owner: Annotated[str | None, Query(max_length=64)] = None,
        expires: Annotated[str | None, Query(max_length=20, description="Unix time")] = None,
        signature: Annotated[str | None, Query(max_length=128)] = None,
        if_none_match: Annotated[str | None, Header()] = None,
    ) -> Response:
        """The URLs come in API answers (``photo_url``, ``image_urls``, ...) and expire; the
        resource they came with, fetched again, has fresh ones."""
        return await serve(runtime, prefix, image_id, owner, expires, signature, if_none_match)

    return signed
