"""The default platform (custom resources), the datastore Secrets it points at, the signing key,
external stores and the migration Job."""

from __future__ import annotations

import base64
import urllib.parse
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from conftest import FULLNAME, Manifest, Render, RenderError, by_kind, crds, one
from storybang_testing import crd_schema

CR_KINDS = ("Platform", "DomainService", "Generator", "ModelServer")


def secret_data(secret: Manifest) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    return data | dict(secret.get("stringData") or {})


def platform(manifests: list[Manifest]) -> dict[str, Any]:
    (p,) = by_kind(manifests, "Platform")
    return dict(p["spec"])


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"ingress.tls.enabled": True, "ingress.tls.secretName": "tls", "ingress.className": "nginx"},
        {
            "platform.mail.backend": "smtp",
            "platform.mail.smtpHost": "smtp.example.com",
            "platform.mail.smtpPassword": "pw",
        },
        {
            "domainServices.stories.autoscaling": {"minReplicas": 2, "maxReplicas": 6},
            "domainServices.web.enabled": True,
        },
        {
            "generators.translate.workers": {"minReplicas": 0, "cooldownSeconds": 600},
            "modelServer.autoscaling": {"maxReplicas": 3},
        },
        {"ingress.enabled": False, "platform.settings": {"STORYBANG_GENERATION__DAILY_IMAGES": 10}},
    ],
    ids=["defaults", "tls", "smtp", "autoscaling", "scale-to-zero", "no-ingress"],
)
def test_custom_resources_are_valid_for_their_crds(render: Render, values: dict[str, Any]) -> None:
    definitions = crds()
    resources = [m for m in render(values) if m["kind"] in CR_KINDS]
    assert {r["kind"] for r in resources} == set(CR_KINDS)
    broken = {
        f"{r['kind']}/{r['metadata']['name']}": e
        for r in resources
        if (e := crd_schema.errors(definitions[r["kind"]], r))
    }
    assert not broken, broken


def test_default_platform_has_the_domains_the_workers_and_a_cpu_model_server(default_manifests: list[Manifest]) -> None:
    domains = {d["spec"]["domain"] for d in by_kind(default_manifests, "DomainService")}
    assert domains == {"identity", "characters", "stories", "generation", "notifier"}
    tasks = {g["spec"]["task"] for g in by_kind(default_manifests, "Generator")}
    assert tasks == {"story", "image", "describe", "translate"}
    (ms,) = by_kind(default_manifests, "ModelServer")
    assert ms["spec"]["engine"] == "transformers"
    assert ms["spec"]["model"] == {"bundled": {"name": "smollm2-135m-instruct"}, "servedName": "smollm2"}
    env = {e["name"]: e["value"] for e in ms["spec"]["env"]}
    # The operator tells the workers to ask for model.servedName: the server must answer to it.
    assert env["STORYBANG_INFERENCE_SERVED_MODEL_NAME"] == "smollm2"
    assert env["STORYBANG_INFERENCE_THREADS"] == "2"
    assert ms["spec"]["image"] == "ghcr.io/storybang/storybang-inference:0.1.0"
    for resource in by_kind(default_manifests, "DomainService") + by_kind(default_manifests, "Generator") + [ms]:
        assert resource["spec"]["platformRef"] == {"name": FULLNAME}
    for gen in by_kind(default_manifests, "Generator"):
        assert gen["spec"]["backends"] == [{"name": "smollm2", "modelServerRef": {"name": ms["metadata"]["name"]}}]


def test_each_part_of_the_platform_can_be_switched_off(render: Render) -> None:
    manifests = render(
        {
            "domainServices.notifier.enabled": False,
            "generators.image.enabled": False,
            "generators.describe.enabled": False,
            "modelServer.enabled": False,
            "generators.story.backends": [
                {"name": "xai", "external": {"baseURL": "https://api.x.ai/v1", "model": "grok-3-mini"}}
            ],
            "generators.translate.backends": [{"name": "llama", "modelServerRef": {"name": "llama-story"}}],
        }
    )
    assert "notifier" not in {d["spec"]["domain"] for d in by_kind(manifests, "DomainService")}
    assert {g["spec"]["task"] for g in by_kind(manifests, "Generator")} == {"story", "translate"}
    assert not by_kind(manifests, "ModelServer")
    nothing = render({"platform.enabled": False, "migrations.enabled": False})
    assert not [m for m in nothing if m["kind"] in (*CR_KINDS, "StatefulSet", "Secret", "Job")]


