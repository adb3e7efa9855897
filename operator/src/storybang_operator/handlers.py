"""Kopf handlers: decorators, a plain reconcile call, status and retry intent. Nothing else.

Every kind has one handler for changes (create, update, resume), run by Kopf, and is reconciled
again by the resync queue (`resync.py`): every `resync_seconds`, which repairs drift and recreates
a child deleted by hand; at once when one of its Deployments changes in a way its status does
not show yet, so that Ready follows the pods within moments; and at once when the Platform or
ModelServer it waits for has been reconciled. A pass over a converged resource writes nothing
(children are compared with a dry-run apply; the status is patched only where it differs).

The resync queue takes the place of Kopf timers, which would put a finalizer on every resource
and so keep resources (and their namespaces) from being deleted while the operator is down.
With more than one replica, Kopf peering decides which one works, and only Kopf's own handlers
know when they are paused: the periodic pass is then a Kopf timer again (finalizer included).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
from collections.abc import Callable, Mapping
from typing import Any

import kopf

from storybang_operator import errors, k8s, metrics, queue, reconcile, resync, status
from storybang_operator.builders import common
from storybang_operator.settings import OperatorSettings

SETTINGS = OperatorSettings()
Reconciler = Callable[[reconcile.Context, common.Body], dict[str, Any]]

RECONCILERS: Mapping[str, Reconciler] = {
    "Platform": reconcile.reconcile_platform,
    "DomainService": reconcile.reconcile_domain_service,
    "Generator": reconcile.reconcile_generator,
    "ModelServer": reconcile.reconcile_model_server,
}
PLURALS: Mapping[str, str] = {
    "Platform": "platforms",
    "DomainService": "domainservices",
    "Generator": "generators",
    "ModelServer": "modelservers",
}
# The status fields that show a kind's Deployment: replicas and ready replicas.
REPLICA_FIELDS: Mapping[str, tuple[str, str]] = {
    "DomainService": ("replicas", "readyReplicas"),
    "Generator": ("workers", "readyWorkers"),
    "ModelServer": ("replicas", "readyReplicas"),
}
_PERMANENT_REASONS = {"InvalidSpec", "Rejected", "InvalidProfile", "ProfileNotFound"}
# The reasons of a resource that waits for another (a Platform, a ModelServer).
WAITING_REASONS = {"PlatformNotFound", "PlatformNotReady", "BackendNotFound", "BackendNotReady"}

_context: reconcile.Context | None = None
_queue: resync.ResyncQueue | None = None
_indices: dict[str, kopf.Index[tuple[str, str], dict[str, Any]]] = {}
logger = logging.getLogger(__name__)


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


@kopf.on.startup()
async def start_resync(**kwargs: Any) -> None:
    """Start the resync queue over the resources Kopf's indexes know (filled as they are seen)."""
    global _queue
    # Kopf passes each index by its id (see _register): `platforms`, `domain_services`, ...
    _indices.update({kind: kwargs[f"{_snake(kind)}s"] for kind in RECONCILERS})
    _queue = resync.ResyncQueue(
        interval=SETTINGS.resync_seconds,
        initial_delay=SETTINGS.resync_initial_delay_seconds,
        workers=SETTINGS.resync_workers,
        keys=_known_keys,
        reconcile=_resync_key,
    )
    if not SETTINGS.peering:
        _queue.start()


@kopf.on.cleanup()
async def stop_resync(**_: Any) -> None:
    if _queue is not None:
        await _queue.stop()


# --- one pass ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Outcome:
    changes: dict[str, Any]  # the status fields that differ from what the resource shows
    error: errors.OperatorError | None


def _pass(kind: str, body: common.Body, trigger: str) -> Outcome:
    """Reconcile once: the status difference to write, and the error if the pass failed."""
    if _context is None:
        raise kopf.TemporaryError("the operator is still starting", delay=5)
    try:
        with metrics.reconcile(kind, trigger):
            desired = RECONCILERS[kind](_context, body)
        error = None
    except errors.OperatorError as e:
        desired, error = reconcile.failed(body, e), e
    return Outcome(status.changes(body.get("status"), desired), error)


