"""The end-to-end story of tests/models, with the story told by `vllm serve` (vLLM's CPU build).

Every role is its own process on loopback, on the real Redis, MariaDB and FerretDB, as in
tests/models/test_end_to_end.py. The story worker's only backend is the vLLM that
scripts/test-vllm.sh started (``{"kind": "openai", "model": "smollm2"}``), so a story can only come
from vLLM. Description stays on `storybang inference`: its /v1/captions (here a tiny random-weight
captioner built by the test, since no vision model ships offline) is a StoryBang route that vLLM
does not serve, and SmolLM2 cannot see. Translation stays on Apertium.
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
from tests.vllm.conftest import VLLM_MODEL

# A story of SmolLM2 on a shared two-core CPU; vLLM's first requests also compile.
STORY_SECONDS = 600


@pytest.fixture(scope="module")
def system(
    real_settings: Settings, vllm_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("e2e-vllm")
    captioner = tiny.captioner(tmp / "captioner")
    inference_port, api_port, notifier_port = free_port(), free_port(), free_port()
    settings = make_settings(
        tmp,
        mysql=real_settings.mysql.model_dump(),
        mongo=real_settings.mongo.model_dump(),
        redis=real_settings.redis.model_dump(),
        generation={"max_tokens": 320, "timeout_seconds": STORY_SECONDS},
    )
    env = settings_env(settings)

    def backends(*configs: dict[str, str]) -> dict[str, str]:
        return env | {"STORYBANG_GENERATION__BACKENDS": json.dumps(list(configs))}

    vllm = {"name": "vllm", "kind": "openai", "base_url": vllm_url, "model": VLLM_MODEL}
    inference = {
        "name": "smollm2",
        "kind": "storybang",
        "base_url": f"http://127.0.0.1:{inference_port}/v1",
        "model": "smollm2",
    }
    story_port, describe_port, translate_port = free_port(), free_port(), free_port()
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
            ["serve", "--port", str(api_port)]
            + [a for d in ("identity", "characters", "stories", "generation") for a in ("--domain", d)],
            env,
            api_port,
            tmp / "api.log",
        ) as api,
        storybang(
            ["worker", "--task", "story"],
            backends(vllm) | {"STORYBANG_WORKER__METRICS_PORT": str(story_port)},
            story_port,
            tmp / "story.log",
        ),
        storybang(
            ["worker", "--task", "describe"],
            backends(inference) | {"STORYBANG_WORKER__METRICS_PORT": str(describe_port)},
            describe_port,
            tmp / "describe.log",
        ),
        storybang(
            ["worker", "--task", "translate"],
            backends({"name": "apertium", "kind": "apertium"})
            | {"STORYBANG_WORKER__METRICS_PORT": str(translate_port)},
            translate_port,
            tmp / "translate.log",
        ),
        storybang(["notifier", "--port", str(notifier_port)], env, notifier_port, tmp / "notifier.log") as notifier,
    ):
        yield {"api": api, "notifier": notifier}


async def test_a_person_makes_an_illustrated_story_told_by_vllm(system: dict[str, str]) -> None:
    await make_an_illustrated_story(
        system["api"],
        system["notifier"],
        email="e2e-vllm@example.com",
        story_backend="vllm",
        story_seconds=STORY_SECONDS,
        photo=tiny.png(),
    )