def test_ingress_values_go_into_the_platform(render: Render) -> None:
    spec = platform(
        render(
            {
                "ingress.host": "stories.example.com",
                "ingress.className": "nginx",
                "ingress.annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
                "ingress.tls.enabled": True,
                "ingress.tls.secretName": "stories-tls",
            }
        )
    )
    assert spec["ingress"] == {
        "enabled": True,
        "host": "stories.example.com",
        "className": "nginx",
        "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
        "tls": {"enabled": True, "secretName": "stories-tls"},
    }
    assert not [m for m in render() if m["kind"] == "Ingress"], "the operator renders the Ingress, not the chart"


def test_the_edge_values_go_into_the_platform_and_pass_its_crd(render: Render) -> None:
    """Trusted proxies and the peers admitted to the HTTP pods; by default, neither (the services
    then trust loopback alone, the policies admit the controller's namespace)."""
    peers = [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
        },
        {"ipBlock": {"cidr": "192.0.2.0/24"}},
    ]
    manifests = render({"platform.trustedProxies": ["10.244.0.0/16"], "platform.networkPolicies.ingressFrom": peers})
    spec = platform(manifests)
    assert spec["trustedProxies"] == ["10.244.0.0/16"]
    assert spec["networkPolicies"]["ingressFrom"] == peers
    (resource,) = by_kind(manifests, "Platform")
    assert crd_schema.errors(crds()["Platform"], resource) == []
    defaults = platform(render())
    assert "trustedProxies" not in defaults
    assert "ingressFrom" not in defaults["networkPolicies"]


def test_internal_stores_get_generated_credentials_and_matching_urls(default_manifests: list[Manifest]) -> None:
    spec = platform(default_manifests)
    redis = secret_data(one(default_manifests, "Secret", f"{FULLNAME}-redis"))
    assert len(redis["password"]) == 32
    assert redis["url"] == f"redis://:{redis['password']}@{FULLNAME}-redis.stories.svc:6379/0"
    assert redis["address"] == f"{FULLNAME}-redis.stories.svc:6379"
    assert spec["datastores"]["redis"] == {
        "secretName": f"{FULLNAME}-redis",
        "urlKey": "url",
        "addressKey": "address",
        "passwordKey": "password",
        "databaseIndex": 0,
        "tls": False,
    }
    mysql = secret_data(one(default_manifests, "Secret", f"{FULLNAME}-mysql"))
    assert mysql["url"] == (
        f"mysql+asyncmy://storybang:{mysql['mariadb-password']}@{FULLNAME}-mysql.stories.svc:3306/storybang?charset=utf8mb4"
    )
    assert mysql["mariadb-root-password"] != mysql["mariadb-password"]
    mongo = secret_data(one(default_manifests, "Secret", f"{FULLNAME}-mongodb"))
    assert mongo["url"] == (
        f"mongodb://storybang:{mongo['mongodb-password']}@{FULLNAME}-mongodb.stories.svc:27017/storybang?authSource=storybang"
    )
    assert spec["datastores"]["mysql"] == {"secretName": f"{FULLNAME}-mysql", "urlKey": "url"}
    assert spec["datastores"]["mongo"] == {"secretName": f"{FULLNAME}-mongodb", "urlKey": "url"}
    assert spec["settings"]["STORYBANG_MONGO__DATABASE"] == "storybang"


def test_credential_secrets_are_kept_on_uninstall(render: Render) -> None:
    for name in ("redis", "mysql", "mongodb", "signing-key"):
        secret = one(render(), "Secret", f"{FULLNAME}-{name}")
        assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    secret = one(render({"secrets.keepOnUninstall": False}), "Secret", f"{FULLNAME}-redis")
    assert "helm.sh/resource-policy" not in (secret["metadata"].get("annotations") or {})


def test_given_passwords_are_used_and_escaped_in_urls(render: Render) -> None:
    manifests = render({"mysql.auth.password": "p@ss:w/rd", "redis.auth.password": "r3dis"})
    mysql = secret_data(one(manifests, "Secret", f"{FULLNAME}-mysql"))
    assert mysql["mariadb-password"] == "p@ss:w/rd"
    assert mysql["url"].startswith("mysql+asyncmy://storybang:p%40ss%3Aw%2Frd@")
    assert secret_data(one(manifests, "Secret", f"{FULLNAME}-redis"))["password"] == "r3dis"


