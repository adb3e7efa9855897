"""Who to reconcile now rather than at the next walk of the resync queue: what waits for a
Platform or ModelServer that has just become ready, a Platform with a new DomainService to route
to, and the owner of a Deployment whose readiness its status does not show yet."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from storybang_operator import resync, status
from storybang_operator.handlers import passes
from storybang_operator.handlers.state import Operator

# The status fields that show a kind's Deployment: replicas and ready replicas.
REPLICA_FIELDS: Mapping[str, tuple[str, str]] = {
    "DomainService": ("replicas", "readyReplicas"),
    "Generator": ("workers", "readyWorkers"),
    "ModelServer": ("replicas", "readyReplicas"),
}
# The reasons of a resource that waits for another (a Platform, a ModelServer).
WAITING_REASONS = {"PlatformNotFound", "PlatformNotReady", "BackendNotFound", "BackendNotReady"}


async def resync_key(operator: Operator, key: resync.Key, trigger: str) -> None:
    """The resync queue's callback: one pass over a resource Kopf's index knows, in a thread."""
    body = operator.lookup(key)
    if body is not None:
        await asyncio.to_thread(passes.resynced, operator, key[0], body, trigger)


def ready_for_dependents(kind: str, body: Mapping[str, Any]) -> bool:
    """A Platform once it is Ready; a ModelServer once it reports its model."""
    if kind == "Platform":
        return passes.ready(body).get("status") == "True"
    return kind == "ModelServer" and bool((body.get("status") or {}).get("model"))


def nudge_waiting(operator: Operator, namespace: str) -> None:
    """Reconcile now the resources of a namespace that wait for a dependency (a Platform or a
    ModelServer that has just been reconciled), rather than at their next retry."""
    for kind, index in operator.indices.items():
        for ns, name in list(index):
            body = operator.lookup((kind, ns, name)) if ns == namespace else None
            if body is not None and passes.ready(body).get("reason") in WAITING_REASONS:
                operator.nudge((kind, ns, name), "dependency")


def nudge_platform_of(operator: Operator, service: Mapping[str, Any]) -> None:
    platform = (service.get("spec") or {}).get("platformRef", {}).get("name")
    if platform:
        namespace = str(service["metadata"]["namespace"])
        operator.nudge(("Platform", namespace, str(platform)), "child")


def deployment_differs(owner_kind: str, owner: Mapping[str, Any], live: Mapping[str, Any]) -> bool:
    """Whether a Deployment's readiness is not what its owner's status says yet."""
    readiness = status.deployment_readiness(live)
    ready = passes.ready(owner)
    shown = owner.get("status") or {}
    replicas, ready_replicas = REPLICA_FIELDS[owner_kind]
    return (
        ready.get("status") != ("True" if readiness.ready else "False")
        or ready.get("reason") != readiness.reason
        or shown.get(replicas) != readiness.replicas
        or shown.get(ready_replicas) != readiness.ready_replicas
    )
