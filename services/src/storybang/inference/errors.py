"""The inference server's errors, all :class:`storybang.errors.StoryBangError` so the shared
problem+json mapping answers them."""

from __future__ import annotations

from storybang.errors import NotFound, StoryBangError, Unavailable


class ModelMissing(StoryBangError):
    """Weights that cannot be found or read: a deployment problem, fatal at start-up."""

    status, slug, title = 500, "model-missing", "Model missing"


class NotConfigured(NotFound):
    """A route whose model was not given (``--caption-model``, ``--translation-model``, ``--image-model``)."""

    slug, title = "not-configured", "Not configured"


class Loading(Unavailable):
    """The model is still loading; the client should retry (readiness says when)."""

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}


class ContentRefused(StoryBangError):
    """The model's safety checker flagged the picture: no other backend should draw it either.
    400, as OpenAI answers a prompt its policy refuses."""

    status, slug, title = 400, "content-refused", "Content refused"
