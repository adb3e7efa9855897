"""The whole generation path with real models, every role its own process on loopback.

`storybang inference` serves the real pretrained SmolLM2-135M-Instruct (and a tiny random-weight
captioner built here, since no vision model ships offline); `storybang serve`, two
`storybang worker`s (story + describe on the inference server; translate on Apertium) and
`storybang notifier` run on the real Redis, MariaDB and FerretDB. A person registers, creates a
character with a photo, has it described, asks for a story, watches it stream over Socket.IO, and
has it translated into Spanish.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from storybang.settings import Settings
from storybang_testing.journey import make_an_illustrated_story
from storybang_testing.waiting import free_port
from tests.conftest import make_settings
from tests.inference import tiny
from tests.processes import settings_env, storybang


@pytest.fixture(scope="module")
def system(real_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("e2e")
    captioner = tiny.captioner(tmp / "captioner")
    inference_port, api_port, notifier_port = free_port(), free_port(), free_port()
    settings = make_settings(
        tmp,
        mysql=real_settings.mysql.model_dump(),
        mongo=real_settings.mongo.model_dump(),
        redis=real_settings.redis.model_dump(),
        generation={"max_tokens": 320, "timeout_seconds": 600},
    )
    env = settings_env(settings)
    inference = {
        "name": "smollm2",
        "kind": "storybang",
        "base_url": f"http://127.0.0.1:{inference_port}/v1",
        "model": "smollm2",
    }
    models_env = env | {"STORYBANG_GENERATION__BACKENDS": json.dumps([inference])}
    apertium_env = env | {"STORYBANG_GENERATION__BACKENDS": json.dumps([{"name": "apertium", "kind": "apertium"}])}
    story_port, translate_port = free_port(), free_port()
    threads = os.environ.get("STORYBANG_INFERENCE_THREADS", "2")
    with (
        storybang(
            ["inference", "--port", str(inference_port), "--caption-model", str(captioner)],
            {"STORYBANG_INFERENCE_THREADS": threads},
            inference_port,
            tmp / "inference.log",
            timeout=600,
            ready="/readyz",
        ),
        storybang(
            [
                "serve",
                "--port",
                str(api_port),
                "--domain",
                "identity",
                "--domain",
                "characters",
                "--domain",
                "stories",
                "--domain",
                "generation",
            ],
            env,
            api_port,
            tmp / "api.log",
        ) as api,
        storybang(
            ["worker", "--task", "story", "--task", "describe"],
            models_env | {"STORYBANG_WORKER__METRICS_PORT": str(story_port)},
            story_port,
            tmp / "w1.log",
        ),
        storybang(
            ["worker", "--task", "translate"],
            apertium_env | {"STORYBANG_WORKER__METRICS_PORT": str(translate_port)},
            translate_port,
            tmp / "w2.log",
        ),
        storybang(["notifier", "--port", str(notifier_port)], env, notifier_port, tmp / "notifier.log") as notifier,
    ):
        yield {"api": api, "notifier": notifier}


async def test_a_person_makes_an_illustrated_story_end_to_end(system: dict[str, str]) -> None:
    await make_an_illustrated_story(
        system["api"],
        system["notifier"],
        email="e2e@example.com",
        story_backend="smollm2",
        story_seconds=600,
        photo=tiny.png(),
    )
