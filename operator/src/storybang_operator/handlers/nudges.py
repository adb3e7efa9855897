"""Who to reconcile now rather than at the next walk of the resync queue: what waits for a
Platform or ModelServer that has just become ready, a Platform with a new DomainService to route
to, the owner of a Deployment or pod whose readiness its status does not show yet, what waits
for a Secret that has just changed, and a model server at zero replicas for which a job has just
been queued."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from storybang_operator import errors, pods, queue, resync, status
from storybang_operator.builders import common, domainservice, generator, modelserver
from storybang_operator.handlers import passes
from storybang_operator.handlers.state import Operator

# The status fields that show a kind's Deployment: replicas and ready replicas.
REPLICA_FIELDS: Mapping[str, tuple[str, str]] = {
    "DomainService": ("replicas", "readyReplicas"),
    "Generator": ("workers", "readyWorkers"),
    "ModelServer": ("replicas", "readyReplicas"),
}
# The kind whose pods carry each component label.
POD_OWNERS: Mapping[str, str] = {
    domainservice.COMPONENT: "DomainService",
    generator.COMPONENT: "Generator",
    modelserver.COMPONENT: "ModelServer",
}
# The reasons of a resource that waits for another (a Platform, a ModelServer).
WAITING_REASONS = {"PlatformNotFound", "PlatformNotReady", "BackendNotFound", "BackendNotReady"}
logger = logging.getLogger(__name__)


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
    # A reason read from the pods (ImagePullBackOff, ...) is what "not yet" is while it lasts.
    told_by_pods = not readiness.ready and readiness.reason in status.NOT_YET and not shown_by_deployment(ready)
    return (
        ready.get("status") != ("True" if readiness.ready else "False")
        or (ready.get("reason") != readiness.reason and not told_by_pods)
        or shown.get(replicas) != readiness.replicas
        or shown.get(ready_replicas) != readiness.ready_replicas
    )


def shown_by_deployment(ready: Mapping[str, Any]) -> bool:
    return ready.get("reason") in status.DEPLOYMENT_REASONS


def owner_of_pod(pod: Mapping[str, Any]) -> resync.Key | None:
    """The resource whose Deployment runs a pod, from the pod's labels (its owner reference
    names a ReplicaSet)."""
    meta = pod.get("metadata") or {}
    labels = meta.get("labels") or {}
    kind = POD_OWNERS.get(str(labels.get(common.COMPONENT_LABEL)))
    name = labels.get(common.INSTANCE_LABEL)
    if kind is None or not name or labels.get(common.NAME_LABEL) != common.PART_OF:
        return None
    return kind, str(meta.get("namespace")), str(name)


def pod_differs(owner_kind: str, owner: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    """Whether a pod tells something its owner's Ready does not say: a problem of its own, or
    none while Ready shows a pod's problem (which may have passed)."""
    loading = modelserver.STARTUP_WINDOW_SECONDS if owner_kind == "ModelServer" else None
    problem = pods.diagnose([pod], loading_seconds=loading)
    ready = passes.ready(owner)
    if problem is not None and (owner.get("status") or {}).get("downloadedBytes") is not None:
        problem = pods.downloading(problem)
    if problem is None:
        return ready.get("status") == "False" and not shown_by_deployment(ready)
    return (ready.get("reason"), ready.get("message")) != (problem.reason, problem.message)


def waited_secrets(operator: Operator) -> dict[tuple[str, str], list[resync.Key]]:
    """The Secrets that resources wait for, by (namespace, name), and who waits for each: what
    each resource's last pass found missing (`Operator.missing_secrets`; a resource that is gone
    waits for nothing)."""
    waited: dict[tuple[str, str], list[resync.Key]] = {}
    for key, secrets in list(operator.missing_secrets.items()):
        if operator.lookup(key) is None:
            operator.missing_secrets.pop(key, None)
            continue
        for secret in sorted(secrets):
            waited.setdefault(secret, []).append(key)
    return waited


async def follow_secrets(operator: Operator, interval: float) -> None:
    """Reconcile what waits for a Secret as soon as that Secret changes, rather than at the next
    resync: every `interval`, each Secret waited for is read by name, metadata only (its
    resourceVersion: the operator's RBAC on Secrets is `get`, and a watch would need `list`,
    which RBAC cannot limit to metadata). A Secret newly waited for nudges its waiters once too,
    in case it changed between their pass and the first look; a pass that meets the same refusal
    writes nothing. Nothing is read while nothing waits."""
    seen: dict[tuple[str, str], str | None] = {}
    while True:
        await asyncio.sleep(interval)
        waited = waited_secrets(operator)
        seen = {secret: version for secret, version in seen.items() if secret in waited}
        for (namespace, name), keys in waited.items():
            try:
                found = await asyncio.to_thread(operator.context.api.metadata, "v1", "Secret", namespace, name)
            except errors.OperatorError as e:
                logger.warning("Secret %s/%s could not be read: %s", namespace, name, e.message)
                continue
            version = None if found is None else str(found["metadata"].get("resourceVersion"))
            if (namespace, name) not in seen or seen[(namespace, name)] != version:
                for key in keys:
                    operator.nudge(key, "secret")
            seen[(namespace, name)] = version


async def follow_wakeups(operator: Operator, interval: float) -> None:
    """Reconcile a model server scaled to zero as soon as a job is queued for it, rather than at
    its next pass: one Pub/Sub connection per Redis that a sleeping server's queues live in,
    listening for the announcement each enqueue makes (`sleepers`). Every `interval` the set of
    connections follows what the passes recorded (a server that is gone is forgotten); nothing
    listens while no server sleeps."""
    sleepers = operator.context.sleepers
    listening: dict[str, tuple[frozenset[str], asyncio.Task[None]]] = {}

    def woken(url: str) -> queue.OnMessage:
        def on_message(channel: str, queue_name: str) -> None:
            for namespace, name in sleepers.woken(url, channel, queue_name):
                operator.nudge(("ModelServer", namespace, name), "job")

        return on_message

    try:
        while True:
            for namespace, name in sleepers.servers():
                if operator.lookup(("ModelServer", namespace, name)) is None:
                    sleepers.awake((namespace, name))
            wanted = sleepers.channels()
            for url, (channels, task) in list(listening.items()):
                if wanted.get(url) != channels:
                    task.cancel()
                    del listening[url]
            for url, channels in wanted.items():
                if url not in listening:
                    timeout = operator.settings.redis_timeout_seconds
                    task = asyncio.create_task(queue.listen(url, channels, woken(url), connect_timeout=timeout))
                    listening[url] = (channels, task)
            await asyncio.sleep(interval)
    finally:
        for _, task in listening.values():
            task.cancel()
        await asyncio.gather(*(task for _, task in listening.values()), return_exceptions=True)
