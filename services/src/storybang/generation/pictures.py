"""Signed URLs for the images that image jobs drew, added to what the API answers (an ``<img>``
sends no token; :mod:`storybang.security.urls`). Stored jobs never hold URLs: they expire.

A prompt-only image belongs to no character or story, so the job is the only thing that leads to it.
"""

from __future__ import annotations

from storybang.generation.models import GenerationPublic, ImageJob
from storybang.security.urls import UrlSigner

# Where the generation domain serves images at signed URLs (the ingress routes this prefix to it).
PREFIX = "/api/v1/generations"


def signed(signer: UrlSigner, owner_id: str, job: GenerationPublic) -> GenerationPublic:
    """``job`` with ``result.image_url`` when it is an image job that has drawn its image."""
    drawn = job.root
    if not isinstance(drawn, ImageJob) or drawn.result is None:
        return job
    result = drawn.result.model_copy(update={"image_url": signer.image(PREFIX, owner_id, drawn.result.image_id)})
    return GenerationPublic(drawn.model_copy(update={"result": result}))
