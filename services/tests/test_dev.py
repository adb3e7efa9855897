"""`storybang dev` as a person uses it: one process, no servers, a job queued through the API runs
on the in-process worker, and its events arrive over Socket.IO."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import socketio  # type: ignore[import-untyped]

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

            received: list[tuple[str, dict[str, Any]]] = []
            done = asyncio.Event()
            sio = socketio.AsyncClient(reconnection=False)

            @sio.on("*")  # type: ignore[untyped-decorator]
            async def any_event(name: str, data: dict[str, Any]) -> None:
                received.append((name, data))
                if name in ("generation.completed", "generation.failed"):
                    done.set()

            await sio.connect(base, auth={"token": token}, transports=["websocket"], socketio_path="socket.io")
            try:
                body = {"task": "translate", "input": {"story_id": story["id"], "target_language": "es"}}
                job = (await http.post("/api/v1/generations", headers=headers, json=body)).json()
                await asyncio.wait_for(done.wait(), 60)
            finally:
                await sio.disconnect()

            names = [name for name, data in received if data.get("id") == job["id"]]
            assert names == ["generation.queued", "generation.started", "generation.completed"], received
            assert all("event_id" in data for _, data in received)
            kept = (await http.get(f"/api/v1/stories/{story['id']}", headers=headers)).json()
            assert "zorro" in kept["translations"]["es"]["paragraphs"][0]["text"].lower()
