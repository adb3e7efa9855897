"""The `storybang` command as a person runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from storybang_testing.waiting import free_port
from tests.processes import storybang


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("STORYBANG_")} | (env or {})
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "storybang", *args], env=clean, capture_output=True, text=True, timeout=60, check=False
    )


def test_dev_keeps_data_across_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    args = ["dev", "--port", str(port), "--data-dir", str(data)]
    account = {"email": "dev@example.com", "password": "a dev passphrase", "display_name": "Dev"}
    with storybang(args, {}, port, tmp_path / "dev.log") as base:
        assert httpx.get(base + "/docs").status_code == 200
        assert httpx.post(base + "/api/v1/auth/register", json=account).status_code == 201
    assert (data / "outbox").is_dir() and any((data / "outbox").iterdir())  # the code went to the outbox
    log = (tmp_path / "dev.log").read_text()
    code_mail = next((data / "outbox").iterdir()).read_text()
    code = code_mail.rsplit("code is ", 1)[1][:6]
    assert code not in log  # ...and never into the log
    port = free_port()  # a fresh port: the old one may linger in TIME_WAIT or be taken meanwhile
    args = ["dev", "--port", str(port), "--data-dir", str(data)]
    with storybang(args, {}, port, tmp_path / "dev.log") as base:
        body = {"email": account["email"], "password": account["password"]}
        again = httpx.post(base + "/api/v1/auth/login", json=body)
        assert again.status_code == 200
        token = again.json()["access_token"]
        me = httpx.get(base + "/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["email"] == "dev@example.com"


def test_serve_without_settings_explains_what_is_missing() -> None:
    result = run_cli("serve", "--domain", "identity")
    assert result.returncode != 0
    assert "STORYBANG_AUTH__SIGNING_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_an_unknown_domain() -> None:
    result = run_cli("serve", "--domain", "nonsense")
    assert result.returncode == 2
    assert "unknown domain nonsense" in result.stderr
    assert "Traceback" not in result.stderr


def test_keygen_prints_a_pem_key() -> None:
    result = run_cli("keygen")
    assert result.returncode == 0
    assert result.stdout.startswith("-----BEGIN PRIVATE KEY-----")
