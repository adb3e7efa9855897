"""Health, translations, captions, and a model that cannot load."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import httpx
import torch  # noqa: F401 - these tests run in .venv-inference (scripts/inference-env.sh)

from tests.inference import tiny
from tests.inference.servers import serving, settings_for


def test_healthy_and_ready_once_loaded(server: str) -> None:
    assert httpx.get(f"{server}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server}/readyz").json() == {"status": "ok"}


def test_translation_answers_text(server: str) -> None:
    body = {"text": "the brave fox ran", "source_language": "en", "target_language": "es"}
    response = httpx.post(f"{server}/v1/translations", json=body)
    assert response.status_code == 200
    assert isinstance(response.json()["text"], str)


def test_translation_takes_flores_codes_too(server: str) -> None:
    body = {"text": "the cat", "source_language": "eng_Latn", "target_language": "fra_Latn"}
    assert httpx.post(f"{server}/v1/translations", json=body).status_code == 200


def test_translation_to_an_unknown_language_is_refused(server: str) -> None:
    body = {"text": "the cat", "source_language": "en", "target_language": "tlh"}
    response = httpx.post(f"{server}/v1/translations", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "target_language"


def test_caption_from_a_multipart_upload(server: str) -> None:
    response = httpx.post(f"{server}/v1/captions", files={"file": ("fox.png", tiny.png(), "image/png")})
    assert response.status_code == 200
    assert response.json()["text"]


def test_caption_from_base64_json_matches_multipart(server: str) -> None:
    image = tiny.png((10, 200, 90))
    multipart = httpx.post(f"{server}/v1/captions", files={"file": ("owl.png", image, "image/png")}).json()
    plain = httpx.post(f"{server}/v1/captions", json={"image": base64.b64encode(image).decode()}).json()
    data_url = "data:image/png;base64," + base64.b64encode(image).decode()
    as_url = httpx.post(f"{server}/v1/captions", json={"image": data_url}).json()
    assert multipart == plain == as_url


def test_caption_of_something_not_an_image_is_refused(server: str) -> None:
    response = httpx.post(f"{server}/v1/captions", files={"file": ("notes.txt", b"not a picture", "image/png")})
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"


def test_caption_body_of_another_type_is_refused(server: str) -> None:
    response = httpx.post(f"{server}/v1/captions", content=b"x", headers={"content-type": "text/plain"})
    assert response.status_code == 415


def test_routes_without_their_model_are_not_found(bare_server: str) -> None:
    translation = httpx.post(
        f"{bare_server}/v1/translations", json={"text": "hi", "source_language": "en", "target_language": "es"}
    )
    caption = httpx.post(f"{bare_server}/v1/captions", files={"file": ("a.png", tiny.png(), "image/png")})
    assert (translation.status_code, caption.status_code) == (404, 404)
    assert "--caption-model" in caption.json()["detail"]


def test_a_model_that_cannot_load_fails_health_and_readiness(tmp_path: Path) -> None:
    with serving(settings_for(tmp_path / "missing"), ready=False) as base:
        for _ in range(200):
            if httpx.get(f"{base}/readyz").json()["status"] != "loading":
                break
            time.sleep(0.05)
        assert httpx.get(f"{base}/readyz").json() == {"status": "failed"}
        assert httpx.get(f"{base}/healthz").status_code == 503
        chat = httpx.post(f"{base}/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]})
        assert chat.status_code == 503
