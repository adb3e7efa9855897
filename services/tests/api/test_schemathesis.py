"""Property-based tests over the whole OpenAPI document: no input makes the server fail (5xx).

The API runs as a real process (`storybang serve` with every domain) on the real stores, and
schemathesis sends it generated requests, authenticated as an ordinary user.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from storybang.settings import Settings
from tests.processes import free_port, settings_env, storybang


@pytest.fixture(scope="session")
def api_base(real_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("schemathesis") / "api.log"
    args = ["serve", "--domain", "identity", "--domain", "characters", "--domain", "stories", "--port", str(port)]
    with storybang(args, settings_env(real_settings), port, log) as base:
        yield base


@pytest.fixture(scope="session")
def api_schema(api_base: str) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(api_base + "/openapi.json")
    schema.config.base_url = api_base
    return schema


@pytest.fixture(scope="session")
def bearer(api_base: str) -> dict[str, str]:
    email, password = f"fuzz-{secrets.token_hex(4)}@example.com", "a long fuzzing passphrase"
    httpx.post(api_base + "/api/v1/auth/register", json={"email": email, "password": password, "display_name": "F"})
    token = httpx.post(api_base + "/api/v1/auth/login", json={"email": email, "password": password}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.exclude(path="/api/v1/users/me", method="DELETE").parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_server_fail(case: schemathesis.Case, bearer: dict[str, str]) -> None:
    case.call_and_validate(headers=bearer, checks=[not_a_server_error])


def test_the_document_lists_every_domain(api_base: str, tmp_path: Path) -> None:
    paths = httpx.get(api_base + "/openapi.json").json()["paths"]
    for path in ("/api/v1/auth/login", "/api/v1/users/me", "/api/v1/characters", "/api/v1/stories"):
        assert path in paths
