"""StoryBang's roles as real processes on the real stores, scraped by a real Prometheus through the
chart's relabelling, after some traffic: an account, API calls (some 404s), a story told by
`storybang inference` with a tiny random-weight model after a backend that is down (a fallback), a
translation by Apertium after the same fallback, a translation no backend can do (a failed job), a
Socket.IO client that receives the events live and then a replay, and a refused socket.

The operator is not among them: it needs a Kubernetes API server, and its metrics are tested with
it in tests/e2e; so its dashboard is not checked here (see test_dashboards.py).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio  # type: ignore[import-untyped]

from storybang.settings import Settings
from storybang_testing import processes
from storybang_testing.prometheus import REPO, Prometheus
from storybang_testing.waiting import free_port
from tests.generation.conftest import settings_with
from tests.monitoring.prometheus import Pod, scraping
from tests.processes import settings_env, storybang

INFERENCE_PYTHON = REPO / ".venv-inference/bin/python"
DOWN = {"name": "down", "kind": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m"}
# Few tokens: the story's length does not matter here, the time the test takes does.
MAX_TOKENS = 48


@dataclass
class Stack:
    prom: Prometheus
    jobs: dict[str, dict[str, Any]]  # the traffic's jobs as the API last showed them, by purpose
    pods: list[Pod]  # the processes as the pods Prometheus scrapes


def tiny_model(folder: Path) -> Path:
    """A tiny random-weight chat model (tests/inference/tiny.py), built with .venv-inference's torch."""
    if not INFERENCE_PYTHON.exists():
        raise RuntimeError(f"{INFERENCE_PYTHON} is missing: run scripts/inference-env.sh (make test does)")
    build = f"from pathlib import Path; from tests.inference.tiny import causal_lm; causal_lm(Path({str(folder)!r}))"
    subprocess.run([str(INFERENCE_PYTHON), "-c", build], cwd=REPO / "services", check=True, timeout=300)  # noqa: S603
    return folder


