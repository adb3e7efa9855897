"""`storybang dev` as a person uses it: one process, no servers, a job queued through the API runs
on the in-process worker, and its events arrive over Socket.IO."""

from __future__ import annotations

from pathlib import Path

import httpx

from storybang_testing.journey import JobEvents
from storybang_testing.waiting import free_port
from tests.processes import storybang


async def test_a_translation_runs_in_process_and_its_events_arrive_over_socketio(tmp_path: Path) -> None:
    port = free_port()
    args = ["dev", "--port", str(port), "--data-dir", str(tmp_path / "data")]
    with storybang(args, {}, port, tmp_path / "dev.log") as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            account = {"email": "dev@example.com", "password": "a dev passphrase"}
            await http.post("/api/v1/auth/register", json=account | {"display_name": "Dev"})
            token = (await http.post("/api/v1/auth/login", json=account)).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            story = (
                await http.post(
                    "/api/v1/stories",
                    headers=headers,
                    json={
                        "title": "The fox",
                        "audience": "children",
                        "character_ids": [],
                        "paragraphs": [{"text": "The fox is happy."}],
                    },
                )
            ).json()

            body = {"task": "translate", "input": {"story_id": story["id"], "target_language": "es"}}
            async with JobEvents().connected(base, token) as events:
                job = (await http.post("/api/v1/generations", headers=headers, json=body)).json()
                await events.finished(job["id"], 60)

            assert events.names(job["id"]) == ["generation.queued", "generation.started", "generation.completed"]
            assert all("event_id" in data for _, _, data in events.received)
            kept = (await http.get(f"/api/v1/stories/{story['id']}", headers=headers)).json()
            assert "zorro" in kept["translations"]["es"]["paragraphs"][0]["text"].lower()
