"""Platform → shared ConfigMap, ServiceAccount, Ingress (or the Gateway API's HTTPRoute) and
NetworkPolicies; and the pod pieces (image, env, service account) that every StoryBang workload of
the platform shares."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from storybang_operator import specs
from storybang_operator.builders import common, networkpolicies

COMPONENT = "platform"
GATEWAY_API_VERSION = "gateway.networking.k8s.io/v1"

# Which URL prefixes each domain answers. Ingress controllers route a request by its longest
# matching prefix, so a domain can answer below another's prefix (usage and failed jobs are
# generation's, under identity's /users and /admin). charts/tests/test_routes.py checks every path
# of the API against this table.
ROUTES: Mapping[str, tuple[str, ...]] = {
    "identity": ("/api/v1/auth", "/api/v1/users", "/api/v1/admin", "/.well-known"),
    "characters": ("/api/v1/characters",),
    "stories": ("/api/v1/stories",),
    "generation": (
        "/api/v1/generations",
        "/api/v1/users/me/usage",
        "/api/v1/admin/generations",
        "/api/v1/admin/usage",
        "/api/v1/push",
    ),
    "notifier": ("/socket.io",),
    "web": ("/",),
}


def configmap_name(platform_name: str) -> str:
    return f"{platform_name}-config"


def service_account_name(platform_name: str) -> str:
    return f"{platform_name}-workload"


def public_url(plat: specs.Platform) -> str | None:
    ingress, gateway = plat.spec.ingress, plat.spec.gateway
    if gateway.enabled and gateway.hostnames:
        return f"{'https' if gateway.https else 'http'}://{gateway.hostnames[0]}"
    if not ingress.enabled or not ingress.host:
        return None
    scheme = "https" if ingress.tls.enabled else "http"
    return f"{scheme}://{ingress.host}"


def settings_data(plat: specs.Platform) -> dict[str, str]:
    """The non-secret settings every process of the platform reads (`STORYBANG_*` variables)."""
    spec = plat.spec
    auth, mail = spec.auth, spec.mail
    data = {
        "STORYBANG_ENV": spec.environment,
        "STORYBANG_LOG__LEVEL": spec.log_level,
        # The root filesystem is read-only; the services keep scratch files under /tmp.
        "STORYBANG_DATA_DIR": "/tmp/storybang",  # noqa: S108 - a per-pod emptyDir
        "STORYBANG_AUTH__ACCESS_TOKEN_TTL_SECONDS": str(auth.access_token_ttl_seconds),
        "STORYBANG_AUTH__REFRESH_TOKEN_TTL_SECONDS": str(auth.refresh_token_ttl_seconds),
        "STORYBANG_AUTH__REQUIRE_VERIFICATION": _bool(auth.require_verification),
        "STORYBANG_MAIL__BACKEND": mail.backend,
        "STORYBANG_CORS_ORIGINS": json.dumps(spec.cors_origins),
    }
    if spec.trusted_proxies:
        # Read by the HTTP roles (APIs, notifier) as uvicorn's forwarded_allow_ips.
        data["STORYBANG_TRUSTED_PROXIES"] = ",".join(spec.trusted_proxies)
    if mail.backend == "smtp":
        data |= {
            "STORYBANG_MAIL__SMTP_HOST": mail.smtp_host,
            "STORYBANG_MAIL__SMTP_PORT": str(mail.smtp_port),
            "STORYBANG_MAIL__SMTP_USERNAME": mail.smtp_username,
            "STORYBANG_MAIL__SMTP_STARTTLS": _bool(mail.smtp_start_tls),
        }
        if mail.from_address:
            data["STORYBANG_MAIL__FROM_ADDRESS"] = mail.from_address
    url = public_url(plat)
    if url:
        data["STORYBANG_PUBLIC_URL"] = url
    # The spec refuses keys that do not start with STORYBANG_.
    return data | spec.settings


# The pod annotation that carries config_hash: pods that read the settings restart when it changes.
CONFIG_HASH_ANNOTATION = "storybang.io/config-hash"


def config_hash(plat: specs.Platform) -> str:
    """A digest of the shared settings; pods carry it so that a settings change rolls them."""
    raw = json.dumps(settings_data(plat), sort_keys=True).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def secret_env(plat: specs.Platform) -> list[dict[str, Any]]:
    """The secret settings, as references into the Secrets: values never pass through the operator.

    Every process gets all four: the services refuse to start outside dev without them."""
    stores, auth = plat.spec.datastores, plat.spec.auth
    env = [
        common.secret_env(f"STORYBANG_{store.upper()}__URL", ref.secret_name, ref.url_key)
        for store, ref in (
            ("redis", stores.redis),
            ("mysql", stores.mysql),
            ("mongo", stores.mongo),
        )
    ]
    env.append(common.secret_env("STORYBANG_AUTH__SIGNING_KEY", auth.signing_key_secret_name, auth.signing_key_key))
    smtp_password = plat.spec.mail.smtp_password_secret_ref
    if smtp_password is not None:
        env.append(common.secret_env("STORYBANG_MAIL__SMTP_PASSWORD", smtp_password.name, smtp_password.key))
    return env


def image(plat: specs.Platform, override: str | None = None) -> str:
    return override or plat.spec.image


def pod_base(plat: specs.Platform) -> dict[str, Any]:
    """Pod fields every workload of the platform shares: identity, pull secrets, security."""
    pod: dict[str, Any] = {
        "serviceAccountName": service_account_name(plat.name),
        # The workloads never call the Kubernetes API: no token in the pod.
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": common.pod_security_context(),
    }
    if plat.spec.image_pull_secrets:
        pod["imagePullSecrets"] = [{"name": n} for n in plat.spec.image_pull_secrets]
    return pod


def pull_policy(plat: specs.Platform) -> str:
    return plat.spec.image_pull_policy


def pod_annotations(plat: specs.Platform, metrics_port: int) -> dict[str, str]:
    annotations = {CONFIG_HASH_ANNOTATION: config_hash(plat)}
    if plat.spec.monitoring.metrics:
        annotations |= {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(metrics_port),
            "prometheus.io/path": "/metrics",
        }
    return annotations


def build(
    plat: specs.Platform, domain_services: Sequence[specs.DomainService], *, gateway_api: bool = True
) -> list[common.Manifest]:
    """Render the platform's children. `domain_services` are the DomainServices that point at this
    platform; the Ingress (or the HTTPRoute) routes to them by domain. Without `gateway_api` (its
    CRDs are not installed) no HTTPRoute is rendered."""
    children: list[common.Manifest] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": common.metadata(plat, configmap_name(plat.name), COMPONENT),
            "data": settings_data(plat),
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": common.metadata(plat, service_account_name(plat.name), COMPONENT),
            "automountServiceAccountToken": False,
        },
    ]
    ingress = build_ingress(plat, domain_services)
    if ingress is not None:
        children.append(ingress)
    route = build_http_route(plat, domain_services) if gateway_api else None
    if route is not None:
        children.append(route)
    if plat.spec.network_policies.enabled:
        children.extend(networkpolicies.build(plat))
    return children


def _routes(domain_services: Sequence[specs.DomainService]) -> list[tuple[str, str]]:
    """(path prefix, Service name) for every domain that has a DomainService, in ROUTES' order.

    One service per domain: the first by name wins, so the choice is stable across passes."""
    by_domain: dict[str, str] = {}
    for ds in sorted(domain_services, key=lambda ds: ds.name):
        by_domain.setdefault(ds.spec.domain, ds.name)
    return [(path, svc) for domain, prefixes in ROUTES.items() if (svc := by_domain.get(domain)) for path in prefixes]


def build_ingress(plat: specs.Platform, domain_services: Sequence[specs.DomainService]) -> common.Manifest | None:
    ingress = plat.spec.ingress
    if not ingress.enabled:
        return None
    paths = [
        {
            "path": path,
            "pathType": "Prefix",
            "backend": {"service": {"name": svc, "port": {"name": "http"}}},
        }
        for path, svc in _routes(domain_services)
    ]
    if not paths:
        return None  # nothing to route to yet; rendered once a DomainService exists
    manifest: common.Manifest = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": common.metadata(plat, plat.name, COMPONENT, annotations=ingress.annotations or None),
        "spec": {"rules": [{"host": ingress.host, "http": {"paths": paths}}]},
    }
    if ingress.class_name:
        manifest["spec"]["ingressClassName"] = ingress.class_name
    if ingress.tls.enabled:
        manifest["spec"]["tls"] = [{"hosts": [ingress.host], "secretName": ingress.tls.secret_name}]
    return manifest


def build_http_route(plat: specs.Platform, domain_services: Sequence[specs.DomainService]) -> common.Manifest | None:
    """The Gateway API's HTTPRoute: ROUTES as PathPrefix matches, one rule per prefix (a Gateway
    picks the longest matching prefix, as an ingress controller does)."""
    gateway = plat.spec.gateway
    if not gateway.enabled:
        return None
    rules = [
        {
            "matches": [{"path": {"type": "PathPrefix", "value": path}}],
            # A backendRef names a Service port by number only.
            "backendRefs": [{"kind": "Service", "name": svc, "port": common.HTTP_PORT}],
        }
        for path, svc in _routes(domain_services)
    ]
    if not rules:
        return None  # nothing to route to yet, as for the Ingress
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "HTTPRoute",
        "metadata": common.metadata(plat, plat.name, COMPONENT, annotations=gateway.annotations or None),
        "spec": {
            "parentRefs": [ref.model_dump(by_alias=True, exclude_none=True) for ref in gateway.parent_refs],
            "hostnames": list(gateway.hostnames),
            "rules": rules,
        },
    }


def _bool(value: object) -> str:
    return "true" if value else "false"
