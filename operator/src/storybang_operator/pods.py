"""Why a workload's pods are not ready, read from their status as the scheduler and the kubelet
write it: a pure function of the pods (and, for volumes, of their Events), so that Ready says
`ImagePullBackOff` or `Unschedulable` rather than a Deployment's bare `Progressing`.

What is read, most telling first:

- a container waiting for a reason other than being created (`ImagePullBackOff`, `ErrImagePull`,
  `CrashLoopBackOff` with the last exit's reason and code, `CreateContainerConfigError` for a
  missing Secret or key, ...): the kubelet's reason and message;
- `PodScheduled=False` (`Unschedulable`): the scheduler's message ("Insufficient
  nvidia.com/gpu"); `VolumePending` when it waits for an unbound PersistentVolumeClaim;
- a pod that waits to be created while its volume cannot be attached or mounted: the Warning
  Event of the attach/detach controller or the kubelet (`VolumeMultiAttach` for a ReadWriteOnce
  volume still attached to another node, else `FailedAttachVolume` or `FailedMount`);
- a model server whose container runs but is not ready yet, within its startup window:
  `Loading` (it downloads or loads its model), or `Downloading` (:func:`downloading`) where
  `storybang inference` exports the bytes it has downloaded and the Platform's Prometheus has
  them (the figure is `status.downloadedBytes`; vLLM exports none).

Messages carry no counters (restart counts, ages, back-off delays): a pod that keeps failing the
same way rewrites the status only when the kubelet's own words change.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Pod = Mapping[str, Any]

# A container waiting for these is on its way: nothing to report.
ROUTINE_WAITING = {"ContainerCreating", "PodInitializing"}
# The kubelet alternates between these two while it backs off: one reason, not a flapping column.
IMAGE_PULL = {"ErrImagePull", "ImagePullBackOff"}
# The scheduler's words for a pod whose PersistentVolumeClaim is not bound (volumebinding plugin).
UNBOUND_CLAIMS = "unbound immediate PersistentVolumeClaims"
# Warning Events about a pod's volumes, from the attach/detach controller and the kubelet.
VOLUME_EVENTS = ("FailedAttachVolume", "FailedMount")
MULTI_ATTACH = "Multi-Attach error"
# Condition messages stay short enough to read in `kubectl describe`.
MESSAGE_LIMIT = 500

LOADING_REASON, DOWNLOADING_REASON = "Loading", "Downloading"
# What a Downloading message adds to a Loading one: where the figure is (messages carry none).
DOWNLOADED_NOTE = "; status.downloadedBytes shows how much of it is on disk"
# Ranks: the lower, the more a person should hear about it first.
CONTAINER, SCHEDULING, VOLUME, LOADING = range(4)


@dataclasses.dataclass(frozen=True)
class Problem:
    reason: str
    message: str
    rank: int


def diagnose(
    pods: Iterable[Pod], *, loading_seconds: float | None = None, now: datetime.datetime | None = None
) -> Problem | None:
    """The most telling problem among the pods (by name within a rank, so that the same pods
    always give the same answer), or None. `loading_seconds` is a model server's startup window:
    a container running but not ready within it is `Loading`."""
    found = [
        p
        for pod in sorted(pods, key=_name)
        if (p := pod_problem(pod, loading_seconds=loading_seconds, now=now)) is not None
    ]
    return min(found, key=lambda p: p.rank, default=None)


def pod_problem(
    pod: Pod, *, loading_seconds: float | None = None, now: datetime.datetime | None = None
) -> Problem | None:
    """What keeps one pod from being ready, as far as its own status says."""
    meta, st = pod.get("metadata") or {}, pod.get("status") or {}
    if meta.get("deletionTimestamp"):
        return None  # going away; its successor is the one to read
    prefix = f"pod {_name(pod)}: "
    containers: Sequence[Mapping[str, Any]] = [
        *(st.get("initContainerStatuses") or []),
        *(st.get("containerStatuses") or []),
    ]
    for container in containers:
        problem = _waiting(container)
        if problem is not None:
            return Problem(problem.reason, _short(prefix + problem.message), problem.rank)
    scheduled = _condition(st, "PodScheduled")
    if scheduled.get("status") == "False":
        message = str(scheduled.get("message") or "it cannot be scheduled")
        reason = "VolumePending" if UNBOUND_CLAIMS in message else str(scheduled.get("reason") or "Unschedulable")
        return Problem(reason, _short(prefix + message), SCHEDULING)
    if loading_seconds is not None:
        for container in st.get("containerStatuses") or []:
            started = ((container.get("state") or {}).get("running") or {}).get("startedAt")
            if started and not container.get("ready") and _within(started, loading_seconds, now):
                name = container.get("name")
                message = f"container {name} started at {started} and is downloading or loading its model"
                return Problem(LOADING_REASON, _short(prefix + message), LOADING)
    return None


def downloading(problem: Problem) -> Problem:
    """A model server's `Loading` said as `Downloading`, for a server that reports the bytes it has
    downloaded (any other problem as it is)."""
    if problem.reason != LOADING_REASON:
        return problem
    return Problem(DOWNLOADING_REASON, _short(problem.message + DOWNLOADED_NOTE), problem.rank)


def waits_for_volumes(pod: Pod) -> bool:
    """Whether a scheduled pod's containers are still being created: where a volume that cannot
    be attached or mounted shows, in the pod's Events only."""
    st = pod.get("status") or {}
    if (pod.get("metadata") or {}).get("deletionTimestamp") or _condition(st, "PodScheduled").get("status") != "True":
        return False
    statuses = [*(st.get("initContainerStatuses") or []), *(st.get("containerStatuses") or [])]
    waiting = [((c.get("state") or {}).get("waiting") or {}).get("reason") for c in statuses]
    return not statuses or any(reason in ROUTINE_WAITING for reason in waiting)


