"""Checks every builder test applies to the pods it renders."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from storybang_testing.pod_security import violations


def by_kind(manifests: Sequence[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in manifests if m["kind"] == kind]


def one(manifests: Sequence[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = by_kind(manifests, kind)
    assert len(found) == 1, f"{len(found)} {kind}s"
    return found[0]


def pod_specs(manifests: Sequence[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for m in manifests:
        if m["kind"] == "Deployment":
            yield m["spec"]["template"]["spec"]


def assert_restricted(pod: dict[str, Any]) -> None:
    """Pod Security Standard "restricted" (the checks of storybang_testing.pod_security, which the
    chart's tests apply too), and StoryBang's own rules on top: exactly these security contexts, a
    read-only root with a writable /tmp, probes and resources on every container."""
    assert violations(pod) == []
    security = pod["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    volumes = {v["name"]: v for v in pod["volumes"]}
    for container in pod.get("initContainers", []):
        assert container["securityContext"] == pod["containers"][0]["securityContext"]
    for container in pod["containers"]:
        sc = container["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["runAsNonRoot"] is True
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert "emptyDir" in volumes[mounts["/tmp"]]
        assert container["livenessProbe"]["httpGet"]["path"]
        assert container["readinessProbe"]["httpGet"]["path"]
        assert container["resources"].get("requests") or container["resources"].get("limits")


def assert_owned(manifests: Sequence[dict[str, Any]], owner: dict[str, Any]) -> None:
    """Every child is controlled by its owner and carries the labels pruning relies on."""
    for m in manifests:
        meta = m["metadata"]
        assert meta["namespace"] == owner["metadata"]["namespace"]
        [ref] = meta["ownerReferences"]
        assert ref == {
            "apiVersion": "storybang.io/v1alpha1",
            "kind": owner["kind"],
            "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
        assert meta["labels"]["app.kubernetes.io/managed-by"] == "storybang-operator"
        assert meta["labels"]["storybang.io/owner-uid"] == owner["metadata"]["uid"]


def env_names(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}
