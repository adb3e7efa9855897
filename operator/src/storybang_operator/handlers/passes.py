"""One pass over a resource, from a change handler or the resync queue: the status to write and
what the failure means for Kopf (stop, wait, retry)."""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

import kopf

from storybang_operator import errors, k8s, reconcile, status
from storybang_operator.builders import common
from storybang_operator.handlers.state import Operator

# The reasons of a spec that cannot be rendered whatever else changes: only a new spec can help,
# so the resync passes leave it alone. The other refusals depend on something besides the spec
# and are re-examined by every resync pass (one that meets the same refusal writes nothing):
# `Rejected`, the API server refusing a child (an admission policy, a LimitRange, a schema, any
# of which may change), and `InvalidProfile`/`ProfileNotFound` (the profiles directory).
PERMANENT_REASONS = {"InvalidSpec"}
logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Outcome:
    changes: dict[str, Any]  # the status fields that differ from what the resource shows
    error: errors.OperatorError | None


def run(operator: Operator, kind: str, body: common.Body, trigger: str) -> Outcome:
    """Reconcile once: the status difference to write, and the error if the pass failed. The
    Secrets the pass found missing (or missing a key) are what the resource now waits for."""
    meta = body["metadata"]
    with k8s.refused_secrets() as refused:
        try:
            with operator.context.metrics.reconcile(kind, trigger):
                desired = operator.reconcilers[kind](operator.context, body)
            error = None
        except errors.OperatorError as e:
            desired, error = reconcile.failed(body, e), e
    operator.waits_for_secrets((kind, str(meta["namespace"]), str(meta["name"])), refused)
    return Outcome(status.changes(body.get("status"), desired), error)


def changed(operator: Operator, kind: str, body: kopf.Body, patch: kopf.Patch) -> None:
    """A change handler's pass: the status goes into Kopf's patch, errors become retry intent."""
    outcome = run(operator, kind, plain(body), "change")
    for key, value in outcome.changes.items():
        patch.status[key] = value
    if outcome.changes:
        operator.context.metrics.status_writes.labels(kind, "change").inc()
    error = outcome.error
    if error is None:
        return
    if isinstance(error, errors.InvalidSpec):
        if outcome.changes:  # reported once, not on every retry
            operator.warn(body, reason=error.reason, message=error.message)
        raise kopf.PermanentError(error.message) from error
    if isinstance(error, errors.DependencyNotReady):
        # Waiting is a state, not a failure: the status says what is missing, and the resync
        # queue comes back to it (at once when that Platform or ModelServer is reconciled).
        logger.info("%s %s waits: %s", kind, body.metadata.name, error.message)
        return
    delay = operator.settings.retry_delay_seconds * (4 if isinstance(error, errors.Forbidden) else 1)
    operator.context.metrics.retries.labels(kind, error.reason).inc()
    raise kopf.TemporaryError(error.message, delay=delay) from error


def resynced(operator: Operator, kind: str, body: common.Body, trigger: str) -> None:
    """A resync pass (blocking): the status is patched through the API and an invalid spec found
    now is reported by an Event; failures wait for the next pass."""
    if not handled(body) or invalid_and_unchanged(body):
        return  # Kopf's change handler has not seen this generation, or it cannot be rendered
    outcome = run(operator, kind, body, trigger)
    api = operator.context.api
    if outcome.changes:
        api.patch_status(body, outcome.changes)
        operator.context.metrics.status_writes.labels(kind, trigger).inc()
    error = outcome.error
    if isinstance(error, errors.InvalidSpec) and outcome.changes:
        api.post_event(body, reason=error.reason, message=error.message)
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


def plain(body: Mapping[str, Any]) -> dict[str, Any]:
    """A plain, private copy of the resource: builders may read it freely."""
    return copy.deepcopy({key: body[key] for key in body})


def handled(body: Mapping[str, Any]) -> bool:
    generation = body.get("metadata", {}).get("generation")
    return bool((body.get("status") or {}).get("observedGeneration") == generation)


def invalid_and_unchanged(body: Mapping[str, Any]) -> bool:
    shown = ready(body)
    return bool(handled(body) and shown.get("status") == "False" and shown.get("reason") in PERMANENT_REASONS)


def ready(body: Mapping[str, Any]) -> Mapping[str, Any]:
    conditions = (body.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == status.READY), {})
