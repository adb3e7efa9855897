"""The web domain serves the built client at ``/`` and never stands in for the server's own paths."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from storybang.api.app import create_app
from storybang.runtime import Runtime
from storybang.web import routes as web
from tests.conftest import client_for, open_embedded

INDEX = "<!doctype html><title>StoryBang</title><div id=root></div>"
ASSET = "assets/index-Abc123.js"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / ASSET).write_text("console.log('app')")
    (root / "sw.js").write_text("self.addEventListener('fetch', () => {})")
    (tmp_path / "secret.txt").write_text("not for the web")
    return root


async def _client(tmp_path: Path, dist: Path, domains: list[str]) -> AsyncIterator[httpx.AsyncClient]:
    runtime: Runtime = await open_embedded(tmp_path, web={"dist_dir": dist})
    try:
        async with client_for(create_app(runtime.settings, domains, runtime=runtime)) as c:
            yield c
    finally:
        await runtime.close()


@pytest.fixture
async def client(tmp_path: Path, dist: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(tmp_path, dist, ["identity", "stories", "web"]):
        yield c


async def test_root_serves_the_app_revalidated_on_every_load(client: httpx.AsyncClient) -> None:
    r = await client.get("/")
    assert r.status_code == 200
    assert r.text == INDEX
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-cache"


async def test_client_routes_fall_back_to_the_app(client: httpx.AsyncClient) -> None:
    for path in ("/stories/0123456789abcdef01234567", "/login", "/characters"):
        r = await client.get(path, headers={"Accept": "text/html"})
        assert r.status_code == 200, path
        assert r.text == INDEX, path


async def test_hashed_assets_are_cached_for_a_year(client: httpx.AsyncClient) -> None:
    r = await client.get("/" + ASSET)
    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "javascript" in r.headers["content-type"]
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_the_service_worker_is_revalidated(client: httpx.AsyncClient) -> None:
    r = await client.get("/sw.js")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-cache"


async def test_a_missing_file_is_a_404_not_the_app(client: httpx.AsyncClient) -> None:
    r = await client.get("/assets/index-Gone999.js")
    assert r.status_code == 404
    assert INDEX not in r.text


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here", "/api/v2/stories", "/socket.io/", "/docs/missing", "/healthz/x", "/metrics/x"]
)
async def test_server_paths_are_never_answered_by_the_app(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 404
    assert INDEX not in r.text


async def test_the_api_and_health_still_answer_beside_the_app(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/users/me")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert (await client.get("/healthz")).json()["status"] == "ok"
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "swagger" in (await client.get("/docs")).text.lower()
    assert (await client.get("/openapi.json")).json()["info"]["title"] == "StoryBang"


async def test_writes_to_client_routes_are_not_answered_with_the_app(client: httpx.AsyncClient) -> None:
    r = await client.post("/login", json={})
    assert r.status_code in (404, 405)
    assert INDEX not in r.text


def test_no_file_outside_the_build_is_reachable(dist: Path) -> None:
    assert web._file(dist, "/../secret.txt") is None
    assert web._file(dist, "/assets/../../secret.txt") is None
    assert web._file(dist, "/sw.js") == (dist / "sw.js").resolve()


async def test_without_a_build_the_app_says_how_to_make_one(tmp_path: Path) -> None:
    async for c in _client(tmp_path, tmp_path / "not-built", ["web"]):
        r = await c.get("/")
        assert r.status_code == 503
        assert "make web" in r.text


async def test_other_domains_do_not_serve_the_app(tmp_path: Path, dist: Path) -> None:
    async for c in _client(tmp_path, dist, ["identity"]):
        r = await c.get("/")
        assert r.status_code == 404
        assert INDEX not in r.text
