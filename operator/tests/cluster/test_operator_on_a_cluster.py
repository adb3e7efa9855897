"""The operator against a real API server, run by `kopf.testing.KopfRunner` in a fresh namespace.

They need STORYBANG_E2E_KUBECONFIG naming a cluster's kubeconfig (scripts/e2e.sh starts one and
runs them) and fail without it: they are not collected by a plain `pytest` of the operator's
unit tests (see tests/conftest.py). kwok's fake nodes mark pods Running, so Deployments become
available; these tests check what the operator writes, repairs and refuses.
"""

from __future__ import annotations

import base64
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import kubernetes
import pytest
import yaml
from kopf.testing import KopfRunner

from storybang_testing.kube import eventually
from tests.conftest import CRDS, MANIFESTS, PROFILES

KUBECONFIG = os.environ.get("STORYBANG_E2E_KUBECONFIG")

GROUP, VERSION = "storybang.io", "v1alpha1"
RESYNC = 2.0
# The in-process operator's settings, read when it starts: the repository's profiles, a quick
# resync, no metrics port; and its identity. STORYBANG_E2E_OPERATOR_KUBECONFIG can name one bound
# to operator/rbac.yaml, to check that the written-down RBAC is enough; the tests themselves set
# up namespaces and CRDs as the administrator of STORYBANG_E2E_KUBECONFIG.
OPERATOR_ENV = {
    "STORYBANG_OPERATOR_PROFILES_DIR": str(PROFILES),
    "STORYBANG_OPERATOR_RESYNC_SECONDS": str(RESYNC),
    "STORYBANG_OPERATOR_RESYNC_INITIAL_DELAY_SECONDS": "1",
    "STORYBANG_OPERATOR_METRICS_PORT": "0",
    "KUBECONFIG": os.environ.get("STORYBANG_E2E_OPERATOR_KUBECONFIG", KUBECONFIG or ""),
}


