"""The operator against a real API server, run by `kopf.testing.KopfRunner` in a fresh namespace.

They need STORYBANG_E2E_KUBECONFIG naming a cluster's kubeconfig (scripts/e2e.sh starts one and
runs them) and fail without it: they are not collected by a plain `pytest` of the operator's
unit tests (see tests/conftest.py). kwok's fake nodes mark pods Running, so Deployments become
available; these tests check what the operator writes, repairs and refuses.
"""

from __future__ import annotations

import time
from typing import Any

import kubernetes
import yaml

from storybang_testing.kube import eventually
from tests.cluster import resources
from tests.cluster.resources import GROUP, RESYNC, VERSION
from tests.conftest import MANIFESTS


def test_platform_and_domain_service_render_their_children(
    api: kubernetes.client.ApiClient, namespace: str, operator: None
) -> None:
    core = kubernetes.client.CoreV1Api(api)
    apps = kubernetes.client.AppsV1Api(api)
    net = kubernetes.client.NetworkingV1Api(api)
    resources.apply(api, namespace, resources.example("platform.yaml"))
    resources.apply(api, namespace, resources.example("domain-services.yaml", "identity"))
    eventually(lambda: core.read_namespaced_config_map("storybang-config", namespace))
    eventually(lambda: core.read_namespaced_service_account("storybang-workload", namespace))
    deployment = eventually(lambda: apps.read_namespaced_deployment("identity", namespace))
    assert deployment.metadata.owner_references[0].kind == "DomainService"
    eventually(lambda: net.read_namespaced_ingress("storybang", namespace))
    policies = net.list_namespaced_network_policy(namespace).items
    assert any(p.metadata.name == "storybang-default-deny" for p in policies)
    st = eventually(lambda: resources.status(api, namespace, "domainservices", "identity").get("observedGeneration"))
    assert st == 1
    url = eventually(lambda: resources.status(api, namespace, "platforms", "storybang").get("url"))
    assert url == "https://stories.example.com"


def test_a_child_deleted_by_hand_comes_back_and_a_converged_resync_writes_nothing(
    api: kubernetes.client.ApiClient, namespace: str, operator: None
) -> None:
    core = kubernetes.client.CoreV1Api(api)
    apps = kubernetes.client.AppsV1Api(api)
    resources.apply(api, namespace, resources.example("platform.yaml"))
    resources.apply(api, namespace, resources.example("domain-services.yaml", "characters"))
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
    ms = resources.example("modelserver-gpu-vllm-story.yaml")
    ms["spec"]["profile"] = "no-such-profile"
    resources.apply(api, namespace, ms)
    ready = eventually(lambda: resources.ready(resources.status(api, namespace, "modelservers", "llama-story")))
    assert (ready["status"], ready["reason"]) == ("False", "ProfileNotFound")
    events = kubernetes.client.CoreV1Api(api).list_namespaced_event(namespace).items
    assert any(e.reason == "ProfileNotFound" and e.type == "Warning" for e in events)


def test_generator_without_keda_keeps_its_workers_when_the_queue_is_unreadable(
    api: kubernetes.client.ApiClient, namespace: str, operator: None
) -> None:
    resources.apply(api, namespace, resources.example("platform.yaml"))
    resources.apply(api, namespace, resources.example("modelserver-cpu-transformers.yaml"))
    resources.apply(api, namespace, resources.example("generator-scale-to-zero.yaml"))
    apps = kubernetes.client.AppsV1Api(api)
    deployment = eventually(lambda: apps.read_namespaced_deployment("translate", namespace), 60)
    assert deployment.spec.replicas == 1  # no scale to zero without KEDA
    autoscaling = kubernetes.client.AutoscalingV2Api(api)
    assert not autoscaling.list_namespaced_horizontal_pod_autoscaler(namespace).items

    def conditions() -> dict[str, Any]:
        found = resources.status(api, namespace, "generators", "translate").get("conditions", [])
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
        resources.apply(api, namespace, doc)
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
    endpoint = eventually(lambda: resources.status(api, namespace, "modelservers", "llama-story").get("endpoint"))
    assert endpoint == f"http://llama-story.{namespace}.svc:8000/v1"
    # kwok marks the workers' pods Running and Ready: the Deployment becomes available.
    ready = eventually(
        lambda: (
            resources.ready(resources.status(api, namespace, "generators", "story")).get("status") == "True"
            and resources.ready(resources.status(api, namespace, "generators", "story"))
        ),
        90,
    )
    assert ready["reason"] == "Available"


def test_turning_autoscaling_off_prunes_the_hpa(
    api: kubernetes.client.ApiClient, namespace: str, operator: None
) -> None:
    autoscaling = kubernetes.client.AutoscalingV2Api(api)
    apps = kubernetes.client.AppsV1Api(api)
    resources.apply(api, namespace, resources.example("platform.yaml"))
    resources.apply(api, namespace, resources.example("domain-services.yaml", "stories"))
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


def test_a_child_refused_by_an_admission_policy_is_applied_once_the_policy_goes(
    api: kubernetes.client.ApiClient, namespace: str, operator: None
) -> None:
    """`Rejected` depends on more than the spec: the resync passes look again, and the resource
    recovers without a new spec once the policy that refused its child is gone."""
    admission = kubernetes.client.AdmissionregistrationV1Api(api)
    policy = {
        "metadata": {"name": f"frozen-{namespace}"},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": ["apps"],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["deployments"],
                    }
                ]
            },
            "validations": [{"expression": "false", "message": "Deployments are frozen here"}],
        },
    }
    binding = {
        "metadata": {"name": f"frozen-{namespace}"},
        "spec": {
            "policyName": f"frozen-{namespace}",
            "validationActions": ["Deny"],
            "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}},
        },
    }
    admission.create_validating_admission_policy(policy)
    admission.create_validating_admission_policy_binding(binding)
    try:
        resources.apply(api, namespace, resources.example("platform.yaml"))
        resources.apply(api, namespace, resources.example("domain-services.yaml", "identity"))

        def refused() -> dict[str, Any]:
            ready = resources.ready(resources.status(api, namespace, "domainservices", "identity"))
            return ready if ready.get("reason") == "Rejected" else {}

        ready = eventually(refused, 60)
        assert "Deployments are frozen here" in ready["message"]
    finally:
        admission.delete_validating_admission_policy_binding(f"frozen-{namespace}")
        admission.delete_validating_admission_policy(f"frozen-{namespace}")
    apps = kubernetes.client.AppsV1Api(api)
    eventually(lambda: apps.read_namespaced_deployment("identity", namespace), 60)
    generation = kubernetes.client.CustomObjectsApi(api).get_namespaced_custom_object(
        GROUP, VERSION, namespace, "domainservices", "identity"
    )["metadata"]["generation"]
    assert generation == 1  # no new spec was needed
