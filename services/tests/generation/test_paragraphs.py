"""Paragraph jobs (write one paragraph of a saved story again, or continue after it) as the API takes
them, and where a queued job stands in its queue."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Account, SignUp

STORY = {
    "title": "The brave fox",
    "audience": "children",
    "character_ids": [],
    "paragraphs": [{"text": "The fox walked to the river."}, {"text": "She drank cold water."}],
}


async def _story(client: httpx.AsyncClient, account: Account) -> dict[str, Any]:
    r = await client.post("/api/v1/stories", headers=account.headers, json=STORY)
    assert r.status_code == 201, r.text
    story: dict[str, Any] = r.json()
    return story


async def test_a_paragraph_job_is_queued_without_a_prompt(client: httpx.AsyncClient, signup: SignUp) -> None:
    account = await signup()
    story = await _story(client, account)
    for rewrite in ("regenerate", "continue"):
        body = {"task": "story", "input": {"story_id": story["id"], "paragraph": 1, "rewrite": rewrite}}
        r = await client.post("/api/v1/generations", headers=account.headers, json=body)
        assert r.status_code == 202, r.text
        assert r.json()["input"]["paragraph"] == 1 and r.json()["input"]["rewrite"] == rewrite


async def test_a_paragraph_job_names_the_field_at_fault(client: httpx.AsyncClient, signup: SignUp) -> None:
    account, other = await signup(), await signup()
    story = await _story(client, account)
    cases = [
        ({"prompt": ""}, "input.prompt"),
        ({"prompt": "   "}, "input.prompt"),
        ({"paragraph": 0}, "input"),  # a paragraph of which story?
        ({"story_id": story["id"], "paragraph": 2}, "input.paragraph"),  # it has two: 0 and 1
        ({"story_id": story["id"], "paragraph": -1}, "input.paragraph"),
        ({"story_id": story["id"], "paragraph": 0, "rewrite": "shorten"}, "input.rewrite"),
    ]
    for data, field in cases:
        r = await client.post("/api/v1/generations", headers=account.headers, json={"task": "story", "input": data})
        assert r.status_code == 422, (data, r.text)
        assert r.json()["errors"][0]["field"] == field, (data, r.text)
    # Another person's story is no story at all for them.
    body = {"task": "story", "input": {"story_id": story["id"], "paragraph": 0}}
    r = await client.post("/api/v1/generations", headers=other.headers, json=body)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "input.story_id", r.text


async def test_a_queued_job_says_where_it_stands(client: httpx.AsyncClient, signup: SignUp) -> None:
    # No worker consumes the queue here: the jobs stay queued, one behind the other.
    first_owner, second_owner = await signup(), await signup()
    body = {"task": "translate", "input": {"text": "Hello", "target_language": "es"}}
    submitted = [
        (await client.post("/api/v1/generations", headers=owner.headers, json=body)).json()
        for owner in (first_owner, second_owner)
    ]
    # The answer to a submission does not count its place (a store round trip per job): reads do.
    assert [job["queue_position"] for job in submitted] == [None, None]
    first, second = [
        (await client.get(f"/api/v1/generations/{job['id']}", headers=owner.headers)).json()
        for job, owner in zip(submitted, (first_owner, second_owner), strict=True)
    ]
    assert first["queue_position"] >= 1
    # Jobs of every user count: the second owner waits behind the first owner's job.
    assert second["queue_position"] == first["queue_position"] + 1
    listed = (await client.get("/api/v1/generations", headers=second_owner.headers)).json()["items"]
    assert [j["queue_position"] for j in listed if j["id"] == second["id"]] == [second["queue_position"]]
    # Once the first job is cancelled, the second moves up; a job that is not queued has no place.
    cancelled = (await client.delete(f"/api/v1/generations/{first['id']}", headers=first_owner.headers)).json()
    assert cancelled["status"] == "cancelled" and cancelled["queue_position"] is None
    read = (await client.get(f"/api/v1/generations/{second['id']}", headers=second_owner.headers)).json()
    assert read["queue_position"] == second["queue_position"] - 1
