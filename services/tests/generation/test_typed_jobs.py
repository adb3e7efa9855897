"""Each task's job is typed in the API: a request is a discriminated union on ``task`` whose
``input`` is that task's, and a job reads back with that task's ``input`` and ``result``. The
OpenAPI document says so, so that a generated client types them too."""

from __future__ import annotations

from typing import Any

import httpx

from storybang.generation import jobs
from storybang.runtime import Runtime
from tests.characters.pictures import png
from tests.conftest import Account, SignUp

API = "/api/v1/generations"


async def photo_id(client: httpx.AsyncClient, me: Account) -> str:
    character = (await client.post("/api/v1/characters", json={"name": "Pip"}, headers=me.headers)).json()
    files = {"file": ("pip.png", png(), "image/png")}
    r = await client.put(f"/api/v1/characters/{character['id']}/photo", files=files, headers=me.headers)
    assert r.status_code == 200, r.text
    return str(r.json()["photo_id"])


async def test_a_job_of_each_task_round_trips_with_its_typed_input_and_result(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    me = await signup()
    image_id = await photo_id(client, me)
    # What each task is given, what it reads back as (its defaults filled in), and a result as the
    # task's worker writes it (storybang.generation.tasks).
    cases: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
        (
            "story",
            {"prompt": "A fox learns to share", "audience": "children"},
            {"prompt": "A fox learns to share", "audience": "children", "length": "short", "language": "en"},
            {"title": "The Fox", "paragraphs": ["Once.", "Then."], "story_id": None},
        ),
        ("image", {"prompt": "a red fox"}, {"prompt": "a red fox", "size": "512x512"}, {"image_id": image_id}),
        ("describe", {"image_id": image_id}, {"image_id": image_id, "character_id": None}, {"description": "A dot."}),
        (
            "translate",
            {"text": "Hello", "target_language": "es"},
            {"text": "Hello", "target_language": "es", "story_id": None},
            {"text": "Hola"},
        ),
    ]
    for task, given, expected, result in cases:
        r = await client.post(API, json={"task": task, "input": given}, headers=me.headers)
        assert r.status_code == 202, r.text
        queued = r.json()
        assert queued["task"] == task and queued["result"] is None
        assert expected.items() <= queued["input"].items(), queued["input"]
        running = await jobs.start(runtime.documents, queued["id"], lease_seconds=60)
        assert running is not None
        assert await jobs.succeed(runtime.documents, running, result, "local") is not None
        done = (await client.get(f"{API}/{queued['id']}", headers=me.headers)).json()
        assert done["task"] == task and done["status"] == "succeeded" and done["backend"] == "local"
        assert done["input"] == queued["input"]
        # An image's result also has the signed URL an <img> loads it from (added when read).
        assert {k: v for k, v in done["result"].items() if k != "image_url"} == result
        assert (done["result"].get("image_url") is not None) == (task == "image")
    listed = (await client.get(API, headers=me.headers)).json()["items"]
    assert [(j["task"], {k: v for k, v in j["result"].items() if k != "image_url"}) for j in listed] == [
        (task, result) for task, _, _, result in reversed(cases)
    ]


async def test_a_story_translation_reads_back_typed(
    client: httpx.AsyncClient, signup: SignUp, runtime: Runtime
) -> None:
    me = await signup()
    story = (
        await client.post(
            "/api/v1/stories",
            json={"title": "Fox", "audience": "general", "character_ids": [], "paragraphs": [{"text": "Once."}]},
            headers=me.headers,
        )
    ).json()
    r = await client.post(
        API, json={"task": "translate", "input": {"story_id": story["id"], "target_language": "es"}}, headers=me.headers
    )
    assert r.status_code == 202, r.text
    running = await jobs.start(runtime.documents, r.json()["id"], lease_seconds=60)
    assert running is not None
    result = {"translation": {"language": "es", "title": "Zorro", "paragraphs": ["Érase."]}, "story_id": story["id"]}
    await jobs.succeed(runtime.documents, running, result, "apertium")
    assert (await client.get(f"{API}/{running['id']}", headers=me.headers)).json()["result"] == result


async def test_an_unknown_or_missing_task_is_a_clear_422(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    r = await client.post(API, json={"task": "poem", "input": {"prompt": "x"}}, headers=me.headers)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    error = r.json()["errors"][0]
    assert error["field"] == "task"
    assert "'story', 'image', 'describe', 'translate'" in error["message"]
    r = await client.post(API, json={"input": {"prompt": "x"}}, headers=me.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "task"


async def test_an_input_of_another_task_is_refused_naming_the_field(client: httpx.AsyncClient, signup: SignUp) -> None:
    me = await signup()
    r = await client.post(
        API, json={"task": "image", "input": {"text": "Hello", "target_language": "es"}}, headers=me.headers
    )
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"input.text", "input.target_language"}
    assert r.json()["detail"].startswith("input.")


async def test_the_document_types_each_tasks_input_and_result(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    paths = document["paths"]
    body = paths[API]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/GenerationCreate"}
    read = paths[API + "/{job_id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert read == {"$ref": "#/components/schemas/GenerationPublic"}
    assert schemas["GenerationPage"]["properties"]["items"]["items"] == {
        "$ref": "#/components/schemas/GenerationPublic"
    }
    for union, members in (
        ("GenerationCreate", ("StoryJobCreate", "ImageJobCreate", "DescribeJobCreate", "TranslateJobCreate")),
        ("GenerationPublic", ("StoryJob", "ImageJob", "DescribeJob", "TranslateJob")),
    ):
        discriminator = schemas[union]["discriminator"]
        assert discriminator["propertyName"] == "task"
        tasks = ("story", "image", "describe", "translate")
        assert discriminator["mapping"] == {t: f"#/components/schemas/{m}" for t, m in zip(tasks, members, strict=True)}
    for task, inputs, results in (
        ("Story", "StoryInput", {"StoryResult"}),
        ("Image", "ImageInput", {"ImageResult"}),
        ("Describe", "DescribeInput", {"DescribeResult"}),
        ("Translate", "TranslateInput", {"TextTranslationResult", "StoryTranslationResult"}),
    ):
        job = schemas[f"{task}Job"]["properties"]
        assert job["input"] == {"$ref": f"#/components/schemas/{inputs}"}
        assert schemas[f"{task}JobCreate"]["properties"]["input"] == {"$ref": f"#/components/schemas/{inputs}"}
        named = {ref["$ref"].rsplit("/", 1)[1] for ref in job["result"]["anyOf"] if "$ref" in ref}
        assert results <= named