@contextmanager
def inference_process(model: Path, log: Path) -> Iterator[str]:
    """`storybang inference` serving ``model``, from .venv-inference (torch lives there)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYBANG_")}
    env |= {
        "STORYBANG_INFERENCE_THREADS": "1",
        "STORYBANG_INFERENCE_DEVICE": "cpu",
        "STORYBANG_INFERENCE_HOST": "127.0.0.1",
    }
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            status = httpx.get(base + "/readyz", timeout=1).json()["status"]
        except httpx.TransportError:
            return False
        if status == "failed":
            raise RuntimeError(f"storybang inference could not load its model:\n{log.read_text()[-3000:]}")
        return bool(status == "ok")

    args = [str(INFERENCE_PYTHON), "-m", "storybang", "inference", "--model", str(model), "--port", str(port)]
    # Loading torch and transformers takes minutes on a busy CPU.
    with processes.serving(args, log, ready, env=env, timeout=300, grace=20):
        yield base


def _pod(name: str, base: str, port: str, component: str, **labels: str) -> Pod:
    return Pod(
        name,
        base.removeprefix("http://"),
        port,
        {"app.kubernetes.io/component": component, **{f"storybang.io/{k}": v for k, v in labels.items()}},
    )


async def _drive(api: str, notifier: str) -> dict[str, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=api, timeout=30) as client:
        email, password = f"mon-{secrets.token_hex(4)}@example.com", "a sturdy monitoring passphrase"
        r = await client.post(
            "/api/v1/auth/register", json={"email": email, "password": password, "display_name": "Mon"}
        )
        assert r.status_code == 201, r.text
        token = (await client.post("/api/v1/auth/login", json={"email": email, "password": password})).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        for _ in range(5):
            assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 200
        for _ in range(3):  # the list of characters: read from the store once, then kept
            assert (await client.get("/api/v1/characters", headers=headers)).status_code == 200
        assert (await client.get("/api/v1/stories/" + "0" * 24, headers=headers)).status_code == 404

        received: list[dict[str, Any]] = []
        sio = socketio.AsyncClient(reconnection=False)
        sio.on("*", lambda name, data: received.append(data))
        await sio.connect(notifier, auth={"token": token["access_token"]}, transports=["websocket"])
        refused = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await refused.connect(notifier, auth={}, transports=["websocket"])

        asks = {
            "story": {"task": "story", "input": {"prompt": "A fox finds a map", "audience": "children"}},
            "translation": {"task": "translate", "input": {"text": "The fox is happy.", "target_language": "es"}},
            # No backend translates into French here: down, the model server (no translation
            # model) and Apertium (English-Spanish only) all pass, and the job fails.
            "failure": {"task": "translate", "input": {"text": "The fox.", "target_language": "fr"}},
        }
        ids = {}
        for purpose, body in asks.items():
            r = await client.post("/api/v1/generations", headers=headers, json=body)
            assert r.status_code == 202, r.text
            ids[purpose] = r.json()["id"]
        jobs: dict[str, dict[str, Any]] = {}
        async with asyncio.timeout(240):
            while len(jobs) < len(ids):
                for purpose, job_id in ids.items():
                    job = (await client.get(f"/api/v1/generations/{job_id}", headers=headers)).json()
                    if job["status"] in ("succeeded", "failed", "cancelled"):
                        jobs[purpose] = job
                await asyncio.sleep(0.5)
        await asyncio.sleep(1)  # the last events on their way to the socket
        last = next(data["event_id"] for data in reversed(received) if "event_id" in data)
        await sio.disconnect()

        again = socketio.AsyncClient(reconnection=False)
        first_id = next(data["event_id"] for data in received if "event_id" in data)
        await again.connect(
            notifier, auth={"token": token["access_token"], "last_event_id": first_id}, transports=["websocket"]
        )
        await asyncio.sleep(1)
        await again.disconnect()
        assert last
        return jobs


@pytest.fixture(scope="module")
def stack(real_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("monitoring")
    with ExitStack() as running:
        model = running.enter_context(inference_process(tiny_model(folder / "tiny"), folder / "inference.log"))
        served = httpx.get(model + "/v1/models").json()["data"][0]["id"]
        backends = [DOWN, {"name": "tiny", "kind": "storybang", "base_url": model + "/v1", "model": served}]
        backends.append({"name": "apertium", "kind": "apertium"})
        # Its own jobs collection and queues: a worker sweeps and consumes every job of its tasks, and
        # the suite's other tests leave queued jobs and messages behind on the shared servers.
        tag = secrets.token_hex(3)
        settings = settings_with(
            real_settings,
            folder,
            generation={"backends": backends, "max_retries": 0},
            worker={"queue_namespace": f"monitoring-{tag}"},
        )
        settings = settings.model_copy(
            update={"mongo": settings.mongo.model_copy(update={"database": f"{settings.mongo.database}_mon{tag}"})}
        )
        env = settings_env(settings) | {"STORYBANG_GENERATION__MAX_TOKENS": str(MAX_TOKENS)}
        api_port, worker_port, notifier_port = free_port(), free_port(), free_port()
        domains = ["--domain", "identity", "--domain", "characters", "--domain", "stories", "--domain", "generation"]
        serve = ["serve", *domains, "--host", "127.0.0.1", "--port", str(api_port)]
        api = running.enter_context(storybang(serve, env, api_port, folder / "api.log"))
        worker_env = env | {"STORYBANG_WORKER__METRICS_PORT": str(worker_port)}
        work = ["worker", "--task", "story", "--task", "translate"]
        worker = running.enter_context(storybang(work, worker_env, worker_port, folder / "worker.log"))
        notifier = running.enter_context(
            storybang(
                ["notifier", "--host", "127.0.0.1", "--port", str(notifier_port)],
                env,
                notifier_port,
                folder / "notifier.log",
                ready="/readyz",
            )
        )
        pods = [
            # One API process serves the four domains here; in a cluster each has its pods.
            _pod("generation-7d9f-abcde", api, "http", "domain-service", domain="generation"),
            _pod("worker-story-5c8b-fghij", worker, "metrics", "worker", task="story"),
            _pod("notifier-6f7a-klmno", notifier, "http", "domain-service", domain="notifier"),
            _pod("tiny-84c2-pqrst", model, "http", "model-server"),
        ]
        prom = running.enter_context(scraping(folder / "prometheus", pods))
        jobs = asyncio.run(_drive(api, notifier))
        time.sleep(4)  # a few more scrapes after the last of the traffic
        yield Stack(prom, jobs, pods)