def test_a_space_in_a_password_survives_the_urls(render: Render) -> None:
    """Form encoding writes a space as "+", which redis-py and SQLAlchemy read as a plus."""
    manifests = render({"redis.auth.password": "r3 dis+x", "mysql.auth.password": "my sql"})
    redis = secret_data(one(manifests, "Secret", f"{FULLNAME}-redis"))
    assert redis["password"] == "r3 dis+x"
    assert redis["url"].startswith("redis://:r3%20dis%2Bx@")
    assert urllib.parse.unquote(urllib.parse.urlsplit(redis["url"]).password or "") == "r3 dis+x"
    mysql = secret_data(one(manifests, "Secret", f"{FULLNAME}-mysql"))
    assert mysql["url"].startswith("mysql+asyncmy://storybang:my%20sql@")


@pytest.mark.parametrize(
    ("url", "password"),
    [
        ("redis://:p%40ss@redis.example.com:6379/0", "p@ss"),
        ("redis://user:a%20b%2Fc%3Ad%25e@redis.example.com:6379", "a b/c:d%e"),
        ("redis://:q%22uo%5Cte@redis.example.com:6379", 'q"uo\\te'),
        ("redis://:plain@redis.example.com:6379", "plain"),
    ],
)
def test_keda_gets_an_external_url_s_password_decoded(render: Render, url: str, password: str) -> None:
    manifests = render(EXTERNAL | {"externalRedis.url": url})
    assert secret_data(one(manifests, "Secret", f"{FULLNAME}-redis"))["password"] == password


def test_a_non_ascii_password_in_an_external_url_is_refused(render: Render) -> None:
    with pytest.raises(RenderError, match="beyond ASCII"):
        render(EXTERNAL | {"externalRedis.url": "redis://:p%C3%A4ss@redis.example.com:6379"})


def test_signing_key_is_a_generated_ed25519_key(default_manifests: list[Manifest]) -> None:
    secret = one(default_manifests, "Secret", f"{FULLNAME}-signing-key")
    pem = secret_data(secret)["signing-key"]
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert isinstance(load_pem_private_key(pem.encode(), password=None), Ed25519PrivateKey)
    assert platform(default_manifests)["auth"]["signingKeySecretName"] == secret["metadata"]["name"]
    assert platform(default_manifests)["auth"]["signingKeyKey"] == "signing-key"


def test_an_existing_signing_key_secret_replaces_the_generated_one(render: Render) -> None:
    manifests = render(
        {"platform.auth.signingKey.existingSecret": "my-key", "platform.auth.signingKey.existingSecretKey": "pem"}
    )
    assert not [s for s in by_kind(manifests, "Secret") if s["metadata"]["name"].endswith("signing-key")]
    auth = platform(manifests)["auth"]
    assert (auth["signingKeySecretName"], auth["signingKeyKey"]) == ("my-key", "pem")


EXTERNAL = {
    "redis.enabled": False,
    "externalRedis.url": "rediss://:s3cret@redis.example.com:6380/2",
    "mysql.enabled": False,
    "externalMysql.url": "mysql+asyncmy://sb:pw@mysql.example.com:3306/stories",
    "mongodb.enabled": False,
    "externalMongodb.url": "mongodb://sb:pw@mongo.example.com:27017/stories",
    "externalMongodb.database": "stories",
}


def test_external_urls_replace_the_bundled_servers(render: Render) -> None:
    manifests = render(EXTERNAL)
    assert not by_kind(manifests, "StatefulSet")
    assert not [p for p in by_kind(manifests, "NetworkPolicy")]
    redis = secret_data(one(manifests, "Secret", f"{FULLNAME}-redis"))
    assert redis == {"url": EXTERNAL["externalRedis.url"], "address": "redis.example.com:6380", "password": "s3cret"}
    spec = platform(manifests)
    assert spec["datastores"]["redis"] == {
        "secretName": f"{FULLNAME}-redis",
        "urlKey": "url",
        "addressKey": "address",
        "passwordKey": "password",
        "databaseIndex": 2,
        "tls": True,
    }
    assert secret_data(one(manifests, "Secret", f"{FULLNAME}-mysql")) == {"url": EXTERNAL["externalMysql.url"]}
    assert secret_data(one(manifests, "Secret", f"{FULLNAME}-mongodb")) == {"url": EXTERNAL["externalMongodb.url"]}
    assert spec["settings"]["STORYBANG_MONGO__DATABASE"] == "stories"


