"""/v1/images/generations: OpenAI's images API on a diffusers pipeline, proven with the official
`openai` client against a real server drawing with a tiny random-weight Stable Diffusion."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
import torch  # noqa: F401 - these tests run in .venv-inference (scripts/inference-env.sh)
from PIL import Image

from tests.inference import tiny
from tests.inference.servers import serving, settings_for

PROMPT = "a red fox under the moon"


@pytest.fixture(scope="module")
def image_server(tiny_lm: Path, tiny_drawer: Path) -> Iterator[str]:
    settings = settings_for(
        tiny_lm, image_model=tiny_drawer, served_image_model_name="tiny-sd", image_steps=2, image_max_side=512
    )
    with serving(settings) as base:
        yield base


@pytest.fixture(scope="module")
def client(image_server: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{image_server}/v1", api_key="unused", max_retries=0)


def picture(b64: str | None) -> Image.Image:
    assert b64 is not None
    data = base64.b64decode(b64)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_the_openai_client_gets_a_png_of_the_size_it_asked_for(client: openai.OpenAI) -> None:
    for size in ("256x256", "512x512"):
        answer = client.images.generate(model="tiny-sd", prompt=PROMPT, size=size, n=1, response_format="b64_json")
        assert answer.created > 0
        assert answer.data is not None and len(answer.data) == 1
        image = picture(answer.data[0].b64_json)
        assert (image.format, image.mode, image.size) == ("PNG", "RGB", (int(size[:3]), int(size[:3])))


def test_base64_is_the_default_and_the_wire_holds_created_and_data_only(image_server: str) -> None:
    response = httpx.post(f"{image_server}/v1/images/generations", json={"prompt": PROMPT, "size": "256x256"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"created", "data"}
    assert [set(item) for item in body["data"]] == [{"b64_json"}]


def test_without_a_size_the_model_draws_at_its_own(client: openai.OpenAI) -> None:
    # The tiny UNet's sample size (8) times the VAE's scale (8): what its pipeline defaults to.
    for answer in (client.images.generate(prompt=PROMPT), client.images.generate(prompt=PROMPT, size="auto")):
        assert answer.data is not None
        assert picture(answer.data[0].b64_json).size == (64, 64)


def test_sides_may_differ(image_server: str) -> None:
    response = httpx.post(f"{image_server}/v1/images/generations", json={"prompt": PROMPT, "size": "128x64"})
    assert picture(response.json()["data"][0]["b64_json"]).size == (128, 64)


def test_a_seed_makes_the_picture_repeatable(image_server: str) -> None:
    def draw(seed: int) -> str:
        body = {"prompt": PROMPT, "size": "256x256", "seed": seed}
        b64: str = httpx.post(f"{image_server}/v1/images/generations", json=body).json()["data"][0]["b64_json"]
        return b64

    assert draw(7) == draw(7)
    assert draw(7) != draw(8)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"n": 2}, "n"),
        ({"response_format": "url"}, "response_format"),
        ({"size": "1024x1024"}, "size"),  # above image_max_side
        ({"size": "250x250"}, "size"),  # not a multiple of 8
        ({"size": "big"}, "size"),
        ({"prompt": ""}, "prompt"),
    ],
)
def test_what_the_server_cannot_draw_is_refused_as_problem_json(
    image_server: str, change: dict[str, object], field: str
) -> None:
    body = {"prompt": PROMPT, "size": "256x256"} | change
    response = httpx.post(f"{image_server}/v1/images/generations", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == field


def test_the_openai_client_sees_422_for_more_than_one_image(client: openai.OpenAI) -> None:
    with pytest.raises(openai.UnprocessableEntityError):
        client.images.generate(prompt=PROMPT, size="256x256", n=2)


def test_an_unknown_model_is_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.images.generate(model="dall-e-3", prompt=PROMPT, size="256x256")


def test_models_lists_the_image_model_beside_the_language_model(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list().data]
    assert len(ids) == 2 and ids[1] == "tiny-sd"


def test_metrics_count_pictures(image_server: str) -> None:
    def drawn() -> float:
        metrics = httpx.get(f"{image_server}/metrics").text
        line = 'storybang_inference_requests_total{outcome="ok",route="images"}'
        return sum(float(row.split()[-1]) for row in metrics.splitlines() if row.startswith(line))

    before = drawn()
    httpx.post(f"{image_server}/v1/images/generations", json={"prompt": PROMPT, "size": "64x64"})
    assert drawn() == before + 1


def test_without_an_image_model_the_route_is_not_found(bare_server: str) -> None:
    response = httpx.post(f"{bare_server}/v1/images/generations", json={"prompt": PROMPT})
    assert response.status_code == 404
    assert "--image-model" in response.json()["detail"]


def test_a_picture_the_safety_checker_flags_is_refused_not_sent_black(tiny_lm: Path, tmp_path: Path) -> None:
    checked = tiny.text_to_image(tmp_path / "checked", refuse_everything=True)
    with serving(settings_for(tiny_lm, image_model=checked, image_steps=1)) as base:
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused", max_retries=0)
        with pytest.raises(openai.BadRequestError) as refused:
            client.images.generate(prompt=PROMPT, size="64x64")
    body = refused.value.body
    assert isinstance(body, dict)
    assert body["type"].endswith("/content-refused") and "safety checker" in body["detail"]


def test_an_image_folder_that_holds_no_pipeline_fails_health(tiny_lm: Path, tmp_path: Path) -> None:
    with serving(settings_for(tiny_lm, image_model=tmp_path), ready=False) as base:
        for _ in range(400):
            if httpx.get(f"{base}/readyz").json()["status"] != "loading":
                break
            time.sleep(0.05)
        health = httpx.get(f"{base}/healthz")
    assert health.status_code == 503
    assert "model_index.json" in health.json()["detail"]