def _changed(kind: str, body: kopf.Body, patch: kopf.Patch) -> None:
    """A change handler's pass: the status goes into Kopf's patch, errors become retry intent."""
    outcome = _pass(kind, _plain(body), "change")
    for key, value in outcome.changes.items():
        patch.status[key] = value
    if outcome.changes:
        metrics.STATUS_WRITES.labels(kind, "change").inc()
    error = outcome.error
    if error is None:
        return
    if isinstance(error, errors.InvalidSpec):
        if outcome.changes:  # reported once, not on every retry
            kopf.warn(body, reason=error.reason, message=error.message)
        raise kopf.PermanentError(error.message) from error
    if isinstance(error, errors.DependencyNotReady):
        # Waiting is a state, not a failure: the status says what is missing, and the resync
        # queue comes back to it (at once when that Platform or ModelServer is reconciled).
        logger.info("%s %s waits: %s", kind, body.metadata.name, error.message)
        return
    delay = SETTINGS.retry_delay_seconds * (4 if isinstance(error, errors.Forbidden) else 1)
    raise kopf.TemporaryError(error.message, delay=delay) from error


def _resynced(kind: str, body: common.Body, trigger: str) -> None:
    """A resync pass (blocking): the status is patched through the API and an invalid spec found
    now is reported by an Event; failures wait for the next pass."""
    assert _context is not None
    if not _handled(body) or _invalid_and_unchanged(body):
        return  # Kopf's change handler has not seen this generation, or it cannot be rendered
    outcome = _pass(kind, body, trigger)
    if outcome.changes:
        _context.api.patch_status(body, outcome.changes)
        metrics.STATUS_WRITES.labels(kind, trigger).inc()
    error = outcome.error
    if isinstance(error, errors.InvalidSpec) and outcome.changes:
        _context.api.post_event(body, reason=error.reason, message=error.message)
    if error is not None:
        meta = body["metadata"]
        level = logging.INFO if isinstance(error, errors.DependencyNotReady) else logging.WARNING
        logger.log(
            level,
            "%s %s/%s: %s: %s",
            kind,
            meta["namespace"],
            meta["name"],
            error.reason,
            error.message,
        )


def _plain(body: Mapping[str, Any]) -> dict[str, Any]:
    """A plain, private copy of the resource: builders may read it freely."""
    return copy.deepcopy({key: body[key] for key in body})


def _handled(body: Mapping[str, Any]) -> bool:
    generation = body.get("metadata", {}).get("generation")
    return bool((body.get("status") or {}).get("observedGeneration") == generation)


def _invalid_and_unchanged(body: Mapping[str, Any]) -> bool:
    ready = _ready(body)
    return bool(
        _handled(body)
        and ready.get("status") == "False"
        and ready.get("reason") in _PERMANENT_REASONS
    )


def _ready(body: Mapping[str, Any]) -> Mapping[str, Any]:
    conditions = (body.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == status.READY), {})


# --- the resync queue ----------------------------------------------------------------------


def _known_keys() -> list[resync.Key]:
    return [(kind, ns, name) for kind, index in _indices.items() for ns, name in list(index)]


def _lookup(key: resync.Key) -> dict[str, Any] | None:
    kind, namespace, name = key
    index = _indices.get(kind)
    found = index.get((namespace, name)) if index is not None else None
    return next(iter(found), None) if found else None


async def _resync_key(key: resync.Key, trigger: str) -> None:
    body = _lookup(key)
    if body is not None:
        await asyncio.to_thread(_resynced, key[0], body, trigger)


def _ready_for_dependents(kind: str, body: Mapping[str, Any]) -> bool:
    """A Platform once it is Ready; a ModelServer once it reports its model."""
    if kind == "Platform":
        return _ready(body).get("status") == "True"
    return kind == "ModelServer" and bool((body.get("status") or {}).get("model"))