def test_a_redis_url_without_password_sets_no_password_key(render: Render) -> None:
    values = EXTERNAL | {"externalRedis.url": "redis://redis.example.com:6379"}
    manifests = render(values)
    assert "passwordKey" not in platform(manifests)["datastores"]["redis"]
    assert platform(manifests)["datastores"]["redis"]["databaseIndex"] == 0
    assert "password" not in secret_data(one(manifests, "Secret", f"{FULLNAME}-redis"))


def test_existing_secrets_are_referenced_not_rendered(render: Render) -> None:
    manifests = render(
        {
            "redis.enabled": False,
            "externalRedis.existingSecret": "queue",
            "externalRedis.existingSecretPasswordKey": "pass",
            "mysql.enabled": False,
            "externalMysql.existingSecret": "users",
            "externalMysql.existingSecretUrlKey": "dsn",
            "mongodb.enabled": False,
            "externalMongodb.existingSecret": "docs",
        }
    )
    assert {s["metadata"]["name"] for s in by_kind(manifests, "Secret")} == {f"{FULLNAME}-signing-key"}
    stores = platform(manifests)["datastores"]
    assert stores["redis"] == {
        "secretName": "queue",
        "urlKey": "url",
        "addressKey": "address",
        "passwordKey": "pass",
        "databaseIndex": 0,
        "tls": False,
    }
    assert stores["mysql"] == {"secretName": "users", "urlKey": "dsn"}
    assert stores["mongo"] == {"secretName": "docs", "urlKey": "url"}
    job = one(manifests, "Job", f"{FULLNAME}-migrate")
    refs = {
        e["name"]: e["valueFrom"]["secretKeyRef"]
        for e in job["spec"]["template"]["spec"]["containers"][0]["env"]
        if "valueFrom" in e
    }
    assert refs["STORYBANG_MYSQL__URL"] == {"name": "users", "key": "dsn"}
    assert refs["STORYBANG_REDIS__URL"] == {"name": "queue", "key": "url"}


def test_migration_job_is_a_post_install_hook_with_every_secret(default_manifests: list[Manifest]) -> None:
    job = one(default_manifests, "Job", f"{FULLNAME}-migrate")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "post-install,post-upgrade"
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    c = job["spec"]["template"]["spec"]["containers"][0]
    assert c["command"] == ["storybang", "migrate"]
    assert c["image"] == "ghcr.io/storybang/storybang:0.1.0"
    env = {e["name"] for e in c["env"]}
    assert {
        "STORYBANG_MYSQL__URL",
        "STORYBANG_MONGO__URL",
        "STORYBANG_REDIS__URL",
        "STORYBANG_AUTH__SIGNING_KEY",
    } <= env


def test_datastores_admit_storybang_pods_and_redis_the_operator_and_keda(default_manifests: list[Manifest]) -> None:
    policies = {p["metadata"]["name"]: p for p in by_kind(default_manifests, "NetworkPolicy")}
    assert set(policies) == {f"{FULLNAME}-redis", f"{FULLNAME}-mysql", f"{FULLNAME}-mongodb"}
    storybang = {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "storybang"}}}
    keda = {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app.kubernetes.io/name": "keda-operator"}}}
    operator = {
        "podSelector": {
            "matchLabels": {
                "app.kubernetes.io/name": "storybang",
                "app.kubernetes.io/instance": "sb",
                "app.kubernetes.io/component": "operator",
            }
        }
    }
    for name, p in policies.items():
        (rule,) = p["spec"]["ingress"]
        expected = [storybang, operator, keda] if name.endswith("-redis") else [storybang]
        assert rule["from"] == expected, name


def test_extra_objects_are_rendered_with_templates(render: Render) -> None:
    extra = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "extra", "namespace": "{{ .Release.Namespace }}"},
        "data": {"a": "b"},
    }
    manifests = render({"extraObjects": [extra]})
    assert one(manifests, "ConfigMap", "extra")["metadata"]["namespace"] == "stories"
