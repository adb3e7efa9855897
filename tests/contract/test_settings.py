"""The operator↔services contract: every variable the operator or the chart sets on a StoryBang
container is a setting that container's process accepts.

The operator and the services never import each other; what couples them is the environment the
operator writes into pods. This test renders every example of manifests/ and the chart (default
values, and values that switch on what the defaults leave off) through the operator's pure builders,
and starts `storybang check-settings` with exactly each container's environment, as the container's
role would load it at start. The operator's own container is checked against the operator's settings.
"""

from __future__ import annotations

import concurrent.futures
import functools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from workloads import Container, chart_containers, examples_containers

from storybang_operator import settings as operator_settings

STORYBANG = str(Path(sys.executable).with_name("storybang"))
# Chart values that switch on what the defaults leave off: the web front, SMTP mail with a password,
# extra platform settings, TLS, CORS, trusted proxies and more than one operator replica.
CHART_VALUES: dict[str, dict[str, Any]] = {
    "defaults": {},
    "everything-on": {
        "domainServices.web.enabled": True,
        "platform.mail": {
            "backend": "smtp",
            "smtpHost": "mail.example.com",
            "smtpUsername": "storybang",
            "smtpPassword": "password",
            "fromAddress": "StoryBang <stories@example.com>",
        },
        "platform.settings": {"STORYBANG_WORKER__HEARTBEAT_TIMEOUT_SECONDS": "90"},
        "platform.corsOrigins": ["https://app.example.com"],
        "platform.trustedProxies": ["10.244.0.0/16", "fd00:10:244::/56"],
        "ingress.tls": {"enabled": True, "secretName": "storybang-tls"},
        "operator.replicas": 2,
    },
}
# Roles every render must hold between them, so that the test cannot pass by finding nothing.
ROLES = {
    "storybang serve",
    "storybang notifier",
    "storybang worker",
    "storybang inference",
    "storybang migrate",
    "operator",
}
DOMAINS = {"identity", "characters", "stories", "generation", "web"}


@functools.cache
def rendered() -> tuple[Container, ...]:
    found = examples_containers()
    for name, values in CHART_VALUES.items():
        found += chart_containers(name, values)
    return tuple(found)


def storybang_containers() -> list[Container]:
    return [c for c in rendered() if c.program == "storybang"]


def operator_containers() -> list[Container]:
    return [c for c in rendered() if c.program == "operator"]


Checked = tuple[str, frozenset[tuple[str, str]]]  # a role and an environment


def check_settings(role: str, env: frozenset[tuple[str, str]]) -> subprocess.CompletedProcess[str]:
    """`storybang check-settings` with exactly this environment, as this role loads its settings."""
    args = [STORYBANG, "check-settings", *(["--inference"] if role == "storybang inference" else [])]
    return subprocess.run(args, env=dict(env), capture_output=True, text=True, timeout=120, check=False)  # noqa: S603


@functools.cache
def checked() -> dict[Checked, subprocess.CompletedProcess[str]]:
    """Every distinct (role, environment) of the renders, checked once and a few at a time: the
    containers of one platform share their environment, and each check starts a Python process."""
    distinct = {(c.role, frozenset(c.env.items())) for c in storybang_containers()}
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(lambda key: check_settings(*key), distinct)
        return dict(zip(distinct, results, strict=True))


def test_the_renders_hold_every_storybang_role() -> None:
    roles = {c.role for c in rendered() if c.program}
    assert all(c.role.startswith("storybang ") for c in storybang_containers()), "a services image runs no storybang"
    assert roles >= ROLES, f"missing roles: {ROLES - roles}"
    served = {c.command[3] for c in storybang_containers() if c.role == "storybang serve"}
    assert served >= DOMAINS, f"missing domains: {DOMAINS - served}"
    sources = {c.source for c in rendered()}
    assert sources == {"manifests/", *(f"chart[{name}]" for name in CHART_VALUES)}


@pytest.mark.parametrize("container", storybang_containers(), ids=str)
def test_every_storybang_container_starts_with_the_settings_it_is_given(container: Container) -> None:
    names = sorted(n for n in container.env if n.startswith("STORYBANG_"))
    assert names, f"{container} sets no STORYBANG_* variable: its settings would all be defaults"
    result = checked()[(container.role, frozenset(container.env.items()))]
    assert result.returncode == 0, f"{container} ({' '.join(container.command)}) refuses {names}:\n{result.stderr}"


@pytest.mark.parametrize("container", operator_containers(), ids=str)
def test_the_operator_container_starts_with_the_settings_it_is_given(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert any(n.startswith("STORYBANG_OPERATOR_") for n in container.env), f"{container} sets no operator setting"
    assert operator_settings.unknown(container.env) == [], f"{container} sets names the operator does not read"
    for name in [n for n in os.environ if n.startswith("STORYBANG_")]:
        monkeypatch.delenv(name)
    for name, value in container.env.items():
        monkeypatch.setenv(name, value)
    try:
        operator_settings.load()
    except ValueError as e:
        pytest.fail(f"{container}: the operator refuses its settings: {e}")


def test_a_misspelt_variable_in_a_rendered_environment_is_refused() -> None:
    """The check above can fail: the same environment with one name misspelt stops the process."""
    worker = next(c for c in storybang_containers() if c.role == "storybang worker")
    env = {
        ("STORYBANG_WORKER_CONCURRENCY" if k == "STORYBANG_WORKER__CONCURRENCY" else k): v
        for k, v in worker.env.items()
    }
    assert env != dict(worker.env)
    result = check_settings(worker.role, frozenset(env.items()))
    assert result.returncode == 1
    assert "unknown setting STORYBANG_WORKER_CONCURRENCY: did you mean STORYBANG_WORKER__CONCURRENCY?" in result.stderr
    assert "Traceback" not in result.stderr
