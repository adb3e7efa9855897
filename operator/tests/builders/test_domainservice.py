"""DomainService → Deployment, Service, HPA, PDB."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from storybang_operator import errors
from storybang_operator.builders import domainservice
from tests.builders import typed
from tests.builders.pods import assert_owned, assert_restricted, by_kind, env_names, one, pod_specs

Example = Callable[..., dict[str, Any]]
DOMAINS = ["identity", "characters", "stories", "generation", "notifier", "web"]


def _build(ds: dict[str, Any], plat: dict[str, Any]) -> list[dict[str, Any]]:
    return domainservice.build(typed.domain_service(ds), typed.platform(plat))


@pytest.fixture
def plat(example: Example) -> dict[str, Any]:
    return example("Platform", "storybang")


@pytest.mark.parametrize("name", DOMAINS)
def test_every_domain_renders_owned_restricted_pods(example: Example, plat: dict[str, Any], name: str) -> None:
    ds = example("DomainService", name)
    children = _build(ds, plat)
    assert_owned(children, ds)
    [pod] = pod_specs(children)
    assert_restricted(pod)
    assert pod["serviceAccountName"] == "storybang-workload"


def test_api_domain_runs_serve_and_notifier_runs_notifier(example: Example, plat: dict[str, Any]) -> None:
    stories = one(_build(example("DomainService", "stories"), plat), "Deployment")
    notifier = one(_build(example("DomainService", "notifier"), plat), "Deployment")
    assert stories["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "storybang",
        "serve",
        "--domain",
        "stories",
    ]
    assert notifier["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "storybang",
        "notifier",
    ]


def test_pods_read_settings_from_the_platform(example: Example, plat: dict[str, Any]) -> None:
    [pod] = pod_specs(_build(example("DomainService", "identity"), plat))
    container = pod["containers"][0]
    assert container["image"] == "ghcr.io/storybang/storybang:0.1.0"
    assert container["envFrom"] == [{"configMapRef": {"name": "storybang-config"}}]
    env = env_names(container)
    assert {
        "STORYBANG_REDIS__URL",
        "STORYBANG_MYSQL__URL",
        "STORYBANG_MONGO__URL",
        "STORYBANG_AUTH__SIGNING_KEY",
    } <= set(env)
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def test_fixed_replicas_render_no_hpa(example: Example, plat: dict[str, Any]) -> None:
    children = _build(example("DomainService", "identity"), plat)
    assert one(children, "Deployment")["spec"]["replicas"] == 2
    assert by_kind(children, "HorizontalPodAutoscaler") == []


def test_autoscaling_leaves_replicas_to_the_hpa(example: Example, plat: dict[str, Any]) -> None:
    children = _build(example("DomainService", "stories"), plat)
    assert "replicas" not in one(children, "Deployment")["spec"]
    hpa = one(children, "HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 8)
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "stories",
    }
    assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 70


def test_service_selects_the_deployments_pods(example: Example, plat: dict[str, Any]) -> None:
    children = _build(example("DomainService", "characters"), plat)
    selector = one(children, "Service")["spec"]["selector"]
    labels = one(children, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items()
    assert one(children, "Service")["spec"]["ports"][0]["port"] == 8000


def test_pdb_defaults_to_one_unavailable_and_follows_the_spec(example: Example, plat: dict[str, Any]) -> None:
    assert one(_build(example("DomainService", "identity"), plat), "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    web = one(_build(example("DomainService", "web"), plat), "PodDisruptionBudget")["spec"]
    assert web["minAvailable"] == 1 and "maxUnavailable" not in web


def test_disabled_pdb_is_not_rendered(example: Example, plat: dict[str, Any]) -> None:
    ds = example("DomainService", "identity")
    ds["spec"]["podDisruptionBudget"]["enabled"] = False
    assert by_kind(_build(ds, plat), "PodDisruptionBudget") == []


def test_unknown_domain_is_an_invalid_spec(example: Example, plat: dict[str, Any]) -> None:
    ds = example("DomainService", "identity")
    ds["spec"]["domain"] = "billing"
    with pytest.raises(errors.InvalidSpec, match="domain must be one of"):
        _build(ds, plat)


def test_identity_migrates_the_sql_schema_before_serving(example: Example, plat: dict[str, Any]) -> None:
    [pod] = pod_specs(_build(example("DomainService", "identity"), plat))
    [migrate] = pod["initContainers"]
    assert migrate["command"] == ["storybang", "migrate"]
    assert env_names(migrate) == env_names(pod["containers"][0])
    [other] = pod_specs(_build(example("DomainService", "stories"), plat))
    assert "initContainers" not in other
