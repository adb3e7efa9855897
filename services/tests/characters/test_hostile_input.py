"""Hostile input on characters and stories: deep JSON, huge cards, invisible names, unknown fields.

Every case is refused with a problem naming the field, and nothing is stored.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from storybang import images
from storybang.characters.models import CARD_MAX_BYTES
from storybang.validation import MAX_JSON_DEPTH
from tests.characters.pictures import png
from tests.characters.test_cards import V2_CARD, card_png, import_png
from tests.conftest import Account, SignUp

API = "/api/v1/characters"


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def deep_card_json(depth: int) -> bytes:
    # Written as text: Python's own encoder recurses once per level too.
    card = {**V2_CARD, "data": {**V2_CARD["data"], "extensions": "DEEP"}}
    return json.dumps(card).replace('"DEEP"', '{"a": ' * (depth - 1) + "{}" + "}" * (depth - 1)).encode()


async def count(client: httpx.AsyncClient, account: Account) -> int:
    r = await client.get(API, params={"limit": 100}, headers=account.headers)
    assert r.status_code == 200
    return len(r.json()["items"])


async def test_a_thousand_levels_of_json_in_an_import_is_422_on_every_path(
    client: httpx.AsyncClient, signup: SignUp
) -> None:
    me = await signup()
    card = deep_card_json(1000)
    json_body = {**me.headers, "Content-Type": "application/json"}
    r = await client.post(f"{API}/import", content=card, headers=json_body)
    assert r.status_code == 422, r.text
    files = {"file": ("card.json", card, "application/json")}
    r = await client.post(f"{API}/import", files=files, headers=me.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file", r.text
    png_card = images.with_text(png((10, 10), "purple"), {"chara": base64.b64encode(card).decode()})
    r = await import_png(client, me, png_card)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file", r.text
    assert await count(client, me) == 0


@pytest.mark.parametrize("field", ["extensions", "character_book"])
async def test_deep_card_json_on_create_and_patch_is_422_naming_the_field(
    client: httpx.AsyncClient, signup: SignUp, field: str
) -> None:
    me = await signup()
    too_deep = {"name": "Deep", "card": {field: nested(MAX_JSON_DEPTH + 1)}}
    r = await client.post(API, json=too_deep, headers=me.headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == f"card.{field}"
    r = await client.post(API, json={"name": "Shallow", "card": {field: nested(MAX_JSON_DEPTH)}}, headers=me.headers)
    assert r.status_code == 201, r.text
    character = r.json()
    r = await client.patch(f"{API}/{character['id']}", json={"card": {field: nested(300)}}, headers=me.headers)
    assert r.status_code == 422, r.text
    r = await client.get(f"{API}/{character['id']}", headers=me.headers)
    assert r.json()["card"][field] == nested(MAX_JSON_DEPTH)


async def test_a_json_body_nested_past_any_model_is_422_before_parsing(
    client: httpx.AsyncClient, signup: SignUp
) -> None:
    me = await signup()
    body = '{"name": "x", "card": {"extensions": ' + "[" * 5000 + "]" * 5000 + "}}"
    r = await client.post(API, content=body, headers={**me.headers, "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"


async def test_one_card_size_limit_on_every_path(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    # Under each text field's own limit, over the whole card's: 50 greetings of 19,000 characters.
    greetings = ["g" * 19_000] * 50
    assert len(json.dumps(greetings)) > CARD_MAX_BYTES
    card = {**V2_CARD, "data": {**V2_CARD["data"], "alternate_greetings": greetings}}
    r = await import_png(client, me, card_png(card, "chara"))
    assert r.status_code == 422, r.text
    assert "bytes" in r.json()["detail"]
    files = {"file": ("card.json", json.dumps(card).encode(), "application/json")}
    r = await client.post(f"{API}/import", files=files, headers=me.headers)
    assert r.status_code == 422, r.text
    assert await count(client, me) == 0


@pytest.mark.parametrize(
    "name",
    ["\u200b\u200b\u200b", "\u200d\ufeff", "Ne\x00mo", "\x07bell", " \u2060 "],
    ids=["zero-width-spaces", "joiners", "nul", "control", "word-joiner"],
)
async def test_names_without_visible_text_or_with_controls_are_422(
    client: httpx.AsyncClient, signup: SignUp, name: str
) -> None:
    me = await signup()
    r = await client.post(API, json={"name": name}, headers=me.headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "name"
    r = await client.post(
        "/api/v1/stories", json={"title": name, "audience": "general", "character_ids": []}, headers=me.headers
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "title"


async def test_line_breaks_and_emoji_are_text(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    r = await client.post(API, json={"name": "Nemo 🐟", "description": "Line one\n\tLine two"}, headers=me.headers)
    assert r.status_code == 201, r.text
    assert r.json()["description"] == "Line one\n\tLine two"


@pytest.mark.parametrize("field", ["owner_id", "version", "id", "created_at", "colour"])
async def test_unknown_and_read_only_fields_are_refused_on_characters_and_stories(
    client: httpx.AsyncClient, signup: SignUp, field: str
) -> None:
    me = await signup()
    r = await client.post(API, json={"name": "Nemo", field: "x"}, headers=me.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text
    r = await client.post(API, json={"name": "Nemo"}, headers=me.headers)
    character_id = r.json()["id"]
    r = await client.patch(f"{API}/{character_id}", json={field: "x"}, headers=me.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text
    r = await client.patch(f"{API}/{character_id}", json={"card": {field: "x"}}, headers=me.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == f"card.{field}", r.text

    stories = "/api/v1/stories"
    story = {"title": "T", "audience": "general", "character_ids": []}
    r = await client.post(stories, json={**story, field: "x"}, headers=me.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text
    r = await client.post(stories, json=story, headers=me.headers)
    story_id = r.json()["id"]
    r = await client.patch(f"{stories}/{story_id}", json={field: "x"}, headers=me.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text
    r = await client.patch(
        f"{stories}/{story_id}", json={"paragraphs": [{"text": "t", field: "x"}]}, headers=me.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == f"paragraphs.0.{field}", r.text
