"""The Origin policy, straight on the plain function (the processes above run with the default)."""

from __future__ import annotations

import pytest

from storybang.notifier import handshake


@pytest.mark.parametrize(
    ("allowed", "dev", "origin", "host", "allows"),
    [
        (["https://app.storybang.io"], False, "https://app.storybang.io", "api.storybang.io", True),
        (["https://app.storybang.io/"], False, "https://app.storybang.io", None, True),
        (["https://app.storybang.io"], False, "https://evil.example", "api.storybang.io", False),
        (["https://app.storybang.io"], True, "http://localhost:5173", "localhost:8000", False),  # a list wins
        ([], True, "http://localhost:5173", "localhost:8000", True),  # dev: a dev server on this machine
        ([], True, "http://127.0.0.1:3000", "localhost:8000", True),
        ([], True, "https://evil.example", "localhost:8000", False),  # dev: but no site elsewhere
        ([], True, "http://localhost.evil.example", "localhost:8000", False),
        ([], False, "http://localhost:5173", "storybang.io", False),
        ([], False, "https://storybang.io", "storybang.io", True),  # same host
        ([], False, "https://evil.example", "storybang.io", False),
        ([], False, None, "storybang.io", True),  # not a browser: the token decides
    ],
)
def test_origin_policy(allowed: list[str], dev: bool, origin: str | None, host: str | None, allows: bool) -> None:
    assert handshake.OriginPolicy.build(allowed, dev=dev).allows(origin, host) is allows
