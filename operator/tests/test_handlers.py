"""The Kopf layer: handlers are registered for every kind, invalid specs stop retrying and say
why, and a pass that changes nothing patches nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kopf
import pytest

import storybang_operator  # registers the handlers, as `kopf run -m storybang_operator` does
from storybang_operator import errors, handlers, reconcile, status

PLURALS = {"platforms", "domainservices", "generators", "modelservers"}


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Events the handlers post. Kopf posts through the running operator's queue; there is no
    operator in these tests, so the call is recorded instead."""
    posted: list[dict[str, Any]] = []
    monkeypatch.setattr(kopf, "warn", lambda body, **kw: posted.append(kw))
    monkeypatch.setattr(handlers, "_context", object())
    return posted


def _body(**status_: Any) -> dict[str, Any]:
    body = {
        "apiVersion": "storybang.io/v1alpha1",
        "kind": "DomainService",
        "metadata": {"name": "stories", "namespace": "stories", "uid": "u-1", "generation": 2},
        "spec": {"domain": "stories"},
    }
    if status_:
        body["status"] = status_
    return body


def _reconciler(result: dict[str, Any] | Exception) -> Callable[..., dict[str, Any]]:
    def run(ctx: Any, body: Any) -> dict[str, Any]:
        if isinstance(result, Exception):
            raise result
        return result

    return run


def test_every_kind_has_change_handlers_and_a_resync_timer() -> None:
    assert storybang_operator.handlers is handlers
    registry = kopf.get_default_registry()
    changing = {h.selector.any_name for h in registry._changing.get_all_handlers()}
    spawning = {h.selector.any_name for h in registry._spawning.get_all_handlers()}
    assert changing >= PLURALS
    assert spawning >= PLURALS


def test_invalid_spec_sets_ready_false_posts_an_event_and_stops(
    events: list[dict[str, Any]],
) -> None:
    patch = kopf.Patch()
    with pytest.raises(kopf.PermanentError):
        handlers._run(
            "DomainService",
            _reconciler(errors.InvalidSpec("domain must be one of …")),
            kopf.Body(_body()),
            patch,
            trigger="change",
        )
    [ready] = patch["status"]["conditions"]
    assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "False", "InvalidSpec")
    assert patch["status"]["observedGeneration"] == 2
    assert events == [{"reason": "InvalidSpec", "message": "domain must be one of …"}]


def test_resync_of_an_unchanged_invalid_spec_does_nothing(events: list[dict[str, Any]]) -> None:
    failed = reconcile.failed(_body(), errors.InvalidSpec("bad"))
    called = []
    patch = kopf.Patch()
    handlers._run(
        "DomainService",
        lambda ctx, body: called.append(1) or {},
        kopf.Body(_body(**failed)),
        patch,
        trigger="resync",
    )
    assert called == [] and not patch and events == []


def test_missing_dependency_is_retried_later(events: list[dict[str, Any]]) -> None:
    patch = kopf.Patch()
    with pytest.raises(kopf.TemporaryError):
        handlers._run(
            "DomainService",
            _reconciler(
                errors.DependencyNotReady("Platform p does not exist", reason="PlatformNotFound")
            ),
            kopf.Body(_body()),
            patch,
            trigger="change",
        )
    assert patch["status"]["conditions"][0]["reason"] == "PlatformNotFound"
    assert events == []


def test_converged_pass_patches_nothing(events: list[dict[str, Any]]) -> None:
    ready = status.condition("Ready", True, "Available", "2/2 replicas available", generation=2)
    current = {"observedGeneration": 2, "conditions": [ready], "replicas": 2, "readyReplicas": 2}
    desired = {
        **current,
        "conditions": [
            status.condition(
                "Ready", True, "Available", "2/2 replicas available", generation=2, previous=[ready]
            )
        ],
    }
    patch = kopf.Patch()
    handlers._run(
        "DomainService", _reconciler(desired), kopf.Body(_body(**current)), patch, trigger="resync"
    )
    assert not patch


def test_changed_status_is_patched_field_by_field(events: list[dict[str, Any]]) -> None:
    current = {"observedGeneration": 2, "replicas": 2, "readyReplicas": 1}
    patch = kopf.Patch()
    handlers._run(
        "DomainService",
        _reconciler({**current, "readyReplicas": 2}),
        kopf.Body(_body(**current)),
        patch,
        trigger="resync",
    )
    assert dict(patch) == {"status": {"readyReplicas": 2}}
