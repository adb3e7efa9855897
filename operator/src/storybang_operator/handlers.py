"""Kopf handlers: decorators, a plain reconcile call, status and retry intent. Nothing else.

Every kind has one handler for changes (create, update, resume) and one timer that re-renders it
every `resync_seconds`: the timer is what repairs drift and recreates a child deleted by hand.
A pass over a converged resource reads and writes nothing (children are compared with a dry-run
apply; the status is patched only where it differs).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping
from typing import Any

import kopf

from storybang_operator import errors, k8s, metrics, queue, reconcile, status
from storybang_operator.builders import common
from storybang_operator.settings import OperatorSettings

SETTINGS = OperatorSettings()
Reconciler = Callable[[reconcile.Context, common.Body], dict[str, Any]]

_context: reconcile.Context | None = None


@kopf.on.startup()
def configure(
    settings: kopf.OperatorSettings,
    logger: logging.Logger | logging.LoggerAdapter[Any],
    **_: Any,
) -> None:
    """Apply the operator's settings to Kopf and open the connections; fails the start when the
    profile directory is missing, since every vLLM ModelServer would then fail."""
    global _context
    if not SETTINGS.profiles_dir.is_dir():
        raise kopf.PermanentError(f"profiles_dir {SETTINGS.profiles_dir} is not a directory")
    settings.watching.server_timeout = SETTINGS.watch_server_timeout_seconds
    settings.watching.client_timeout = SETTINGS.watch_client_timeout_seconds
    settings.watching.connect_timeout = SETTINGS.watch_connect_timeout_seconds
    settings.peering.standalone = not SETTINGS.peering
    settings.peering.mandatory = SETTINGS.peering
    settings.peering.name = SETTINGS.peering_name
    # Kopf's bookkeeping in annotations of our own prefix; the status schema has no room for it.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix="operator.storybang.io"
    )
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="operator.storybang.io", key="last-handled-configuration"
    )
    # Only warnings become Events: info-level Events on every pass would be writes too.
    settings.posting.level = logging.WARNING
    _context = reconcile.Context(
        api=k8s.Api.connect(
            timeout=SETTINGS.api_timeout_seconds, crd_cache_seconds=SETTINGS.keda_check_seconds
        ),
        queues=queue.QueueReader(timeout=SETTINGS.redis_timeout_seconds),
        settings=SETTINGS,
    )
    metrics.serve(SETTINGS.metrics_port)
    logger.info("storybang-operator configured (peering=%s)", SETTINGS.peering)


def _run(
    kind: str,
    reconciler: Reconciler,
    body: kopf.Body,
    patch: kopf.Patch,
    *,
    trigger: str,
) -> None:
    """One pass: reconcile, write the status difference, map errors to Kopf's retry intent."""
    plain = _plain(body)
    if trigger == "resync" and _invalid_and_unchanged(plain):
        return  # the spec was judged invalid and has not changed since: nothing new to try
    if _context is None:
        raise kopf.TemporaryError("the operator is still starting", delay=5)
    with metrics.reconcile(kind, trigger):
        try:
            desired = reconciler(_context, plain)
        except errors.InvalidSpec as e:
            failure = reconcile.failed(plain, e)
            if _set_status(patch, plain, failure):
                kopf.warn(body, reason=e.reason, message=e.message)
            raise kopf.PermanentError(e.message) from e
        except errors.Forbidden as e:
            _set_status(patch, plain, reconcile.failed(plain, e))
            raise kopf.TemporaryError(e.message, delay=SETTINGS.retry_delay_seconds * 4) from e
        except (errors.DependencyNotReady, errors.ApiError) as e:
            _set_status(patch, plain, reconcile.failed(plain, e))
            raise kopf.TemporaryError(e.message, delay=SETTINGS.retry_delay_seconds) from e
        _set_status(patch, plain, desired)


def _plain(body: kopf.Body) -> dict[str, Any]:
    """A plain, private copy of the resource: builders may read it freely."""
    return copy.deepcopy({key: body[key] for key in body})


def _set_status(patch: kopf.Patch, body: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """Patch only the status fields that differ; whether anything was patched."""
    diff = status.changes(body.get("status"), desired)
    for key, value in diff.items():
        patch.status[key] = value
    return bool(diff)


def _invalid_and_unchanged(body: Mapping[str, Any]) -> bool:
    st = body.get("status") or {}
    if st.get("observedGeneration") != body.get("metadata", {}).get("generation"):
        return False
    ready: Mapping[str, Any] = next(
        (c for c in st.get("conditions", []) if c.get("type") == status.READY), {}
    )
    return bool(ready.get("status") == "False" and ready.get("reason") in _PERMANENT_REASONS)


_PERMANENT_REASONS = {"InvalidSpec", "Rejected", "InvalidProfile", "ProfileNotFound"}


# --- Platform ------------------------------------------------------------------------------


@kopf.on.resume(common.GROUP, common.VERSION, "platforms")
@kopf.on.create(common.GROUP, common.VERSION, "platforms")
@kopf.on.update(common.GROUP, common.VERSION, "platforms")
def platform_changed(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    _run("Platform", reconcile.reconcile_platform, body, patch, trigger="change")


@kopf.timer(
    common.GROUP,
    common.VERSION,
    "platforms",
    interval=SETTINGS.resync_seconds,
    initial_delay=SETTINGS.resync_initial_delay_seconds,
)
def platform_resync(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    _run("Platform", reconcile.reconcile_platform, body, patch, trigger="resync")


# --- DomainService -------------------------------------------------------------------------


@kopf.on.resume(common.GROUP, common.VERSION, "domainservices")
@kopf.on.create(common.GROUP, common.VERSION, "domainservices")
@kopf.on.update(common.GROUP, common.VERSION, "domainservices")
def domain_service_changed(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    _run("DomainService", reconcile.reconcile_domain_service, body, patch, trigger="change")


@kopf.timer(
    common.GROUP,
    common.VERSION,
    "domainservices",
    interval=SETTINGS.resync_seconds,
    initial_delay=SETTINGS.resync_initial_delay_seconds,
)
def domain_service_resync(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    _run("DomainService", reconcile.reconcile_domain_service, body, patch, trigger="resync")


# --- Generator -----------------------------------------------------------------------------


@kopf.on.resume(common.GROUP, common.VERSION, "generators")
@kopf.on.create(common.GROUP, common.VERSION, "generators")
@kopf.on.update(common.GROUP, common.VERSION, "generators")
def generator_changed(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    _run("Generator", reconcile.reconcile_generator, body, patch, trigger="change")


@kopf.timer(
    common.GROUP,
    common.VERSION,
    "generators",
    interval=SETTINGS.resync_seconds,
    initial_delay=SETTINGS.resync_initial_delay_seconds,
)
def generator_resync(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    _run("Generator", reconcile.reconcile_generator, body, patch, trigger="resync")


# --- ModelServer ---------------------------------------------------------------------------


@kopf.on.resume(common.GROUP, common.VERSION, "modelservers")
@kopf.on.create(common.GROUP, common.VERSION, "modelservers")
@kopf.on.update(common.GROUP, common.VERSION, "modelservers")
def model_server_changed(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    _run("ModelServer", reconcile.reconcile_model_server, body, patch, trigger="change")


@kopf.timer(
    common.GROUP,
    common.VERSION,
    "modelservers",
    interval=SETTINGS.resync_seconds,
    initial_delay=SETTINGS.resync_initial_delay_seconds,
)
def model_server_resync(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    _run("ModelServer", reconcile.reconcile_model_server, body, patch, trigger="resync")
