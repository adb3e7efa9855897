"""Status from children: conditions in the metav1.Condition shape, readiness of Deployments, and
the difference between the status a resource has and the one it should have (so that a pass that
changes nothing writes nothing)."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from storybang_operator import pods

READY = "Ready"
# The reasons a Deployment's own status gives; a pod's problem (pods.py) is more telling than the
# two that mean "not yet".
DEPLOYMENT_REASONS = {"Progressing", "RolloutStuck", "ScaledToZero", "Available"}
NOT_YET = {"Progressing", "RolloutStuck"}


@dataclasses.dataclass(frozen=True)
class Readiness:
    ready: bool
    reason: str
    message: str
    replicas: int = 0
    ready_replicas: int = 0


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(
    type_: str,
    ok: bool,
    reason: str,
    message: str,
    *,
    generation: int,
    previous: Sequence[Mapping[str, Any]] = (),
    timestamp: str | None = None,
) -> dict[str, Any]:
    """A condition; lastTransitionTime moves only when the status flips, as the convention says."""
    status = "True" if ok else "False"
    before = next((c for c in previous if c.get("type") == type_), None)
    changed = before is None or before.get("status") != status
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
        "lastTransitionTime": (timestamp or now()) if changed else str(before.get("lastTransitionTime")),  # type: ignore[union-attr]
    }


def deployment_readiness(live: Mapping[str, Any] | None) -> Readiness:
    """Whether a Deployment has rolled out: its controller saw the latest spec, every replica is
    updated and available. Zero desired replicas (scaled to zero) counts as ready."""
    if live is None:
        return Readiness(False, "Progressing", "the Deployment does not exist yet")
    spec, st = live.get("spec", {}), live.get("status", {})
    desired = int(spec.get("replicas", 1))
    available = int(st.get("availableReplicas", 0))
    counts = {"replicas": int(st.get("replicas", 0)), "ready_replicas": available}
    if int(st.get("observedGeneration", 0)) < int(live.get("metadata", {}).get("generation", 0)):
        return Readiness(False, "Progressing", "the Deployment controller has not seen the change yet", **counts)
    for cond in st.get("conditions", []):
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return Readiness(False, "RolloutStuck", str(cond.get("message", "")), **counts)
    if desired == 0:
        return Readiness(True, "ScaledToZero", "no replicas wanted", **counts)
    updated = int(st.get("updatedReplicas", 0))
    if updated < desired or available < desired:
        return Readiness(
            False,
            "Progressing",
            f"{available}/{desired} replicas available, {updated} updated",
            **counts,
        )
    return Readiness(True, "Available", f"{available}/{desired} replicas available", **counts)


def with_pods(readiness: Readiness, problem: pods.Problem | None) -> Readiness:
    """A Deployment's readiness, told by its pods' problem where it only says "not yet"."""
    if problem is None or readiness.reason not in NOT_YET:
        return readiness
    return dataclasses.replace(readiness, reason=problem.reason, message=problem.message)


def changes(current: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> dict[str, Any]:
    """The status fields whose values differ; an empty dict means no write is needed."""
    current = current or {}
    return {k: v for k, v in desired.items() if current.get(k) != v}
