"""The API's request metrics: what the dashboards and alerts read (charts/tools/dashboards), by the
route's template, method and status class, with a latency histogram; probes and scrapes left out."""

from __future__ import annotations

import re

import httpx

from tests.conftest import SignUp


def count(text: str, labels: str) -> float:
    m = re.search(rf"^http_requests_total\{{{re.escape(labels)}\}} ([\d.e+]+)$", text, re.MULTILINE)
    return float(m.group(1)) if m else 0.0


async def test_requests_are_counted_by_route_template_method_and_status_class(
    client: httpx.AsyncClient, signup: SignUp
) -> None:
    account = await signup()
    one = 'handler="/api/v1/characters/{character_id}",method="GET",status="4xx"'
    before = count((await client.get("/metrics")).text, one)
    for _ in range(2):
        r = await client.get("/api/v1/characters/6b10e1ac41c6e2564ecb0354", headers=account.headers)
        assert r.status_code == 404
    await client.get("/healthz")
    text = (await client.get("/metrics")).text
    assert count(text, one) == before + 2
    assert (
        'http_request_duration_seconds_bucket{handler="/api/v1/characters/{character_id}",le="+Inf",method="GET"}'
        in text
    )
    assert 'handler="/healthz"' not in text
    assert 'handler="/metrics"' not in text
