"""The Kubernetes API client: requests, server-side apply, pruning, status and Events."""

from __future__ import annotations

import base64
import contextlib
import contextvars
import dataclasses
import datetime
import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import kubernetes
import urllib3

from storybang_operator import errors
from storybang_operator.k8s.paths import kind_of
from storybang_operator.k8s.ssa import (
    APPLY_CONTENT_TYPE,
    FIELD_MANAGER,
    HANDOVER_MANAGER,
    comparable,
    hands_over_replicas,
)

# How the API server words a refusal by an admission webhook or a ValidatingAdmissionPolicy
# (apiserver's admission/plugin/webhook/errors and validating policy dispatcher): a 403 like RBAC's.
DENIALS = ("denied the request", "denied request")
# What the API server sends instead of an object when asked for this: its metadata only (a
# Secret's name, labels and resourceVersion, not its data).
METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
# How many owners' last prunes are remembered before they are all forgotten (see Api.prune).
PRUNED_REMEMBERED = 100_000
# The Secrets that read_secret found missing, or missing the key asked for, during the pass that
# records them (`refused_secrets`): (namespace, name) pairs, or None outside such a pass.
_REFUSED_SECRETS: contextvars.ContextVar[set[tuple[str, str]] | None] = contextvars.ContextVar(
    "storybang_refused_secrets", default=None
)
logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Credentials:
    server: str
    ca_path: str | None
    insecure: bool
    username: str | None
    password: str | None
    scheme: str | None  # of the Authorization header, e.g. Bearer
    token: str | None
    certificate_path: str | None
    private_key_path: str | None


