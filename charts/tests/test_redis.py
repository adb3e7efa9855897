"""The bundled Redis refuses writes before the kernel OOM-kills it: a memory limit, `maxmemory`
below it, and `noeviction` (queued jobs are never evicted to make room)."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import FULLNAME, Manifest, Render, RenderError, one


def redis_container(manifests: list[Manifest]) -> dict[str, Any]:
    [container] = one(manifests, "StatefulSet", f"{FULLNAME}-redis")["spec"]["template"]["spec"]["containers"]
    return dict(container)


def option(container: dict[str, Any], name: str) -> str:
    args: list[str] = container["args"]
    return args[args.index(f"--{name}") + 1]


def test_redis_stops_taking_writes_at_80_percent_of_its_memory_limit(default_manifests: list[Manifest]) -> None:
    redis = redis_container(default_manifests)
    assert redis["resources"]["limits"]["memory"] == "256Mi"
    assert int(option(redis, "maxmemory")) == 256 * 1024 * 1024 * 80 // 100
    assert option(redis, "maxmemory-policy") == "noeviction"


@pytest.mark.parametrize(
    ("limit", "percent", "expected"),
    [("1Gi", 75, 805306368), ("512M", 80, 409600000), ("2000000000", 50, 1000000000)],
)
def test_maxmemory_follows_the_memory_limit(render: Render, limit: str, percent: int, expected: int) -> None:
    values = {"redis.resources": {"limits": {"memory": limit}}, "redis.maxmemoryPercent": percent}
    assert int(option(redis_container(render(values)), "maxmemory")) == expected


def test_an_explicit_maxmemory_and_policy_are_used_as_given(render: Render) -> None:
    redis = redis_container(render({"redis.maxmemory": "100mb", "redis.maxmemoryPolicy": "volatile-lru"}))
    assert (option(redis, "maxmemory"), option(redis, "maxmemory-policy")) == ("100mb", "volatile-lru")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"redis.resources.limits": None}, "redis.resources.limits.memory must be set"),
        ({"redis.resources": {"limits": {"memory": "1.5Gi"}}}, 'redis.resources.limits.memory "1.5Gi"'),
        ({"redis.maxmemoryPercent": 100}, "redis.maxmemoryPercent must be between 1 and 95"),
        ({"redis.maxmemoryPolicy": "evict-everything"}, "maxmemoryPolicy"),
    ],
)
def test_a_redis_that_could_be_oom_killed_is_refused(render: Render, values: dict[str, Any], message: str) -> None:
    with pytest.raises(RenderError, match=message.replace(".", "[.]")):
        render(values)
