"""The operator's state: one object, made by the start-up handler and handed to every handler
through Kopf's memo (`memo["operator"]`). Tests build one with what they need."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import kopf

from storybang_operator import reconcile, resync
from storybang_operator.builders import common
from storybang_operator.settings import OperatorSettings

MEMO_KEY = "operator"
Reconciler = Callable[[reconcile.Context, common.Body], dict[str, Any]]
Index = kopf.Index[tuple[str, str], dict[str, Any]]
# Posts a Warning Event about a resource: kopf.warn(body, reason=…, message=…).
Warn = Callable[..., None]

RECONCILERS: Mapping[str, Reconciler] = {
    "Platform": reconcile.reconcile_platform,
    "DomainService": reconcile.reconcile_domain_service,
    "Generator": reconcile.reconcile_generator,
    "ModelServer": reconcile.reconcile_model_server,
}


@dataclasses.dataclass
class Operator:
    """The connections and settings of a pass (`context`), the reconciler of each kind, Kopf's
    indexes of the resources (filled as Kopf sees them), the resync queue (once started), the
    Secrets each resource's last pass found missing (or missing a key), the task that follows
    them and the one that wakes model servers scaled to zero (once started)."""

    context: reconcile.Context
    reconcilers: dict[str, Reconciler] = dataclasses.field(default_factory=lambda: dict(RECONCILERS))
    warn: Warn = kopf.warn
    indices: Mapping[str, Index] = dataclasses.field(default_factory=dict)
    queue: resync.ResyncQueue | None = None
    secrets: asyncio.Task[None] | None = None
    wakeups: asyncio.Task[None] | None = None
    missing_secrets: dict[resync.Key, frozenset[tuple[str, str]]] = dataclasses.field(default_factory=dict)

    @property
    def settings(self) -> OperatorSettings:
        return self.context.settings

    def known_keys(self) -> list[resync.Key]:
        return [(kind, ns, name) for kind, index in self.indices.items() for ns, name in list(index)]

    def lookup(self, key: resync.Key) -> dict[str, Any] | None:
        """The resource as Kopf's index last saw it."""
        kind, namespace, name = key
        index = self.indices.get(kind)
        found = index.get((namespace, name)) if index is not None else None
        return next(iter(found), None) if found else None

    def waits_for_secrets(self, key: resync.Key, secrets: Iterable[tuple[str, str]]) -> None:
        """Record what `key`'s last pass found missing: (namespace, name) of each Secret."""
        found = frozenset(secrets)
        if found:
            self.missing_secrets[key] = found
        else:
            self.missing_secrets.pop(key, None)

    def nudge(self, key: resync.Key, trigger: str) -> None:
        """Reconcile `key` now rather than at the next walk; with peering, Kopf's timers do the
        resyncing and there is no queue to nudge."""
        if self.queue is not None and not self.settings.peering:
            self.queue.nudge(key, trigger)


def of(memo: Mapping[str, Any]) -> Operator:
    """The operator of a handler's memo. Kopf runs the start-up handlers before any other, so it
    is there; a handler that runs before it is retried."""
    operator = memo.get(MEMO_KEY)
    if not isinstance(operator, Operator):
        raise kopf.TemporaryError("the operator is still starting", delay=5)
    return operator
