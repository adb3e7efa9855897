"""A story as a PDF: a real PDF (read back with pypdf) with its Unicode text, its illustrations and
its translations; another person's story is not found."""

from __future__ import annotations

import io

import httpx
from pypdf import PdfReader

from storybang.runtime import Runtime
from storybang.stories import results
from tests.characters.pictures import png
from tests.conftest import SignUp

API = "/api/v1/stories"
STORY = {
    "title": "Señor Búho\u2019s night",
    "audience": "children",
    "character_ids": [],
    "language": "es",
    "paragraphs": [
        {"text": "El señor Búho miró la luna: «¡qué grande!», dijo. Καλημέρα, Привет."},
        {"text": "Then he flew home over the quiet wood, and slept until noon."},
    ],
}


def _text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def test_a_story_exports_as_a_pdf_with_its_text_and_illustrations(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    me = await signup()
    story = (await client.post(API, json=STORY, headers=me.headers)).json()
    image_id = await runtime.blobs.put(png((40, 30), "orange"), owner_id=me.id, content_type="image/png")
    await results.set_illustration(runtime, me.id, story["id"], 1, image_id)

    r = await client.get(f"{API}/{story['id']}/export.pdf", headers=me.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith('attachment; filename="Seor Bho')
    assert "filename*=UTF-8''Se%C3%B1or%20B%C3%BAho" in r.headers["content-disposition"]
    assert r.content.startswith(b"%PDF-") and r.content.rstrip().endswith(b"%%EOF")
    reader = PdfReader(io.BytesIO(r.content))
    assert reader.metadata is not None and reader.metadata.title == STORY["title"]
    text = _text(r.content)
    # Every script survives: the font is embedded, not a Latin-1 one.
    for words in ("Señor Búho", "«¡qué grande!»", "Καλημέρα", "Привет", "slept until noon"):
        assert words in " ".join(text.split()), (words, text)
    images = [image for page in reader.pages for image in page.images]
    assert len(images) == 1


async def test_a_translation_exports_in_its_language(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    me, other = await signup(), await signup()
    story = (await client.post(API, json=STORY, headers=me.headers)).json()
    await results.set_translation(runtime, me.id, story["id"], "en", "Mister Owl's night", ["The moon.", "Home."])
    url = f"{API}/{story['id']}/export.pdf"
    english = await client.get(url, params={"language": "en"}, headers=me.headers)
    assert english.status_code == 200
    assert "Mister Owl" in _text(english.content) and "Búho" not in _text(english.content)
    # As written, whatever the language is called.
    assert "Búho" in _text((await client.get(url, params={"language": "es"}, headers=me.headers)).content)
    missing = await client.get(url, params={"language": "fr"}, headers=me.headers)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "language"
    bad = await client.get(url, params={"language": "French!"}, headers=me.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "language"
    assert (await client.get(url, headers=other.headers)).status_code == 404
    assert (await client.get(url)).status_code == 401
