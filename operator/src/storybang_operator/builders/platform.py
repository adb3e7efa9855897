"""Platform → shared ConfigMap, ServiceAccount, Ingress and NetworkPolicies; and the pod pieces
(image, env, service account) that every StoryBang workload of the platform shares."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from storybang_operator import errors
from storybang_operator.builders import common, networkpolicies

COMPONENT = "platform"

# Which URL prefixes each domain answers, in the order an Ingress controller should match them.
ROUTES: Mapping[str, tuple[str, ...]] = {
    "identity": ("/api/v1/auth", "/api/v1/users", "/api/v1/admin", "/.well-known"),
    "characters": ("/api/v1/characters",),
    "stories": ("/api/v1/stories",),
    "generation": ("/api/v1/generations",),
    "notifier": ("/socket.io",),
    "web": ("/",),
}


def configmap_name(platform_name: str) -> str:
    return f"{platform_name}-config"


def service_account_name(platform_name: str) -> str:
    return f"{platform_name}-workload"


def _ingress(platform: common.Body) -> Mapping[str, Any]:
    """The ingress section; absent means no Ingress, present means one unless disabled."""
    ingress = common.spec_of(platform).get("ingress")
    return ingress if ingress is not None else {"enabled": False}


def public_url(platform: common.Body) -> str | None:
    ingress = _ingress(platform)
    if not ingress.get("enabled", True) or not ingress.get("host"):
        return None
    scheme = "https" if ingress.get("tls", {}).get("enabled", False) else "http"
    return f"{scheme}://{ingress['host']}"


def settings_data(platform: common.Body) -> dict[str, str]:
    """The non-secret settings every process of the platform reads (`STORYBANG_*` variables)."""
    spec = common.spec_of(platform)
    auth = spec.get("auth", {})
    mail = spec.get("mail", {})
    data = {
        "STORYBANG_ENV": str(spec.get("environment", "production")),
        "STORYBANG_LOG__LEVEL": str(spec.get("logLevel", "info")),
        # The root filesystem is read-only; the services keep scratch files under /tmp.
        "STORYBANG_DATA_DIR": "/tmp/storybang",  # noqa: S108 - a per-pod emptyDir
        "STORYBANG_AUTH__ACCESS_TOKEN_TTL_SECONDS": str(auth.get("accessTokenTTLSeconds", 900)),
        "STORYBANG_AUTH__REFRESH_TOKEN_TTL_SECONDS": str(
            auth.get("refreshTokenTTLSeconds", 2592000)
        ),
        "STORYBANG_AUTH__REQUIRE_VERIFICATION": _bool(auth.get("requireVerification", True)),
        "STORYBANG_MAIL__BACKEND": str(mail.get("backend", "log")),
        "STORYBANG_CORS_ORIGINS": json.dumps(list(spec.get("corsOrigins", []))),
    }
    if mail.get("backend") == "smtp":
        data |= {
            "STORYBANG_MAIL__SMTP_HOST": str(mail.get("smtpHost", "")),
            "STORYBANG_MAIL__SMTP_PORT": str(mail.get("smtpPort", 587)),
            "STORYBANG_MAIL__SMTP_USERNAME": str(mail.get("smtpUsername", "")),
            "STORYBANG_MAIL__SMTP_STARTTLS": _bool(mail.get("smtpStartTLS", True)),
        }
        if mail.get("fromAddress"):
            data["STORYBANG_MAIL__FROM_ADDRESS"] = str(mail["fromAddress"])
    url = public_url(platform)
    if url:
        data["STORYBANG_PUBLIC_URL"] = url
    extra = spec.get("settings", {})
    bad = sorted(k for k in extra if not str(k).startswith("STORYBANG_"))
    if bad:
        raise errors.InvalidSpec(f"settings keys must start with STORYBANG_: {', '.join(bad)}")
    data |= {str(k): str(v) for k, v in extra.items()}
    return data


def config_hash(platform: common.Body) -> str:
    """A digest of the shared settings; pods carry it so that a settings change rolls them."""
    raw = json.dumps(settings_data(platform), sort_keys=True).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def secret_env(platform: common.Body) -> list[dict[str, Any]]:
    """The secret settings, as references into the Secrets: values never pass through the operator.

    Every process gets all four: the services refuse to start outside dev without them."""
    spec = common.spec_of(platform)
    stores = spec.get("datastores", {})
    auth = spec.get("auth", {})
    env = []
    for store in ("redis", "mysql", "mongo"):
        ref = stores.get(store)
        if not ref or not ref.get("secretName"):
            raise errors.InvalidSpec(f"datastores.{store}.secretName is required")
        env.append(
            common.secret_env(
                f"STORYBANG_{store.upper()}__URL", ref["secretName"], ref.get("urlKey", "url")
            )
        )
    if not auth.get("signingKeySecretName"):
        raise errors.InvalidSpec("auth.signingKeySecretName is required")
    env.append(
        common.secret_env(
            "STORYBANG_AUTH__SIGNING_KEY",
            auth["signingKeySecretName"],
            auth.get("signingKeyKey", "signing-key"),
        )
    )
    smtp_password = spec.get("mail", {}).get("smtpPasswordSecretRef")
    if smtp_password:
        env.append(
            common.secret_env(
                "STORYBANG_MAIL__SMTP_PASSWORD",
                smtp_password["name"],
                smtp_password.get("key", "password"),
            )
        )
    return env


def image(platform: common.Body, override: str | None = None) -> str:
    if override:
        return override
    value = common.spec_of(platform).get("image")
    if not value:
        raise errors.InvalidSpec(f"Platform {common.name_of(platform)} has no image")
    return str(value)


def pod_base(platform: common.Body) -> dict[str, Any]:
    """Pod fields every workload of the platform shares: identity, pull secrets, security."""
    spec = common.spec_of(platform)
    pod: dict[str, Any] = {
        "serviceAccountName": service_account_name(common.name_of(platform)),
        # The workloads never call the Kubernetes API: no token in the pod.
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": common.pod_security_context(),
    }
    pull = spec.get("imagePullSecrets", [])
    if pull:
        pod["imagePullSecrets"] = [{"name": n} for n in pull]
    return pod


def pull_policy(platform: common.Body) -> str:
    return str(common.spec_of(platform).get("imagePullPolicy", "IfNotPresent"))


def pod_annotations(platform: common.Body, metrics_port: int) -> dict[str, str]:
    annotations = {"storybang.io/config-hash": config_hash(platform)}
    if common.spec_of(platform).get("monitoring", {}).get("metrics", True):
        annotations |= {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(metrics_port),
            "prometheus.io/path": "/metrics",
        }
    return annotations


def build(platform: common.Body, domain_services: Sequence[common.Body]) -> list[common.Manifest]:
    """Render the platform's children. `domain_services` are the DomainServices that point at this
    platform; the Ingress routes to them by domain."""
    spec = common.spec_of(platform)
    name = common.name_of(platform)
    children: list[common.Manifest] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": common.metadata(platform, configmap_name(name), COMPONENT),
            "data": settings_data(platform),
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": common.metadata(platform, service_account_name(name), COMPONENT),
            "automountServiceAccountToken": False,
        },
    ]
    secret_env(platform)  # validates the datastore and key references early
    ingress = build_ingress(platform, domain_services)
    if ingress is not None:
        children.append(ingress)
    if spec.get("networkPolicies", {}).get("enabled", True):
        children.extend(networkpolicies.build(platform))
    return children


def build_ingress(
    platform: common.Body, domain_services: Sequence[common.Body]
) -> common.Manifest | None:
    ingress = _ingress(platform)
    if not ingress.get("enabled", True):
        return None
    host = ingress.get("host")
    if not host:
        raise errors.InvalidSpec("ingress.host is required when the ingress is enabled")
    # One service per domain: the first by name wins, so the choice is stable across passes.
    by_domain: dict[str, str] = {}
    for ds in sorted(domain_services, key=common.name_of):
        domain = str(ds.get("spec", {}).get("domain", ""))
        if domain in ROUTES and domain not in by_domain:
            by_domain[domain] = common.name_of(ds)
    paths = [
        {
            "path": path,
            "pathType": "Prefix",
            "backend": {"service": {"name": svc, "port": {"name": "http"}}},
        }
        for domain, prefixes in ROUTES.items()
        if (svc := by_domain.get(domain))
        for path in prefixes
    ]
    if not paths:
        return None  # nothing to route to yet; rendered once a DomainService exists
    manifest: common.Manifest = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": common.metadata(
            platform,
            common.name_of(platform),
            COMPONENT,
            annotations=ingress.get("annotations") or None,
        ),
        "spec": {"rules": [{"host": host, "http": {"paths": paths}}]},
    }
    if ingress.get("className"):
        manifest["spec"]["ingressClassName"] = ingress["className"]
    tls = ingress.get("tls", {})
    if tls.get("enabled", False):
        if not tls.get("secretName"):
            raise errors.InvalidSpec("ingress.tls.secretName is required when TLS is enabled")
        manifest["spec"]["tls"] = [{"hosts": [host], "secretName": tls["secretName"]}]
    return manifest


def _bool(value: object) -> str:
    return "true" if value else "false"
