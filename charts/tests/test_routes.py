"""Every path of the HTTP API reaches, through the Ingress path table, a domain that serves it.

The operator routes by URL prefix (``builders.platform.ROUTES``); each domain's FastAPI app says
which paths it serves. Ingress controllers pick the longest matching prefix.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from storybang.api.app import DOMAINS, create_app
from storybang.settings import Settings
from storybang_operator.builders.platform import ROUTES


def routed_domain(path: str) -> str:
    matches = [
        (len(prefix), domain)
        for domain, prefixes in ROUTES.items()
        for prefix in prefixes
        if path == prefix or path.startswith(prefix.rstrip("/") + "/")
    ]
    assert matches, f"no Ingress path routes {path}"
    return max(matches)[1]


def test_every_api_path_is_routed_to_a_domain_that_serves_it(tmp_path: Path) -> None:
    settings = Settings(env="dev", data_dir=tmp_path)
    served = {domain: set(create_app(settings, [domain]).openapi()["paths"]) for domain in DOMAINS if domain in ROUTES}
    every_path = set().union(*served.values())
    assert len(every_path) > 30  # the whole API, not an empty document
    misrouted = {path: routed_domain(path) for path in every_path if path not in served[routed_domain(path)]}
    assert misrouted == {}, f"routed to a domain that does not serve them: {misrouted}"


@pytest.mark.parametrize("path", ["/api/v1/users/me/usage", "/api/v1/admin/generations/failed", "/api/v1/users/me"])
def test_the_longest_prefix_decides(path: str) -> None:
    expected = "identity" if path == "/api/v1/users/me" else "generation"
    assert routed_domain(path) == expected
