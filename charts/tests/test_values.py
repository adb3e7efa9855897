"""Values the chart cannot work with stop the render with a message that names them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import CHART, Render, RenderError

REFUSED: dict[str, tuple[dict[str, Any], str]] = {
    "no redis at all": ({"redis.enabled": False}, "Redis is needed: set redis.enabled=true, or externalRedis.url"),
    "redis twice": ({"externalRedis.url": "redis://r:6379/0"}, "Redis is given twice"),
    "no mysql at all": ({"mysql.enabled": False}, "MySQL is needed"),
    "mongodb twice": ({"externalMongodb.existingSecret": "docs"}, "MongoDB is given twice"),
    "mysql url scheme": (
        {"mysql.enabled": False, "externalMysql.url": "mysql://u:p@h/db"},
        "externalMysql.url must start with mysql+asyncmy://",
    ),
    "redis url without port": (
        {"redis.enabled": False, "externalRedis.url": "redis://redis.example.com/0"},
        "externalRedis.url must name the port",
    ),
    "operator replicas below one": ({"operator.replicas": 0}, "operator.replicas must be a whole number of at least 1"),
    "bad image tag": ({"platform.image.tag": "v1 beta"}, 'platform.image.tag "v1 beta" is not a valid image tag'),
    "tag starting with a dot": ({"redis.image.tag": ".7"}, "redis.image.tag"),
    "bad digest": ({"operator.image.digest": "sha256:abc"}, "operator.image.digest"),
    "bad repository": ({"modelServer.image.repository": "Storybang/Inference"}, "modelServer.image.repository"),
    "ingress without host": ({"ingress.host": ""}, "ingress.host is required when ingress.enabled=true"),
    "tls without secret": ({"ingress.tls.enabled": True}, "ingress.tls.secretName is required"),
    "smtp without host": ({"platform.mail.backend": "smtp"}, "platform.mail.smtpHost is required"),
    "token lifetimes": (
        {"platform.auth.accessTokenTTLSeconds": 3600, "platform.auth.refreshTokenTTLSeconds": 3600},
        "accessTokenTTLSeconds must be shorter than platform.auth.refreshTokenTTLSeconds",
    ),
    "settings key": (
        {"platform.settings": {"SECRET": "x"}},
        'platform.settings key "SECRET" must start with STORYBANG_',
    ),
    "negative domain replicas": ({"domainServices.identity.replicas": -1}, "domainServices.identity.replicas"),
    "autoscaling bounds": (
        {"domainServices.stories.autoscaling": {"minReplicas": 5, "maxReplicas": 2}},
        "domainServices.stories.autoscaling.minReplicas (5) must not exceed",
    ),
    "scale to zero cooldown": (
        {"generators.translate.workers": {"minReplicas": 0, "cooldownSeconds": 60}},
        "generators.translate: with workers.minReplicas=0, workers.cooldownSeconds (60) must be at least",
    ),
    "workers without backend": (
        {"modelServer.enabled": False},
        "backends is empty and modelServer.enabled=false: give the",
    ),
    "backend with both sources": (
        {
            "generators.story.backends": [
                {"name": "x", "modelServerRef": {"name": "a"}, "external": {"baseURL": "https://b", "model": "m"}}
            ]
        },
        "give exactly one of modelServerRef, external and apertium",
    ),
    "apertium telling stories": (
        {"generators.story.backends": [{"name": "apertium", "apertium": {}}]},
        "an apertium backend only translates; give it to generators.translate",
    ),
    "watch namespaces with cluster scope": (
        {"operator.watchNamespaces": ["a"]},
        "operator.watchNamespaces is only read",
    ),
    "same port twice": ({"operator.healthPort": 9090}, "operator.metrics.port and operator.healthPort must differ"),
    "migrations without platform": ({"platform.enabled": False}, "migrations.enabled needs platform.enabled"),
    # values.schema.json (generated from the @param comments) catches types, enums and typos.
    "unknown value": ({"redis.enable": True}, "enable"),
    "wrong type": ({"operator.replicas": "two"}, "operator"),
    "enum": ({"operator.scope": "cluster-wide"}, "scope"),
    "pull policy": ({"platform.image.pullPolicy": "Sometimes"}, "pullPolicy"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_invalid_values_are_refused_with_a_clear_message(render: Render, case: str) -> None:
    values, message = REFUSED[case]
    with pytest.raises(RenderError) as failure:
        render(values)
    assert message in str(failure.value), str(failure.value)


def test_schema_documents_every_value_with_a_description() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())

    def walk(node: dict[str, Any], path: str) -> None:
        if "properties" in node and node.get("additionalProperties") is False:
            for key, sub in node["properties"].items():
                walk(sub, f"{path}.{key}".lstrip("."))
        else:
            assert node.get("description"), path

    walk(schema, "")


def test_tags_with_a_digest_suffix_are_accepted(render: Render) -> None:
    """skaffold's `tag@digest` form."""
    render({"platform.image.tag": "abc123@sha256:" + "0" * 64})


def test_translation_can_run_offline_on_apertium(render: Render) -> None:
    """The CRD's apertium backend (a CPU-only platform's choice) passes the chart's checks too."""
    manifests = render({"generators.translate.backends": [{"name": "apertium", "apertium": {}}]})
    [translate] = [m for m in manifests if m["kind"] == "Generator" and m["spec"]["task"] == "translate"]
    assert translate["spec"]["backends"] == [{"name": "apertium", "apertium": {}}]