@pytest.fixture(scope="module")
def api() -> kubernetes.client.ApiClient:
    if not KUBECONFIG:
        pytest.fail("STORYBANG_E2E_KUBECONFIG is not set: run these through scripts/e2e.sh")
    client = kubernetes.config.new_client_from_config(config_file=KUBECONFIG)
    ext = kubernetes.client.ApiextensionsV1Api(client)
    for path in sorted(CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        try:
            ext.create_custom_resource_definition(crd)
        except kubernetes.client.ApiException as e:
            if e.status != 409:
                raise
            ext.patch_custom_resource_definition(
                crd["metadata"]["name"],
                crd,
                field_manager="storybang-e2e",
                force=True,
                _content_type="application/apply-patch+yaml",
            )
    for path in sorted(CRDS.glob("*.yaml")):
        name = yaml.safe_load(path.read_text())["metadata"]["name"]
        eventually(
            lambda n=name: any(
                c.type == "Established" and c.status == "True"
                for c in ext.read_custom_resource_definition(n).status.conditions or []
            )
        )
    return client


@pytest.fixture
def namespace(api: kubernetes.client.ApiClient) -> Iterator[str]:
    core = kubernetes.client.CoreV1Api(api)
    name = f"sb-{uuid.uuid4().hex[:8]}"
    # Pod Security admission refuses any pod that is not "restricted" in this namespace.
    core.create_namespace({"metadata": {"name": name, "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
    secrets = {
        "storybang-redis": {
            "url": "redis://127.0.0.1:1/0",
            "address": "127.0.0.1:1",
            "password": "p",
        },
        "storybang-mysql": {"url": "mysql+asyncmy://u:p@127.0.0.1/db"},
        "storybang-mongo": {"url": "mongodb://127.0.0.1/db"},
        "storybang-signing-key": {"signing-key": "not-a-real-key"},
        "storybang-smtp": {"password": "p"},
    }
    for secret, data in secrets.items():
        core.create_namespaced_secret(
            name,
            {
                "metadata": {"name": secret},
                "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
            },
        )
    yield name
    core.delete_namespace(name)


@pytest.fixture
def operator(namespace: str) -> Iterator[None]:
    args = ["run", "--standalone", "--namespace", namespace, "-m", "storybang_operator"]
    with KopfRunner(args, timeout=120, env=OPERATOR_ENV) as runner:
        yield
    assert runner.exception is None, runner.output


def _apply(api: kubernetes.client.ApiClient, namespace: str, doc: dict[str, Any]) -> None:
    plural = doc["kind"].lower() + "s"
    kubernetes.client.CustomObjectsApi(api).create_namespaced_custom_object(GROUP, VERSION, namespace, plural, doc)


def _example(filename: str, name: str | None = None) -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all((MANIFESTS / filename).read_text()) if d]
    return next(d for d in docs if name is None or d["metadata"]["name"] == name)


def _status(api: kubernetes.client.ApiClient, namespace: str, plural: str, name: str) -> dict[str, Any]:
    obj = kubernetes.client.CustomObjectsApi(api).get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
    return dict(obj.get("status") or {})


def _ready(st: dict[str, Any]) -> dict[str, Any]:
    return next((c for c in st.get("conditions", []) if c["type"] == "Ready"), {})


def test_platform_and_domain_service_render_their_children(
    api: kubernetes.client.ApiClient, namespace: str, operator: None
) -> None:
    core = kubernetes.client.CoreV1Api(api)
    apps = kubernetes.client.AppsV1Api(api)
    net = kubernetes.client.NetworkingV1Api(api)
    _apply(api, namespace, _example("platform.yaml"))
    _apply(api, namespace, _example("domain-services.yaml", "identity"))
    eventually(lambda: core.read_namespaced_config_map("storybang-config", namespace))
    eventually(lambda: core.read_namespaced_service_account("storybang-workload", namespace))
    deployment = eventually(lambda: apps.read_namespaced_deployment("identity", namespace))
    assert deployment.metadata.owner_references[0].kind == "DomainService"
    eventually(lambda: net.read_namespaced_ingress("storybang", namespace))
    policies = net.list_namespaced_network_policy(namespace).items
    assert any(p.metadata.name == "storybang-default-deny" for p in policies)
    st = eventually(lambda: _status(api, namespace, "domainservices", "identity").get("observedGeneration"))
    assert st == 1
    url = eventually(lambda: _status(api, namespace, "platforms", "storybang").get("url"))
    assert url == "https://stories.example.com"


def test_a_child_deleted_by_hand_comes_back_and_a_converged_resync_writes_nothing(
    api: kubernetes.client.ApiClient, namespace: str, operator: None
) -> None:
    core = kubernetes.client.CoreV1Api(api)
    apps = kubernetes.client.AppsV1Api(api)
    _apply(api, namespace, _example("platform.yaml"))
    _apply(api, namespace, _example("domain-services.yaml", "characters"))
    eventually(lambda: core.read_namespaced_service("characters", namespace))
    old_uid = core.read_namespaced_service("characters", namespace).metadata.uid
    core.delete_namespaced_service("characters", namespace)
    eventually(lambda: core.read_namespaced_service("characters", namespace).metadata.uid != old_uid)

    time.sleep(3 * RESYNC)  # let it settle

    def versions() -> dict[str, str]:
        return {
            "svc": core.read_namespaced_service("characters", namespace).metadata.resource_version,
            "deploy": apps.read_namespaced_deployment("characters", namespace).metadata.resource_version,
            "cm": core.read_namespaced_config_map("storybang-config", namespace).metadata.resource_version,
            "ds": kubernetes.client.CustomObjectsApi(api).get_namespaced_custom_object(
                GROUP, VERSION, namespace, "domainservices", "characters"
            )["metadata"]["resourceVersion"],
        }

    before = versions()
    time.sleep(3 * RESYNC)
    assert versions() == before


def test_invalid_model_server_says_why_and_is_not_retried(
    api: kubernetes.client.ApiClient, namespace: str, operator: None
) -> None:
    ms = _example("modelserver-gpu-vllm-story.yaml")
    ms["spec"]["profile"] = "no-such-profile"
    _apply(api, namespace, ms)
    ready = eventually(lambda: _ready(_status(api, namespace, "modelservers", "llama-story")))
    assert (ready["status"], ready["reason"]) == ("False", "ProfileNotFound")
    events = kubernetes.client.CoreV1Api(api).list_namespaced_event(namespace).items
    assert any(e.reason == "ProfileNotFound" and e.type == "Warning" for e in events)


def test_generator_without_keda_keeps_its_workers_when_the_queue_is_unreadable(
    api: kubernetes.client.ApiClient, namespace: str, operator: None
) -> None:
    _apply(api, namespace, _example("platform.yaml"))
    _apply(api, namespace, _example("modelserver-cpu-transformers.yaml"))
    _apply(api, namespace, _example("generator-scale-to-zero.yaml"))
    apps = kubernetes.client.AppsV1Api(api)
    deployment = eventually(lambda: apps.read_namespaced_deployment("translate", namespace), 60)
    assert deployment.spec.replicas == 1  # no scale to zero without KEDA
    autoscaling = kubernetes.client.AutoscalingV2Api(api)
    assert not autoscaling.list_namespaced_horizontal_pod_autoscaler(namespace).items

    def conditions() -> dict[str, Any]:
        found = _status(api, namespace, "generators", "translate").get("conditions", [])
        by_type = {c["type"]: c for c in found}
        return by_type if "Autoscaling" in by_type else {}

    by_type = eventually(conditions, 60)
    # The test Secret points at no Redis: the depth is unknown, the count stays, and both
    # conditions say so.
    assert (by_type["Autoscaling"]["status"], by_type["Autoscaling"]["reason"]) == ("False", "QueueUnreadable")
    assert by_type["QueueObserved"]["status"] == "False"


def test_every_example_renders_pods_that_pod_security_admits(
    api: kubernetes.client.ApiClient, namespace: str, operator: None
) -> None:
    docs = [d for path in sorted(MANIFESTS.glob("*.yaml")) for d in yaml.safe_load_all(path.read_text()) if d]
    for doc in docs:
        _apply(api, namespace, doc)
    apps = kubernetes.client.AppsV1Api(api)
    core = kubernetes.client.CoreV1Api(api)
    deployments = {d["metadata"]["name"] for d in docs if d["kind"] != "Platform"}

    def all_have_pods() -> bool:
        # The ReplicaSet controller creates the pods; admission refusing one would leave none.
        found = {d.metadata.name for d in apps.list_namespaced_deployment(namespace).items}
        if found != deployments:
            return False
        pods = core.list_namespaced_pod(namespace).items
        owners = {p.metadata.labels.get("app.kubernetes.io/instance") for p in pods}
        return deployments <= owners

    eventually(all_have_pods, 90)
    endpoint = eventually(lambda: _status(api, namespace, "modelservers", "llama-story").get("endpoint"))
    assert endpoint == f"http://llama-story.{namespace}.svc:8000/v1"
    # kwok marks the workers' pods Running and Ready: the Deployment becomes available.
    ready = eventually(
        lambda: (
            _ready(_status(api, namespace, "generators", "story")).get("status") == "True"
            and _ready(_status(api, namespace, "generators", "story"))
        ),
        90,
    )
    assert ready["reason"] == "Available"


def test_turning_autoscaling_off_prunes_the_hpa(
    api: kubernetes.client.ApiClient, namespace: str, operator: None
) -> None:
    autoscaling = kubernetes.client.AutoscalingV2Api(api)
    apps = kubernetes.client.AppsV1Api(api)
    _apply(api, namespace, _example("platform.yaml"))
    _apply(api, namespace, _example("domain-services.yaml", "stories"))
    eventually(lambda: autoscaling.read_namespaced_horizontal_pod_autoscaler("stories", namespace))
    kubernetes.client.CustomObjectsApi(api).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "domainservices",
        "stories",
        {"spec": {"autoscaling": None, "replicas": 3}},
    )

    def hpa_gone() -> bool:
        names = [h.metadata.name for h in autoscaling.list_namespaced_horizontal_pod_autoscaler(namespace).items]
        return "stories" not in names

    eventually(hpa_gone)
    eventually(lambda: apps.read_namespaced_deployment("stories", namespace).spec.replicas == 3)
