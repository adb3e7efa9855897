"""Signed URLs for a character's photo and portrait, added to what the API answers (an ``<img>``
sends no token; :mod:`storybang.security.urls`). Stored characters never hold URLs: they expire."""

from __future__ import annotations

from storybang.characters.models import CharacterPublic
from storybang.security.urls import UrlSigner

# Where the characters domain serves images at signed URLs (the ingress routes this prefix to it).
PREFIX = "/api/v1/characters"


def signed(signer: UrlSigner, owner_id: str, character: CharacterPublic) -> CharacterPublic:
    """``character`` with ``photo_url`` and ``portrait_url`` for the pictures it has."""
    photo, portrait = character.photo_id, character.portrait_id
    return character.model_copy(
        update={
            "photo_url": signer.image(PREFIX, owner_id, photo) if photo else None,
            "portrait_url": signer.image(PREFIX, owner_id, portrait) if portrait else None,
        }
    )