def _nudge_waiting(namespace: str) -> None:
    """Reconcile now the resources of a namespace that wait for a dependency (a Platform or a
    ModelServer that has just been reconciled), rather than at their next retry."""
    if _queue is None or SETTINGS.peering:
        return
    for kind, index in _indices.items():
        for ns, name in list(index):
            body = _lookup((kind, ns, name)) if ns == namespace else None
            if body is not None and _ready(body).get("reason") in WAITING_REASONS:
                _queue.nudge((kind, ns, name), "dependency")


def _nudge_platform_of(service: Mapping[str, Any]) -> None:
    platform = (service.get("spec") or {}).get("platformRef", {}).get("name")
    if _queue is not None and not SETTINGS.peering and platform:
        _queue.nudge(("Platform", str(service["metadata"]["namespace"]), str(platform)), "child")


def _deployment_differs(owner_kind: str, owner: Mapping[str, Any], live: Mapping[str, Any]) -> bool:
    """Whether a Deployment's readiness is not what its owner's status says yet."""
    readiness = status.deployment_readiness(live)
    ready = _ready(owner)
    shown = owner.get("status") or {}
    replicas, ready_replicas = REPLICA_FIELDS[owner_kind]
    return (
        ready.get("status") != ("True" if readiness.ready else "False")
        or ready.get("reason") != readiness.reason
        or shown.get(replicas) != readiness.replicas
        or shown.get(ready_replicas) != readiness.ready_replicas
    )


# --- Kopf registrations --------------------------------------------------------------------


def _snake(kind: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in kind).lstrip("_")


def _register(kind: str) -> None:
    """Change handlers, an index and (with peering) a resync timer for one kind."""
    plural = PLURALS[kind]
    snake = _snake(kind)

    def changed(body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
        _changed(kind, body, patch)

    async def index(body: kopf.Body, namespace: str | None, name: str, **_: Any) -> dict[Any, Any]:
        plain = _plain(body)
        if namespace and _ready_for_dependents(kind, plain):
            _nudge_waiting(namespace)
        if namespace and kind == "DomainService" and _lookup((kind, namespace, name)) is None:
            _nudge_platform_of(plain)  # a new API to route to: the Platform renders the Ingress
        return {(namespace, name): plain}

    def resynced(body: kopf.Body, **_: Any) -> None:
        _resynced(kind, _plain(body), "resync")

    for on in (kopf.on.resume, kopf.on.create, kopf.on.update):
        on(common.GROUP, common.VERSION, plural, id=f"{snake}_changed")(changed)
    # The index's id is the keyword the startup handler receives it by.
    kopf.index(common.GROUP, common.VERSION, plural, id=f"{snake}s")(index)
    if SETTINGS.peering:
        kopf.timer(
            common.GROUP,
            common.VERSION,
            plural,
            id=f"{snake}_resync",
            interval=SETTINGS.resync_seconds,
            initial_delay=SETTINGS.resync_initial_delay_seconds,
        )(resynced)


for _kind in RECONCILERS:
    _register(_kind)


@kopf.index("apps", "v1", "deployments", labels={common.MANAGED_BY_LABEL: common.MANAGED_BY})
async def deployments(body: kopf.Body, **_: Any) -> dict[Any, Any]:
    """Every change of a Deployment of ours: reconcile its owner now if its status is behind.

    An index rather than an event handler because Kopf logs every event handler's success at
    the info level, and Deployments change on every pod that comes and goes."""
    owner = next(
        (
            ref
            for ref in body.metadata.get("ownerReferences", [])
            if ref.get("controller") and ref.get("kind") in REPLICA_FIELDS
        ),
        None,
    )
    if owner is None:
        return {}
    key = (str(owner["kind"]), str(body.metadata.namespace), str(owner["name"]))
    known = _lookup(key)
    if (
        _queue is not None
        and not SETTINGS.peering
        and known is not None
        and _deployment_differs(key[0], known, body)
    ):
        _queue.nudge(key)
    return {key: body.metadata.name}
