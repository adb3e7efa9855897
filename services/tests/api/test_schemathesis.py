"""Property-based tests over the whole OpenAPI document: no input makes the server fail (5xx).

The API runs as a real process (`storybang serve` with every domain) on the real stores, and
schemathesis sends it generated requests, authenticated as an ordinary user.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from storybang.settings import Settings
from storybang_testing.waiting import free_port
from tests.processes import settings_env, storybang


@pytest.fixture(scope="session")
def api_base(real_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("schemathesis") / "api.log"
    args = ["serve", "--port", str(port)]
    for domain in ("identity", "characters", "stories", "generation"):
        args += ["--domain", domain]
    with storybang(args, settings_env(real_settings), port, log) as base:
        yield base


@pytest.fixture(scope="session")
def bearer(api_base: str) -> str:
    email, password = f"fuzz-{secrets.token_hex(4)}@example.com", "a long fuzzing passphrase"
    httpx.post(api_base + "/api/v1/auth/register", json={"email": email, "password": password, "display_name": "F"})
    token = httpx.post(api_base + "/api/v1/auth/login", json={"email": email, "password": password}).json()
    return str(token["access_token"])


def test_no_input_makes_the_server_fail(api_base: str, bearer: str, tmp_path: Path) -> None:
    """schemathesis's own runner (its pytest plugin does not follow pytest 9 yet): every operation,
    examples + coverage + fuzzing phases, authenticated; fails on any 5xx answer."""
    report = tmp_path / "report.json"
    result = subprocess.run(  # noqa: S603 - our test tool with fixed arguments
        [
            str(Path(sys.executable).with_name("st")),
            "run",
            api_base + "/openapi.json",
            "--checks",
            "not_a_server_error",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "15",
            "--seed",
            "20261121",
            "--header",
            f"Authorization: Bearer {bearer}",
            # Deleting the account would turn every later request into a 401.
            "--exclude-operation-id",
            "delete_me_api_v1_users_me_delete",
            "--report",
            "ndjson",
            "--report-ndjson-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    tested = re.search(r"Tested: (\d+)", result.stdout)
    generated = re.search(r"(\d+) generated", result.stdout)
    # Every operation was exercised, with hundreds of cases in all: the run proved something.
    assert tested is not None and int(tested.group(1)) >= 35, result.stdout[-3000:]
    assert generated is not None and int(generated.group(1)) >= 500, result.stdout[-3000:]


def test_the_document_lists_every_domain(api_base: str) -> None:
    paths = httpx.get(api_base + "/openapi.json").json()["paths"]
    for path in (
        "/api/v1/auth/login",
        "/api/v1/users/me",
        "/api/v1/characters",
        "/api/v1/stories",
        "/api/v1/generations",
    ):
        assert path in paths
