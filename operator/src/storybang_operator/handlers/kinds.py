"""Kopf registrations: for each kind a change handler (create, update, resume) and an index;
an index of our Deployments and one of their pods; and, with peering only, a resync timer per kind (registered at
start-up, when the settings say whether peering is on).

Kopf's `labels=` filter is applied to what a watch has already received: the watches of
Deployments and pods are also given `common.MANAGED_SELECTOR` as a server-side label selector
(`lifecycle.configure_kopf`), so that the API server sends the operator its own children only,
not every Deployment and pod of the cluster."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import kopf

from storybang_operator.builders import common
from storybang_operator.handlers import nudges, passes, state
from storybang_operator.settings import OperatorSettings

# The (group, version, plural) watched for our children only; their indexes follow.
DEPLOYMENTS = ("apps", "v1", "deployments")
PODS = ("", "v1", "pods")
LABELLED = (DEPLOYMENTS, PODS)
PLURALS: Mapping[str, str] = {
    "Platform": "platforms",
    "DomainService": "domainservices",
    "Generator": "generators",
    "ModelServer": "modelservers",
}


def snake(kind: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in kind).lstrip("_")


def index_id(kind: str) -> str:
    """The id of a kind's index, which is also the keyword handlers receive it by."""
    return f"{snake(kind)}s"


def _register(kind: str) -> Callable[..., None]:
    """Change handlers and an index for one kind; returns its resync timer's function."""
    plural = PLURALS[kind]

    def changed(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
        passes.changed(state.of(memo), kind, body, patch)

    async def index(body: kopf.Body, namespace: str | None, name: str, memo: kopf.Memo, **_: Any) -> dict[Any, Any]:
        operator = state.of(memo)
        plain = passes.plain(body)
        if namespace and nudges.ready_for_dependents(kind, plain):
            nudges.nudge_waiting(operator, namespace)
        if namespace and kind == "DomainService" and operator.lookup((kind, namespace, name)) is None:
            nudges.nudge_platform_of(operator, plain)  # a new API: the Platform routes to it
        return {(namespace, name): plain}

    def resynced(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
        passes.resynced(state.of(memo), kind, passes.plain(body), "resync")

    for on in (kopf.on.resume, kopf.on.create, kopf.on.update):
        on(common.GROUP, common.VERSION, plural, id=f"{snake(kind)}_changed")(changed)
    kopf.index(common.GROUP, common.VERSION, plural, id=index_id(kind))(index)
    return resynced


_RESYNCED = {kind: _register(kind) for kind in PLURALS}


def register_timers(settings: OperatorSettings, registry: kopf.OperatorRegistry | None = None) -> None:
    """With peering, the periodic pass is a Kopf timer per kind: only Kopf's own handlers know
    when this replica is paused. Registering twice (a second operator in one process) is
    harmless: Kopf runs a function registered twice under one id once."""
    for kind, resynced in _RESYNCED.items():
        kopf.timer(
            common.GROUP,
            common.VERSION,
            PLURALS[kind],
            id=f"{snake(kind)}_resync",
            interval=settings.resync_seconds,
            initial_delay=settings.resync_initial_delay_seconds,
            registry=registry,
        )(resynced)


@kopf.index(*DEPLOYMENTS, labels={common.MANAGED_BY_LABEL: common.MANAGED_BY})
async def deployments(body: kopf.Body, memo: kopf.Memo, **_: Any) -> dict[Any, Any]:
    """Every change of a Deployment of ours: reconcile its owner now if its status is behind.

    An index rather than an event handler because Kopf logs every event handler's success at
    the info level, and Deployments change on every pod that comes and goes."""
    owner = next(
        (
            ref
            for ref in body.metadata.get("ownerReferences", [])
            if ref.get("controller") and ref.get("kind") in nudges.REPLICA_FIELDS
        ),
        None,
    )
    if owner is None:
        return {}
    operator = state.of(memo)
    key = (str(owner["kind"]), str(body.metadata.namespace), str(owner["name"]))
    known = operator.lookup(key)
    if known is not None and nudges.deployment_differs(key[0], known, body):
        operator.nudge(key, "child")
    return {key: body.metadata.name}


@kopf.index("v1", "pods", labels={common.MANAGED_BY_LABEL: common.MANAGED_BY})
async def pods(body: kopf.Body, memo: kopf.Memo, **_: Any) -> dict[Any, Any]:
    """Every change of a pod of ours: reconcile its owner now if the pod tells why it is not
    ready (an image that cannot be pulled, a crash loop, no node with a free GPU) and its
    owner's status does not say it yet. Such changes leave the Deployment's status as it was,
    so the Deployments' index does not see them."""
    key = nudges.owner_of_pod(body)
    if key is None:
        return {}
    operator = state.of(memo)
    known = operator.lookup(key)
    if known is not None and nudges.pod_differs(key[0], known, body):
        operator.nudge(key, "child")
    return {key: body.metadata.name}