def volume_problem(pod: Pod, events: Iterable[Mapping[str, Any]]) -> Problem | None:
    """The latest Warning Event about a pod's volumes, as a problem."""
    relevant = [e for e in events if e.get("type") == "Warning" and e.get("reason") in VOLUME_EVENTS]
    if not relevant:
        return None
    latest = max(relevant, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
    message = str(latest.get("message") or "")
    reason = "VolumeMultiAttach" if MULTI_ATTACH in message else str(latest["reason"])
    return Problem(reason, _short(f"pod {_name(pod)}: {message}"), VOLUME)


def _waiting(container: Mapping[str, Any]) -> Problem | None:
    name = container.get("name")
    waiting = (container.get("state") or {}).get("waiting") or {}
    reason = waiting.get("reason")
    if not reason or reason in ROUTINE_WAITING:
        return None
    kubelet = str(waiting.get("message") or "").strip()
    if reason == "CrashLoopBackOff":
        last = (container.get("lastState") or {}).get("terminated") or {}
        message = f"container {name} keeps exiting"
        if last:
            message += f"; last exit: {last.get('reason') or 'Error'} (exit code {last.get('exitCode')})"
            if last.get("message"):
                message += f": {str(last['message']).strip()}"
        return Problem("CrashLoopBackOff", message, CONTAINER)
    if reason in IMAGE_PULL:
        reason = "ImagePullBackOff"
    return Problem(str(reason), f"container {name}: {kubelet or reason}", CONTAINER)


def _condition(st: Mapping[str, Any], type_: str) -> Mapping[str, Any]:
    return next((c for c in st.get("conditions") or [] if c.get("type") == type_), {})


def _within(started: str, seconds: float, now: datetime.datetime | None) -> bool:
    try:
        since = datetime.datetime.fromisoformat(started.replace("Z", "+00:00"))
    except ValueError:
        return False
    return ((now or datetime.datetime.now(datetime.UTC)) - since).total_seconds() <= seconds


def _name(pod: Pod) -> str:
    return str((pod.get("metadata") or {}).get("name", ""))


def _short(message: str) -> str:
    return message if len(message) <= MESSAGE_LIMIT else message[: MESSAGE_LIMIT - 1] + "…"
