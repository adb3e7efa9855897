"""Character Cards: V1/V2/V3 JSON import, PNG import, export, and round trips."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from storybang import images
from storybang.characters import service
from storybang.characters.cards import V3_BACKFILL_WARNING
from storybang.runtime import Runtime
from tests.characters.pictures import image, pixels, png
from tests.conftest import Account, SignUp

API = "/api/v1/characters"
KEPT = ("name", "description", "tags", "card")

V2_CARD: dict[str, Any] = {
    "spec": "chara_card_v2",
    "spec_version": "2.0",
    "data": {
        "name": "Seraphina",
        "description": "A guardian of the forest.",
        "personality": "kind, protective",
        "scenario": "You wake up in her glade.",
        "first_mes": "*She smiles.* You are safe now.",
        "mes_example": "<START>\n{{char}}: Rest.",
        "creator_notes": "Made for testing.",
        "system_prompt": "",
        "post_history_instructions": "",
        "alternate_greetings": ["Hello again."],
        "character_book": {"name": "Glade", "entries": [{"keys": ["glade"], "content": "A clearing."}]},
        "tags": ["fantasy", "guardian"],
        "creator": "someone",
        "character_version": "1.2",
        "extensions": {"talkativeness": "0.5", "depth_prompt": {"depth": 4, "prompt": "x"}},
    },
}

V3_CARD: dict[str, Any] = {
    "spec": "chara_card_v3",
    "spec_version": "3.0",
    "data": {
        **V2_CARD["data"],
        "name": "Seraphina III",
        "nickname": "Sera",
        "group_only_greetings": ["Hello, all of you."],
        "creator_notes_multilingual": {"es": "Hecha para pruebas."},
        "source": ["https://example.com/sera"],
        "assets": [{"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}],
        "creation_date": 1700000000,
        "modification_date": 1700000001,
    },
}


def card_png(card: dict[str, Any], keyword: str, base: bytes | None = None) -> bytes:
    encoded = base64.b64encode(json.dumps(card).encode()).decode()
    return images.with_text(base or png((10, 10), "purple"), {keyword: encoded})


async def import_json(client: httpx.AsyncClient, account: Account, card: Any) -> httpx.Response:
    return await client.post(f"{API}/import", json=card, headers=account.headers)


async def import_png(client: httpx.AsyncClient, account: Account, data: bytes) -> httpx.Response:
    files = {"file": ("card.png", data, "image/png")}
    return await client.post(f"{API}/import", files=files, headers=account.headers)


async def export(
    client: httpx.AsyncClient, account: Account, character_id: str, fmt: str, version: str
) -> httpx.Response:
    params = {"format": fmt, "version": version}
    r = await client.get(f"{API}/{character_id}/card", params=params, headers=account.headers)
    assert r.status_code == 200, r.text
    return r


def chunk(png_bytes: bytes, keyword: str) -> Any:
    return json.loads(base64.b64decode(images.read_text(png_bytes)[keyword]))


def without_dates(card: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in card["data"].items() if k not in ("creation_date", "modification_date")}
    return {**card, "data": data}


async def test_a_v2_json_card_imports_every_field(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    r = await import_json(client, me, V2_CARD)
    assert r.status_code == 201, r.text
    character = r.json()
    data = V2_CARD["data"]
    assert (character["name"], character["description"], character["tags"]) == (
        data["name"],
        data["description"],
        data["tags"],
    )
    for field in ("personality", "scenario", "first_mes", "mes_example", "creator_notes", "alternate_greetings"):
        assert character["card"][field] == data[field]
    assert character["card"]["character_book"] == data["character_book"]
    assert character["card"]["extensions"] == data["extensions"]
    assert character["photo_id"] is None
    exported = (await export(client, me, character["id"], "json", "2")).json()
    assert exported == V2_CARD


async def test_a_v3_json_card_imports_its_own_fields(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    r = await import_json(client, me, V3_CARD)
    assert r.status_code == 201, r.text
    card = r.json()["card"]
    assert card["nickname"] == "Sera"
    assert card["group_only_greetings"] == ["Hello, all of you."]
    assert card["creator_notes_multilingual"] == {"es": "Hecha para pruebas."}
    assert card["source"] == ["https://example.com/sera"]
    exported = (await export(client, me, r.json()["id"], "json", "3")).json()
    expected = {**V3_CARD, "data": {k: v for k, v in V3_CARD["data"].items() if k != "assets"}}
    assert without_dates(exported) == without_dates(expected)
    assert isinstance(exported["data"]["creation_date"], int)


async def test_a_v1_flat_card_imports(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    v1 = {"name": "Old Timer", "description": "From 2023.", "personality": "grumpy", "first_mes": "Hm."}
    r = await import_json(client, me, v1)
    assert r.status_code == 201
    assert r.json()["card"]["personality"] == "grumpy"


@pytest.mark.parametrize(
    ("card", "field"),
    [
        ({"spec": "chara_card_v9", "data": {"name": "x"}}, "spec"),
        ({"spec": "chara_card_v2"}, "data"),
        ({"spec": "chara_card_v2", "data": {"name": "n" * 101}}, "data.name"),
        ({"spec": "chara_card_v3", "data": {"description": "no name"}}, "data.name"),
        ({"spec": "chara_card_v2", "data": {"name": "x", "tags": ["t"] * 21}}, "data.tags"),
        ({"spec": "chara_card_v2", "data": {"name": "x", "personality": "p" * 20_001}}, "data.personality"),
        (["not", "an", "object"], "card"),
    ],
)
async def test_invalid_cards_are_422_naming_the_field(
    client: httpx.AsyncClient, signup: SignUp, card: Any, field: str
) -> None:
    me = await signup()
    r = await import_json(client, me, card)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field


async def test_a_png_card_imports_and_the_png_becomes_the_photo(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    data = card_png(V2_CARD, "chara")
    r = await import_png(client, me, data)
    assert r.status_code == 201, r.text
    character = r.json()
    assert character["name"] == "Seraphina" and character["photo_id"]
    photo = await client.get(f"{API}/{character['id']}/photo", headers=me.headers)
    assert photo.headers["content-type"] == "image/png"
    assert pixels(photo.content) == pixels(data)
    assert images.read_text(photo.content) == {}  # the card lives on the character now


async def test_a_png_with_both_chunks_is_read_as_v3(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    both = card_png(V2_CARD, "chara", base=card_png(V3_CARD, "ccv3"))
    r = await import_png(client, me, both)
    assert r.json()["name"] == "Seraphina III"


async def test_a_raw_png_body_imports_too(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    r = await client.post(
        f"{API}/import",
        content=card_png(V3_CARD, "ccv3"),
        headers={**me.headers, "Content-Type": "image/png"},
    )
    assert r.status_code == 201 and r.json()["card"]["nickname"] == "Sera"


async def test_a_json_card_file_uploads_as_multipart(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    files = {"file": ("card.json", json.dumps(V2_CARD).encode(), "application/json")}
    r = await client.post(f"{API}/import", files=files, headers=me.headers)
    assert r.status_code == 201 and r.json()["name"] == "Seraphina"


async def test_unusable_uploads_are_refused(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    r = await import_png(client, me, png())
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"  # a PNG without a card
    r = await import_png(client, me, images.with_text(png(), {"chara": "%%% not base64 json"}))
    assert r.status_code == 422
    files = {"file": ("card.png", image("JPEG"), "image/png")}
    r = await client.post(f"{API}/import", files=files, headers=me.headers)
    assert r.status_code == 400  # neither a PNG nor JSON
    r = await client.post(f"{API}/import", content=b"name=x", headers={**me.headers, "Content-Type": "text/plain"})
    assert r.status_code == 415
    r = await client.post(f"{API}/import", content=b"{nope", headers={**me.headers, "Content-Type": "application/json"})
    assert r.status_code == 400


async def test_png_export_then_import_gives_the_same_card(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    original = (await import_json(client, me, V3_CARD)).json()
    photo = png((12, 9), "navy")
    await client.put(f"{API}/{original['id']}/photo", files={"file": ("p.png", photo, "image/png")}, headers=me.headers)
    exported = (await export(client, me, original["id"], "png", "3")).content
    assert exported.startswith(images.PNG_SIGNATURE)
    assert pixels(exported) == pixels(photo)
    assert chunk(exported, "ccv3")["spec"] == "chara_card_v3"
    backfill = chunk(exported, "chara")
    assert backfill["spec"] == "chara_card_v2"
    assert backfill["data"]["creator_notes"].startswith(V3_BACKFILL_WARNING)

    copy = (await import_png(client, me, exported)).json()
    assert {k: copy[k] for k in KEPT} == {k: original[k] for k in KEPT}
    again = (await export(client, me, copy["id"], "png", "3")).content
    assert without_dates(chunk(again, "ccv3")) == without_dates(chunk(exported, "ccv3"))
    assert pixels(again) == pixels(photo)


async def test_v2_png_export_round_trips(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    original = (await import_json(client, me, V2_CARD)).json()
    exported = (await export(client, me, original["id"], "png", "2")).content
    assert set(images.read_text(exported)) == {"chara"}
    assert chunk(exported, "chara") == V2_CARD
    copy = (await import_png(client, me, exported)).json()
    assert {k: copy[k] for k in KEPT} == {k: original[k] for k in KEPT}


async def test_png_export_uses_a_placeholder_then_the_portrait(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    me = await signup()
    created = (await client.post(API, json={"name": "Nobody"}, headers=me.headers)).json()
    r = await export(client, me, created["id"], "png", "3")
    assert r.headers["content-type"] == "image/png"
    assert 'filename="nobody.png"' in r.headers["content-disposition"]
    assert pixels(r.content) == pixels(images.placeholder_png("Nobody"))
    portrait = image("GIF", (7, 7))
    image_id = await runtime.blobs.put(portrait, owner_id=me.id, content_type="image/gif")
    await service.set_portrait(runtime, me.id, created["id"], image_id)
    r = await export(client, me, created["id"], "png", "3")
    assert pixels(r.content) == pixels(portrait)
    r = await export(client, me, created["id"], "json", "3")
    assert r.headers["content-type"] == "application/json"
    assert r.json()["data"]["name"] == "Nobody"


async def test_a_jpeg_photo_is_exported_as_png(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    created = (await client.post(API, json={"name": "Jay"}, headers=me.headers)).json()
    jpeg = image("JPEG", (20, 10))
    await client.put(f"{API}/{created['id']}/photo", files={"file": ("p.jpg", jpeg, "image/jpeg")}, headers=me.headers)
    exported = (await export(client, me, created["id"], "png", "2")).content
    assert exported.startswith(images.PNG_SIGNATURE)
    assert pixels(exported) == pixels(jpeg)
    assert chunk(exported, "chara")["data"]["name"] == "Jay"


async def test_bad_export_parameters_are_422(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    created = (await client.post(API, json={"name": "Jay"}, headers=me.headers)).json()
    url = f"{API}/{created['id']}/card"
    r = await client.get(url, params={"format": "gif"}, headers=me.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "format"
    r = await client.get(url, params={"version": "4"}, headers=me.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "version"
