"""The Platform's spec: the image, the datastores, auth, mail, ingress and the network and
monitoring switches every StoryBang workload of an installation shares."""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from storybang_operator.specs.base import LabelSelector, Resource, Spec


class Redis(Spec):
    secret_name: str
    url_key: str = "url"
    # KEDA's Redis scaler takes host:port and a password, not a URL.
    address_key: str = "address"
    password_key: str | None = None
    database_index: int = 0
    tls: bool = False


class Store(Spec):
    secret_name: str
    url_key: str = "url"


class Datastores(Spec):
    redis: Redis
    mysql: Store
    mongo: Store


class Auth(Spec):
    signing_key_secret_name: str
    signing_key_key: str = "signing-key"
    access_token_ttl_seconds: int = Field(900, alias="accessTokenTTLSeconds")
    refresh_token_ttl_seconds: int = Field(2592000, alias="refreshTokenTTLSeconds")
    require_verification: bool = True


class SmtpPasswordRef(Spec):
    name: str
    key: str = "password"


class Mail(Spec):
    backend: Literal["log", "smtp"] = "log"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password_secret_ref: SmtpPasswordRef | None = None
    smtp_start_tls: bool = Field(True, alias="smtpStartTLS")
    from_address: str | None = None


class Tls(Spec):
    enabled: bool = False
    secret_name: str | None = None

    @model_validator(mode="after")
    def _secret_when_enabled(self) -> Tls:
        if self.enabled and not self.secret_name:
            raise ValueError("secretName is required when TLS is enabled")
        return self


class Ingress(Spec):
    """Present means an Ingress unless `enabled` is false; absent means none (the default)."""

    enabled: bool = True
    host: str | None = None
    class_name: str | None = None
    annotations: dict[str, str] = Field(default_factory=dict)
    tls: Tls = Tls()

    @model_validator(mode="after")
    def _host_when_enabled(self) -> Ingress:
        if self.enabled and not self.host:
            raise ValueError("host is required when the ingress is enabled")
        return self


class ParentRef(Spec):
    """A Gateway (or a listener of it, by sectionName) that an HTTPRoute attaches to."""

    name: str = Field(min_length=1)
    namespace: str | None = None
    section_name: str | None = None
    port: int | None = Field(None, ge=1, le=65535)


class Gateway(Spec):
    """The Gateway API's alternative to the Ingress: an HTTPRoute with the same path table,
    attached to Gateways someone else runs. Absent means none (the default)."""

    enabled: bool = True
    parent_refs: list[ParentRef] = Field(default_factory=list)
    hostnames: list[str] = Field(default_factory=list)
    # The Gateway's listener terminates TLS (or not); only the public URL's scheme follows it.
    https: bool = True
    annotations: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _parents_and_host_when_enabled(self) -> Gateway:
        if self.enabled and (not self.parent_refs or not self.hostnames):
            raise ValueError("parentRefs and hostnames are required when the gateway is enabled")
        return self


class Monitoring(Spec):
    metrics: bool = True
    prometheus_namespace: str = "monitoring"
    # Where the operator reads the figures it shows in status (job durations, model load).
    prometheus_address: str | None = None


class IpBlock(Spec):
    cidr: str
    except_: list[str] | None = Field(None, alias="except")


class Peer(Spec):
    """A NetworkPolicyPeer, rendered as given. An empty selector (``{}``) selects everything, so
    absent and empty differ."""

    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IpBlock | None = None

    @model_validator(mode="after")
    def _selectors_or_block(self) -> Peer:
        selectors = self.pod_selector is not None or self.namespace_selector is not None
        if (self.ip_block is not None) == selectors:
            raise ValueError("a peer is a podSelector and/or a namespaceSelector, or an ipBlock alone")
        return self

    def manifest(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class NetworkPolicies(Spec):
    enabled: bool = True
    ingress_controller_namespace: str = "ingress-nginx"
    # Empty: every pod of ingress_controller_namespace may reach the HTTP pods.
    ingress_from: list[Peer] = Field(default_factory=list)
    dns_namespace: str = "kube-system"
    # Empty: the kube-dns pods of dns_namespace. NodeLocal DNSCache answers on a link-local
    # address (169.254.20.10 by default) that only an ipBlock peer admits.
    dns_to: list[Peer] = Field(default_factory=list)
    datastore_ports: list[int] = Field(default_factory=lambda: [6379, 3306, 27017])
    allow_external_https: bool = Field(True, alias="allowExternalHTTPS")


class PlatformSpec(Spec):
    image: str = Field(min_length=1)
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    image_pull_secrets: list[str] = Field(default_factory=list)
    environment: Literal["production", "dev"] = "production"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    cors_origins: list[str] = Field(default_factory=list)
    # The ingress controller's pod addresses (networks): the services believe X-Forwarded-For from
    # these only. Empty leaves the services' default, loopback alone.
    trusted_proxies: list[str] = Field(default_factory=list)
    datastores: Datastores
    auth: Auth
    mail: Mail = Mail()
    ingress: Ingress = Ingress(enabled=False)
    gateway: Gateway = Gateway(enabled=False)
    monitoring: Monitoring = Monitoring()
    network_policies: NetworkPolicies = NetworkPolicies()
    settings: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_entry_point(self) -> PlatformSpec:
        if self.ingress.enabled and self.gateway.enabled:
            raise ValueError("ingress and gateway are alternatives: enable one of them")
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses_or_networks(cls, proxies: list[str]) -> list[str]:
        # Strict, as uvicorn parses them: 10.0.0.1/8 would be a name that no address matches.
        bad = []
        for proxy in proxies:
            try:
                ipaddress.ip_network(proxy)
            except ValueError:
                bad.append(proxy)
        if bad:
            raise ValueError(f"not an IP address, nor a CIDR network with its host bits zero: {', '.join(bad)}")
        return proxies

    @field_validator("settings")
    @classmethod
    def _storybang_keys(cls, settings: dict[str, str]) -> dict[str, str]:
        bad = sorted(k for k in settings if not k.startswith("STORYBANG_"))
        if bad:
            raise ValueError(f"keys must start with STORYBANG_: {', '.join(bad)}")
        return settings


class Platform(Resource):
    kind: Literal["Platform"] = "Platform"
    spec: PlatformSpec
