"""The error hierarchy of the services: one exception per answer a caller can get.

Domain code raises these; each carries the HTTP status and problem type it becomes at the edge
(:mod:`storybang.api.problems`), and the workers fail a job with its ``detail``. Nothing here
imports a web framework or a driver, so every process can use it.
"""

from __future__ import annotations


class StoryBangError(Exception):
    status = 500
    slug = "internal"
    title = "Internal server error"

    def __init__(self, detail: str = "", *, field: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.field = field

    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(StoryBangError):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(StoryBangError):
    status, slug, title = 401, "unauthorized", "Not authenticated"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class Forbidden(StoryBangError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(StoryBangError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(StoryBangError):
    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(StoryBangError):
    """A conditional write (``If-Match``) on a version that is no longer current; ``etag`` is the
    current one, so that the client can show the conflict and fetch what changed."""

    status, slug, title = 412, "precondition-failed", "Precondition failed"

    def __init__(self, detail: str = "", *, etag: str) -> None:
        super().__init__(detail, field="If-Match")
        self.etag = etag

    def headers(self) -> dict[str, str]:
        return {"ETag": self.etag}


class PayloadTooLarge(StoryBangError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(StoryBangError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class InvalidInput(StoryBangError):
    status, slug, title = 422, "invalid-input", "Invalid input"


class TooManyRequests(StoryBangError):
    status, slug, title = 429, "rate-limited", "Too many requests"

    def __init__(self, detail: str = "", *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Unavailable(StoryBangError):
    status, slug, title = 503, "unavailable", "Service unavailable"
