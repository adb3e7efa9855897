"""The `image` task end to end: a real Dramatiq worker on the real stores draws through the
`storybang` backend on a real `storybang inference` server, whose /v1/images/generations runs a
tiny random-weight Stable Diffusion built here (no image model ships offline). A character gets its
portrait, a story paragraph its illustration, both served back as PNGs."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import diffusers  # noqa: F401 - these tests run in .venv-inference (scripts/inference-env.sh)
import httpx
import pytest
from PIL import Image

from storybang.settings import Settings
from tests.conftest import Account, SignUp
from tests.generation.conftest import running_worker, settings_with
from tests.inference import tiny
from tests.inference.servers import serving, settings_for

SERVED = "tiny-sd"


@pytest.fixture(scope="module")
def image_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("images")
    settings = settings_for(
        tiny.causal_lm(tmp / "lm"),
        image_model=tiny.text_to_image(tmp / "sd"),
        served_image_model_name=SERVED,
        image_steps=2,
    )
    with serving(settings) as base:
        yield base


@pytest.fixture
def worker_settings(image_server: str, real_settings: Settings, tmp_path: Path) -> Settings:
    backend = {"name": "sd", "kind": "storybang", "base_url": f"{image_server}/v1", "model": SERVED}
    return settings_with(real_settings, tmp_path, generation={"backends": [backend]})


async def draw(client: httpx.AsyncClient, account: Account, job_input: dict[str, Any]) -> dict[str, Any]:
    body = {"task": "image", "input": job_input}
    created = await client.post("/api/v1/generations", headers=account.headers, json=body)
    assert created.status_code == 202, created.text
    async with asyncio.timeout(120):
        while True:
            job: dict[str, Any] = (
                await client.get(f"/api/v1/generations/{created.json()['id']}", headers=account.headers)
            ).json()
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return job
            await asyncio.sleep(0.1)


def png_size(response: httpx.Response) -> tuple[int, int]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.format == "PNG"
        return image.size


async def test_an_image_job_draws_a_characters_portrait(
    client: httpx.AsyncClient, signup: SignUp, worker_settings: Settings
) -> None:
    account = await signup()
    character = (
        await client.post(
            "/api/v1/characters", headers=account.headers, json={"name": "Pip", "description": "a small red fox"}
        )
    ).json()
    portrait = f"/api/v1/characters/{character['id']}/portrait"
    assert (await client.get(portrait, headers=account.headers)).status_code == 404
    with running_worker(worker_settings, ["image"]):
        done = await draw(client, account, {"character_id": character["id"], "size": "256x256"})
    assert done["status"] == "succeeded", done
    assert done["backend"] == "sd"
    assert png_size(await client.get(portrait, headers=account.headers)) == (256, 256)


async def test_an_image_job_illustrates_a_story_paragraph(
    client: httpx.AsyncClient, signup: SignUp, worker_settings: Settings
) -> None:
    account = await signup()
    paragraphs = [{"text": "The fox walked to the river."}, {"text": "She saw the moon in the water."}]
    story = (
        await client.post(
            "/api/v1/stories",
            headers=account.headers,
            json={"title": "Moon river", "audience": "children", "character_ids": [], "paragraphs": paragraphs},
        )
    ).json()
    with running_worker(worker_settings, ["image"]):
        done = await draw(client, account, {"story_id": story["id"], "paragraph": 1, "size": "512x512"})
    assert done["status"] == "succeeded", done
    image_id = done["result"]["image_id"]
    kept = (await client.get(f"/api/v1/stories/{story['id']}", headers=account.headers)).json()
    assert [p.get("image_id") for p in kept["paragraphs"]] == [None, image_id]
    picture = await client.get(f"/api/v1/stories/{story['id']}/images/{image_id}", headers=account.headers)
    assert png_size(picture) == (512, 512)
