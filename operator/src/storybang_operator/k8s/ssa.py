"""Server-side apply, the operator's way: one field manager, a comparison that tells whether an
apply would change anything, and the hand-over of a Deployment's replica count to an autoscaler.
Pure functions of the objects; `api.py` makes the requests."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

FIELD_MANAGER = "storybang-operator"
# The field manager that holds a Deployment's replica count for a moment when an autoscaler takes
# it over ("Transferring ownership" in the server-side apply documentation).
HANDOVER_MANAGER = "storybang-operator-handover"
APPLY_CONTENT_TYPE = "application/apply-patch+yaml"


def comparable(obj: Mapping[str, Any]) -> dict[str, Any]:
    """An object without the fields that change on every write or read: what is left differs
    only when an apply would really change something. Of the managed fields only the operator's
    own entry counts: a controller writing status between the read and the dry run (as the HPA
    controller does) adds an entry of its own, which no apply of ours would change."""
    out = copy.deepcopy(dict(obj))
    out.pop("status", None)
    meta = out.get("metadata", {})
    for key in ("resourceVersion", "generation"):
        meta.pop(key, None)
    ours = [e for e in meta.get("managedFields", []) or [] if e.get("manager") == FIELD_MANAGER]
    for entry in ours:
        entry.pop("time", None)
    meta["managedFields"] = ours
    return out


def hands_over_replicas(manifest: Mapping[str, Any], live: Mapping[str, Any]) -> bool:
    """Whether applying `manifest` would drop the replica count the operator applied before
    (the manifest has none now, and the operator's apply entry owns the live one)."""
    if manifest.get("kind") != "Deployment" or "replicas" in (manifest.get("spec") or {}):
        return False
    if (live.get("spec") or {}).get("replicas") is None:
        return False
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == FIELD_MANAGER and entry.get("operation") == "Apply":
            owned = (entry.get("fieldsV1") or {}).get("f:spec") or {}
            if "f:replicas" in owned:
                return True
    return False
