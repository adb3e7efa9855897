"""The API's documentation pages load nothing from elsewhere and run only their own scripts."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_are_served_from_the_package_under_a_strict_policy(
    client: httpx.AsyncClient, page: str
) -> None:
    r = await client.get(page)
    assert r.status_code == 200
    html = r.text
    policy = r.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/") for s in sources), sources  # nothing from a CDN
    for source in sources:
        asset = await client.get(source)
        assert asset.status_code == 200 and asset.content, source
    # The one inline script of the page is allowed by its hash, and nothing else inline is.
    inline = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