class Api:
    """A thin, typed layer over the official client's REST transport."""

    def __init__(self, client: Any, *, timeout: float, crd_cache_seconds: float = 300.0) -> None:
        self._client = client
        self._timeout = timeout
        self._crd_cache_seconds = crd_cache_seconds
        self._crd_cache: dict[str, tuple[float, bool]] = {}
        self._lock = threading.Lock()
        # What each owner's last complete prune kept, by owner uid, and how many times each owner's
        # children were written (see `prune`).
        self._pruned: dict[str, frozenset[tuple[str, ...]]] = {}
        self._child_writes: dict[str, int] = {}

    @classmethod
    def connect(cls, *, kubeconfig: str | None, timeout: float, crd_cache_seconds: float) -> Api:
        """In a pod, the service account; elsewhere (tests, a laptop), the kubeconfig file(s)
        given (`KUBECONFIG`), else ~/.kube/config. The configuration is this object's own: the
        client library's process-wide default is neither read nor changed."""
        config = kubernetes.client.Configuration()
        try:
            kubernetes.config.load_incluster_config(client_configuration=config)  # type: ignore[no-untyped-call]
        except kubernetes.config.ConfigException:
            kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig or "~/.kube/config", client_configuration=config
            )
        return cls(
            kubernetes.client.ApiClient(configuration=config),
            timeout=timeout,
            crd_cache_seconds=crd_cache_seconds,
        )

    def credentials(self) -> Credentials:
        """Who this client is, for Kopf's own connection (its watches, status patches and
        Events): the same identity as the operator's requests, read as Kopf's own
        `login_via_client` reads the client library's configuration."""
        config = self._client.configuration
        # A service account's token is re-read from its file by this call when it is due.
        header = config.get_api_key_with_prefix("BearerToken") or config.get_api_key_with_prefix("authorization")
        scheme, _, token = (header or "").rpartition(" ")
        return Credentials(
            server=str(config.host),
            ca_path=config.ssl_ca_cert,
            insecure=not config.verify_ssl,
            username=config.username or None,
            password=config.password or None,
            scheme=scheme or None,
            token=token or None,
            certificate_path=config.cert_file,
            private_key_path=config.key_file,
        )

    # --- transport -------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: Iterable[tuple[str, str]] = (),
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> Any:
        """One request; the decoded JSON answer, or None for 404."""
        headers = {"Accept": accept, "Content-Type": content_type}
        try:
            request = self._client.param_serialize(
                method,
                path,
                query_params=list(query),
                header_params=headers,
                body=body,
                auth_settings=["BearerToken"],
            )
            response = self._client.call_api(*request, _request_timeout=self._timeout)
            raw = response.read()
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise errors.ApiError(f"{method} {path}: {e}") from e
        except kubernetes.client.exceptions.ApiException as e:
            raise errors.ApiError(f"{method} {path}: {e.reason}", status=e.status or 0) from e
        status = int(response.status)
        if status == 404:
            return None
        if 200 <= status < 300:
            return json.loads(raw) if raw else {}
        message = _status_message(raw) or str(response.reason)
        text = f"{method} {path}: {status} {message}"
        if status in (400, 422):
            raise errors.InvalidSpec(f"the API server rejected a child: {message}", reason="Rejected")
        if status == 403 and any(d in message for d in DENIALS):
            raise errors.Denied(f"{method} {path}: {message}", status=status)
        if status in (401, 403):
            raise errors.Forbidden(text, status=status)
        raise errors.ApiError(text, status=status)

    # --- reads -----------------------------------------------------------------------------

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> Any:
        return self._request("GET", kind_of(api_version, kind).path(namespace, name))

    def list_objects(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        *,
        selector: str | None = None,
        fields: str | None = None,
    ) -> list[dict[str, Any]]:
        """Objects of a kind in a namespace, by label `selector` and field selector `fields`;
        empty when the kind is not installed."""
        query = [("labelSelector", selector)] if selector else []
        query += [("fieldSelector", fields)] if fields else []
        found = self._request("GET", kind_of(api_version, kind).path(namespace), query=query)
        return list(found.get("items", [])) if found else []

    def metadata(self, api_version: str, kind: str, namespace: str | None, name: str) -> Any:
        """An object's metadata alone (a PartialObjectMetadata), None when there is none."""
        return self._request("GET", kind_of(api_version, kind).path(namespace, name), accept=METADATA)

    def read_secret(self, namespace: str, name: str, key: str) -> str:
        secret = self.get("v1", "Secret", namespace, name)
        if secret is None:
            _refused(namespace, name)
            raise errors.DependencyNotReady(f"Secret {name} does not exist", reason="SecretNotFound")
        value = (secret.get("data") or {}).get(key)
        if value is None:
            _refused(namespace, name)
            raise errors.DependencyNotReady(f"Secret {name} has no key {key}", reason="SecretKeyNotFound")
        return base64.b64decode(value).decode()

    def crd_exists(self, name: str) -> bool:
        """Whether a CustomResourceDefinition is installed (cached: CRDs rarely come and go)."""
        now = time.monotonic()
        with self._lock:
            cached = self._crd_cache.get(name)
        if cached is not None and now - cached[0] < self._crd_cache_seconds:
            return cached[1]
        found = self.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, name)
        with self._lock:
            self._crd_cache[name] = (now, found is not None)
        return found is not None

    def group_served(self, group: str) -> bool:
        """Whether the API server serves an API group now (discovery, which every authenticated
        client may read; cached like CRDs). An aggregated API whose server is down is not."""
        key = f"group:{group}"
        now = time.monotonic()
        with self._lock:
            cached = self._crd_cache.get(key)
        if cached is not None and now - cached[0] < self._crd_cache_seconds:
            return cached[1]
        try:
            served = self._request("GET", f"/apis/{group}") is not None
        except errors.ApiError as e:
            if e.status != 503:  # 503: registered, its server unavailable
                raise
            served = False
        with self._lock:
            self._crd_cache[key] = (now, served)
        return served

    # --- writes ----------------------------------------------------------------------------

    def apply(self, manifest: Mapping[str, Any], *, dry_run: bool = False) -> Any:
        kind = kind_of(str(manifest["apiVersion"]), str(manifest["kind"]))
        meta = manifest["metadata"]
        query = [("fieldManager", FIELD_MANAGER), ("force", "true")]
        if dry_run:
            query.append(("dryRun", "All"))
        return self._request(
            "PATCH",
            kind.path(meta.get("namespace"), meta["name"]),
            query=query,
            body=dict(manifest),
            content_type=APPLY_CONTENT_TYPE,
        )

    def ensure(self, manifest: Mapping[str, Any], *, owner_uid: str | None = None) -> tuple[bool, dict[str, Any]]:
        """Make the live object match the manifest; (whether anything was written, the object).

        A converged object costs a read and a dry-run apply, and no write. `owner_uid`: the object
        is a child of that owner, whose next prune then lists its children again (see `prune`)."""
        meta = manifest["metadata"]
        live = self.get(str(manifest["apiVersion"]), str(manifest["kind"]), meta.get("namespace"), meta["name"])
        if live is not None and hands_over_replicas(manifest, live):
            logger.info("handing over the replicas of %s/%s", meta.get("namespace"), meta["name"])
            self._hand_over_replicas(manifest, live)
        if live is not None:
            preview = self.apply(manifest, dry_run=True)
            if comparable(preview) == comparable(live):
                return False, dict(live)
        logger.info("applying %s %s/%s", manifest["kind"], meta.get("namespace"), meta["name"])
        applied = dict(self.apply(manifest))
        if owner_uid is not None:
            self._child_writes[owner_uid] = self._child_writes.get(owner_uid, 0) + 1
            self._pruned.pop(owner_uid, None)
        return True, applied

    def _hand_over_replicas(self, manifest: Mapping[str, Any], live: Mapping[str, Any]) -> None:
        """Keep the live replica count when the operator stops applying it: another field
        manager applies the same count first, so that the field stays (with a co-owner) instead
        of being removed and defaulted to 1 when the operator's apply leaves it out. The
        autoscaler then changes it, and that manager's claim lapses."""
        meta = manifest["metadata"]
        only_replicas = {
            "apiVersion": manifest["apiVersion"],
            "kind": manifest["kind"],
            "metadata": {"name": meta["name"], "namespace": meta.get("namespace")},
            "spec": {"replicas": live["spec"]["replicas"]},
        }
        kind = kind_of(str(manifest["apiVersion"]), str(manifest["kind"]))
        self._request(
            "PATCH",
            kind.path(meta.get("namespace"), meta["name"]),
            query=[("fieldManager", HANDOVER_MANAGER), ("force", "true")],
            body=only_replicas,
            content_type=APPLY_CONTENT_TYPE,
        )

    def patch_status(self, owner: Mapping[str, Any], fields: Mapping[str, Any]) -> None:
        """Merge `fields` into a resource's status (the status subresource; lists are replaced)."""
        meta = owner["metadata"]
        path = kind_of(str(owner["apiVersion"]), str(owner["kind"])).path(meta["namespace"], meta["name"])
        self._request(
            "PATCH",
            f"{path}/status",
            body={"status": dict(fields)},
            content_type="application/merge-patch+json",
        )

    def post_event(self, owner: Mapping[str, Any], *, reason: str, message: str) -> None:
        """A Warning Event about a resource, as Kopf posts them from the handlers."""
        meta = owner["metadata"]
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
            "involvedObject": {
                "apiVersion": owner["apiVersion"],
                "kind": owner["kind"],
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
            },
            "type": "Warning",
            "reason": reason,
            # The API server refuses longer messages.
            "message": message[:1024],
            "source": {"component": FIELD_MANAGER},
            "reportingComponent": FIELD_MANAGER,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        self._request("POST", kind_of("v1", "Event").path(meta["namespace"]), body=event)

    def delete(self, api_version: str, kind: str, namespace: str, name: str, uid: str) -> None:
        """Delete one object, only if it is still the one seen (uid precondition)."""
        body = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "preconditions": {"uid": uid},
            "propagationPolicy": "Background",
        }
        self._request("DELETE", kind_of(api_version, kind).path(namespace, name), body=body)

    def prune(
        self,
        owner_uid: str,
        namespace: str,
        kinds: Iterable[tuple[str, str]],
        keep: Iterable[Mapping[str, Any]],
    ) -> list[str]:
        """Delete the owner's children of these kinds that are not in `keep` (e.g. the HPA after
        autoscaling was turned off). Children are found by the owner-uid label and confirmed by
        their owner reference, so nothing else is ever deleted.

        Only the operator makes an owner's children, and only ones it keeps: once a prune has
        completed, another with the same children to keep (and of the same kinds) would find
        nothing, so it is not asked again (one list per kind, on every pass of every resource,
        otherwise). The first pass of each owner in a process does prune, and so does the first
        after any of its children was written (`ensure` with its uid): a pass that began before
        its owner changed may apply a child that a newer pass has just pruned, and only listing
        again finds it. A prune that such a write overtook is not remembered either."""
        wanted = {(m["apiVersion"], m["kind"], m["metadata"]["name"]) for m in keep}
        kinds = list(kinds)
        done = frozenset(wanted | {("kind", api_version, kind) for api_version, kind in kinds})
        if self._pruned.get(owner_uid) == done:
            return []
        writes = self._child_writes.get(owner_uid, 0)
        deleted = []
        for api_version, kind in kinds:
            for obj in self.list_objects(api_version, kind, namespace, selector=f"storybang.io/owner-uid={owner_uid}"):
                meta = obj["metadata"]
                owned = any(r.get("uid") == owner_uid for r in meta.get("ownerReferences", []))
                if owned and (api_version, kind, meta["name"]) not in wanted:
                    logger.info("pruning %s %s/%s", kind, namespace, meta["name"])
                    self.delete(api_version, kind, namespace, meta["name"], meta["uid"])
                    deleted.append(f"{kind}/{meta['name']}")
        if len(self._pruned) >= PRUNED_REMEMBERED or len(self._child_writes) >= PRUNED_REMEMBERED:
            # Owners deleted long ago: the next pass of each prunes once more.
            self._pruned.clear()
            self._child_writes.clear()
        elif self._child_writes.get(owner_uid, 0) == writes:
            self._pruned[owner_uid] = done
        return deleted


@contextlib.contextmanager
def refused_secrets() -> Iterator[set[tuple[str, str]]]:
    """Within the block (one pass, in one thread), the Secrets `read_secret` refused for want of
    the Secret or of its key, by (namespace, name): whether the refusal became the pass's error
    or only a condition (a queue that cannot be read), what the pass waits for is known by name."""
    refused: set[tuple[str, str]] = set()
    token = _REFUSED_SECRETS.set(refused)
    try:
        yield refused
    finally:
        _REFUSED_SECRETS.reset(token)


def _refused(namespace: str, name: str) -> None:
    recorded = _REFUSED_SECRETS.get()
    if recorded is not None:
        recorded.add((namespace, name))


def _status_message(raw: bytes | None) -> str:
    try:
        return str(json.loads(raw or b"{}").get("message", ""))
    except (ValueError, AttributeError):
        return ""
