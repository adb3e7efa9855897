"""ModelServer → Deployment (vLLM or transformers), Service, cache PVC, autoscaler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from storybang_operator import errors, profiles
from storybang_operator.builders import modelplan, modelscaling, modelserver
from tests.builders import typed
from tests.builders.pods import assert_owned, assert_restricted, by_kind, env_names, one, pod_specs
from tests.conftest import PROFILES

Example = Callable[..., dict[str, Any]]
IMAGES = {"vllm_image": "vllm/vllm-openai:v0.33.0", "vllm_cpu_image": "vllm-cpu:v0.33.0"}


@pytest.fixture
def plat(example: Example) -> dict[str, Any]:
    return example("Platform", "storybang")


def _build(
    ms: dict[str, Any], plat: dict[str, Any] | None, *, keda: bool = False, custom_metrics: bool = False
) -> list[dict[str, Any]]:
    profile = profiles.load(PROFILES, ms["spec"]["profile"]) if ms["spec"].get("profile") else None
    return modelserver.build(
        typed.model_server(ms),
        profile=profile,
        plat=typed.platform(plat) if plat is not None else None,
        keda=keda,
        custom_metrics=custom_metrics,
        **IMAGES,
    )


def _decide(ms: dict[str, Any], *, keda: bool, custom_metrics: bool) -> modelscaling.Decision:
    parsed = typed.model_server(ms)
    profile = profiles.load(PROFILES, ms["spec"]["profile"]) if ms["spec"].get("profile") else None
    return modelscaling.decide(parsed, modelplan.plan(parsed, profile), keda=keda, custom_metrics=custom_metrics)


def test_vllm_gpu_server_runs_the_official_image_with_profile_args(example: Example, plat: dict[str, Any]) -> None:
    ms = example("ModelServer", "llama-story")
    children = _build(ms, None)
    assert_owned([c for c in children if c["kind"] != "PersistentVolumeClaim"], ms)
    [pod] = pod_specs(children)
    assert_restricted(pod)
    [container] = pod["containers"]
    assert container["image"] == "vllm/vllm-openai:v0.33.0"
    assert container["command"] == ["vllm", "serve"]
    args = container["args"]
    assert args[0] == "meta-llama/Llama-3.1-8B-Instruct"
    assert "--served-model-name=llama-3.1-8b-instruct" in args
    assert "--max-model-len=16384" in args and "--enable-prefix-caching" in args
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert pod["nodeSelector"] == {"storybang.io/pool": "gpu"}
    assert pod["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert env_names(container)["HF_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "huggingface-token"
    assert container["startupProbe"]["failureThreshold"] * container["startupProbe"]["periodSeconds"] >= 1800
    # Up to 3 GPU pods roll one at a time, without a surge pod that would need a spare GPU.
    assert one(children, "Deployment")["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
    }


def test_a_first_download_has_the_whole_startup_window_before_the_rollout_counts_as_stuck(
    example: Example, plat: dict[str, Any]
) -> None:
    for ms in (example("ModelServer", "llama-story"), example("ModelServer", "smollm2")):
        deployment = one(_build(ms, plat), "Deployment")
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        window = container["startupProbe"]["failureThreshold"] * container["startupProbe"]["periodSeconds"]
        assert deployment["spec"]["progressDeadlineSeconds"] > window > 600


def test_gpu_resource_name_and_count_are_configurable(example: Example) -> None:
    ms = example("ModelServer", "llama-story")
    ms["spec"]["gpu"] = {"count": 2, "resourceName": "amd.com/gpu"}
    [pod] = pod_specs(_build(ms, None))
    container = pod["containers"][0]
    assert container["resources"]["limits"]["amd.com/gpu"] == 2
    assert "nvidia.com/gpu" not in container["resources"]["limits"]
    assert "--tensor-parallel-size=2" in container["args"]


def test_cpu_profile_uses_the_cpu_build_of_vllm(example: Example) -> None:
    ms = example("ModelServer", "llama-story")
    ms["spec"] = {"engine": "vllm", "profile": "smollm2-135m", "cache": {"enabled": True}}
    [pod] = pod_specs(_build(ms, None))
    container = pod["containers"][0]
    assert container["image"] == "vllm-cpu:v0.33.0"
    assert "nvidia.com/gpu" not in container["resources"].get("limits", {})
    assert env_names(container)["VLLM_CPU_KVCACHE_SPACE"]["value"] == "1"


def test_transformers_server_runs_storybang_inference(example: Example, plat: dict[str, Any]) -> None:
    ms = example("ModelServer", "smollm2")
    children = _build(ms, plat)
    assert_owned(children, ms)
    [pod] = pod_specs(children)
    assert_restricted(pod)
    container = pod["containers"][0]
    assert container["image"] == "ghcr.io/storybang/storybang:0.1.0"
    assert container["command"] == ["storybang", "inference", "--model", "smollm2-135m-instruct"]
    assert "nvidia.com/gpu" not in container["resources"].get("limits", {})
    assert by_kind(children, "PersistentVolumeClaim") == []  # cache disabled in the example


def test_service_and_endpoint(example: Example) -> None:
    ms = example("ModelServer", "llama-story")
    service = one(_build(ms, None), "Service")
    assert service["spec"]["ports"][0]["port"] == 8000
    assert modelserver.endpoint(typed.model_server(ms)) == "http://llama-story.stories.svc:8000/v1"


def test_cache_pvc_is_mounted_for_hugging_face_downloads(example: Example) -> None:
    children = _build(example("ModelServer", "llama-story"), None)
    pvc = one(children, "PersistentVolumeClaim")
    assert pvc["metadata"]["name"] == "llama-story-cache"
    assert pvc["spec"]["resources"]["requests"]["storage"] == "40Gi"
    [pod] = pod_specs(children)
    assert {"name": "cache", "persistentVolumeClaim": {"claimName": "llama-story-cache"}} in pod["volumes"]
    assert env_names(pod["containers"][0])["HF_HOME"]["value"].startswith("/models/cache")


def test_vllm_autoscales_on_waiting_requests_where_an_adapter_serves_them(example: Example) -> None:
    ms = example("ModelServer", "llama-story")
    children = _build(ms, None, custom_metrics=True)
    assert "replicas" not in one(children, "Deployment")["spec"]
    hpa = one(children, "HorizontalPodAutoscaler")["spec"]
    assert hpa["metrics"][0]["pods"]["metric"]["name"] == "vllm_num_requests_waiting"
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 3)
    assert _decide(ms, keda=False, custom_metrics=True).reason == "CustomMetrics"


@pytest.mark.parametrize("keda", [False, True])
def test_vllm_without_a_metrics_source_renders_no_autoscaler_and_says_why(example: Example, keda: bool) -> None:
    ms = example("ModelServer", "llama-story")
    ms["spec"]["replicas"] = 2
    ms["spec"]["autoscaling"].pop("prometheusAddress", None)
    children = _build(ms, None, keda=keda)
    assert by_kind(children, "HorizontalPodAutoscaler") == [] and by_kind(children, "ScaledObject") == []
    # spec.replicas within the bounds (1..3): turning autoscaling on stops no running replica.
    assert one(children, "Deployment")["spec"]["replicas"] == 2
    decision = _decide(ms, keda=keda, custom_metrics=False)
    assert (decision.scaling, decision.reason) == (False, "NoMetricsSource")
    missing = "prometheusAddress is not set" if keda else "KEDA is not installed"
    assert missing in decision.message and "custom metrics API" in decision.message


def test_vllm_without_a_metrics_source_keeps_replicas_within_the_bounds(example: Example) -> None:
    ms = example("ModelServer", "llama-story")
    ms["spec"]["replicas"] = 9
    assert one(_build(ms, None), "Deployment")["spec"]["replicas"] == 3


def test_transformers_autoscales_on_cpu(example: Example, plat: dict[str, Any]) -> None:
    ms = example("ModelServer", "smollm2")
    ms["spec"]["autoscaling"] = {"minReplicas": 1, "maxReplicas": 3}
    children = _build(ms, plat)
    hpa = one(children, "HorizontalPodAutoscaler")["spec"]
    assert hpa["metrics"][0]["resource"]["name"] == "cpu"
    assert "replicas" not in one(children, "Deployment")["spec"]
    assert _decide(ms, keda=False, custom_metrics=False).reason == "CPU"


def test_without_autoscaling_the_replicas_are_the_spec_s(example: Example, plat: dict[str, Any]) -> None:
    ms = example("ModelServer", "smollm2")
    ms["spec"].pop("autoscaling", None)
    ms["spec"]["replicas"] = 2
    children = _build(ms, plat, keda=True, custom_metrics=True)
    assert one(children, "Deployment")["spec"]["replicas"] == 2
    assert by_kind(children, "HorizontalPodAutoscaler") == [] and by_kind(children, "ScaledObject") == []


def test_vllm_uses_keda_with_a_prometheus_address(example: Example) -> None:
    ms = example("ModelServer", "llama-story")
    ms["spec"]["autoscaling"]["prometheusAddress"] = "http://prometheus.monitoring:9090"
    # KEDA's Prometheus trigger comes before an adapter's custom metric.
    children = _build(ms, None, keda=True, custom_metrics=True)
    assert by_kind(children, "HorizontalPodAutoscaler") == []
    scaled = one(children, "ScaledObject")["spec"]
    assert "replicas" not in one(children, "Deployment")["spec"]
    assert (scaled["minReplicaCount"], scaled["maxReplicaCount"]) == (1, 3)
    assert scaled["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llama-story"}
    [trigger] = scaled["triggers"]
    assert trigger["type"] == "prometheus"
    assert trigger["metadata"]["query"] == (
        'sum(vllm:num_requests_waiting{namespace="stories",model_name="llama-3.1-8b-instruct"})'
    )
    assert trigger["metadata"]["serverAddress"] == "http://prometheus.monitoring:9090"


def test_model_from_a_pvc_is_mounted_read_only(example: Example) -> None:
    ms = example("ModelServer", "llama-story")
    ms["spec"]["model"] = {"pvc": {"claimName": "weights", "path": "llama/8b"}}
    [pod] = pod_specs(_build(ms, None))
    container = pod["containers"][0]
    assert container["args"][0] == "/models/source/llama/8b"
    assert {"name": "model", "mountPath": "/models/source", "readOnly": True} in container["volumeMounts"]


def test_pvc_path_may_not_leave_the_volume(example: Example) -> None:
    ms = example("ModelServer", "llama-story")
    ms["spec"]["model"] = {"pvc": {"claimName": "weights", "path": "../etc"}}
    with pytest.raises(errors.InvalidSpec, match="inside the volume"):
        _build(ms, None)


def test_vllm_without_profile_or_model_is_an_invalid_spec(example: Example) -> None:
    ms = example("ModelServer", "llama-story")
    ms["spec"] = {"engine": "vllm"}
    with pytest.raises(errors.InvalidSpec, match="needs a profile or a model"):
        _build(ms, None)


def test_bundled_model_on_vllm_is_an_invalid_spec(example: Example) -> None:
    ms = example("ModelServer", "smollm2")
    ms["spec"]["engine"] = "vllm"
    with pytest.raises(errors.InvalidSpec, match="transformers engine only"):
        _build(ms, None)


def test_transformers_without_image_or_platform_is_an_invalid_spec(example: Example) -> None:
    ms = example("ModelServer", "smollm2")
    del ms["spec"]["platformRef"]
    with pytest.raises(errors.InvalidSpec, match="image or a platformRef"):
        _build(ms, None)


def test_transformers_server_answers_to_the_name_the_operator_reports(example: Example, plat: dict[str, Any]) -> None:
    # `storybang inference --model smollm2-135m-instruct` would serve "smollm2" by default; the
    # Generators send status.model, so the server is told that name.
    ms = example("ModelServer", "smollm2")
    [pod] = pod_specs(_build(ms, plat))
    env = env_names(pod["containers"][0])
    served = modelplan.plan(typed.model_server(ms), None).served_name
    assert served == "smollm2-135m-instruct"
    assert env["STORYBANG_INFERENCE_SERVED_MODEL_NAME"]["value"] == served


def test_transformers_served_name_follows_model_served_name(example: Example, plat: dict[str, Any]) -> None:
    ms = example("ModelServer", "smollm2")
    ms["spec"]["model"]["servedName"] = "tiny"
    ms["spec"]["env"] = [{"name": "STORYBANG_INFERENCE_SERVED_MODEL_NAME", "value": "tiny"}]
    [pod] = pod_specs(_build(ms, plat))
    container = pod["containers"][0]
    served = [e for e in container["env"] if e["name"] == "STORYBANG_INFERENCE_SERVED_MODEL_NAME"]
    assert served == [{"name": "STORYBANG_INFERENCE_SERVED_MODEL_NAME", "value": "tiny"}]
    assert modelplan.plan(typed.model_server(ms), None).served_name == "tiny"


def test_a_served_name_in_env_that_differs_is_an_invalid_spec(example: Example, plat: dict[str, Any]) -> None:
    ms = example("ModelServer", "smollm2")
    ms["spec"]["env"] = [{"name": "STORYBANG_INFERENCE_SERVED_MODEL_NAME", "value": "other"}]
    with pytest.raises(errors.InvalidSpec, match=r"set model\.servedName instead"):
        _build(ms, plat)


def _single(ms: dict[str, Any]) -> dict[str, Any]:
    ms["spec"].pop("autoscaling", None)
    ms["spec"]["replicas"] = 1
    return ms


def test_one_gpu_server_is_recreated_since_its_successor_would_need_a_spare_gpu(example: Example) -> None:
    ms = _single(example("ModelServer", "llama-story"))
    assert one(_build(ms, None), "Deployment")["spec"]["strategy"] == {"type": "Recreate"}


def test_one_cpu_server_on_a_single_node_cache_is_recreated(example: Example, plat: dict[str, Any]) -> None:
    ms = example("ModelServer", "smollm2")
    ms["spec"]["cache"] = {"enabled": True, "accessMode": "ReadWriteOnce"}
    assert one(_build(ms, plat), "Deployment")["spec"]["strategy"] == {"type": "Recreate"}
    ms["spec"]["cache"] = {"enabled": False}
    assert one(_build(ms, plat), "Deployment")["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }


def test_several_cpu_servers_roll_one_at_a_time_with_one_surge_pod(example: Example, plat: dict[str, Any]) -> None:
    ms = example("ModelServer", "smollm2")
    ms["spec"]["replicas"] = 3
    ms["spec"]["cache"] = {"mode": "perPod"}
    assert one(_build(ms, plat), "Deployment")["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }


def test_several_replicas_on_a_single_node_cache_claim_are_an_invalid_spec(example: Example) -> None:
    ms = example("ModelServer", "llama-story")
    for mode in ("ReadWriteOnce", "ReadWriteOncePod"):
        ms["spec"]["cache"]["accessMode"] = mode
        with pytest.raises(errors.InvalidSpec, match=r"cache\.accessMode ReadWriteMany, or cache\.mode perPod"):
            _build(ms, None)
    ms["spec"]["cache"] = {"mode": "perPod", "accessMode": "ReadWriteOnce"}
    assert _build(ms, None)


def test_a_per_pod_cache_is_an_ephemeral_claim_made_with_each_pod(example: Example) -> None:
    ms = example("ModelServer", "llama-story")
    ms["spec"]["cache"] = {"mode": "perPod", "size": "80Gi", "storageClassName": "local-nvme"}
    children = _build(ms, None)
    assert by_kind(children, "PersistentVolumeClaim") == []
    [pod] = pod_specs(children)
    [cache] = [v for v in pod["volumes"] if v["name"] == "cache"]
    assert cache["ephemeral"]["volumeClaimTemplate"]["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "80Gi"}},
        "storageClassName": "local-nvme",
    }
    assert_restricted(pod)


def test_the_shared_cache_claim_outlives_its_server_unless_asked(example: Example) -> None:
    """No owner reference: the garbage collector leaves it and pruning (which confirms the
    reference) never deletes it; the owner-uid label names the server that uses it now."""
    ms = example("ModelServer", "llama-story")
    pvc = one(_build(ms, None), "PersistentVolumeClaim")
    assert "ownerReferences" not in pvc["metadata"]
    assert pvc["metadata"]["labels"]["storybang.io/owner-uid"] == ms["metadata"]["uid"]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    ms["spec"]["cache"]["deleteWithServer"] = True
    pvc = one(_build(ms, None), "PersistentVolumeClaim")
    assert_owned([pvc], ms)


def _template(children: list[dict[str, Any]]) -> dict[str, Any]:
    template: dict[str, Any] = one(children, "Deployment")["spec"]["template"]
    return template


def test_a_platform_setting_does_not_restart_vllm_servers_which_do_not_read_it(
    example: Example, plat: dict[str, Any]
) -> None:
    ms = example("ModelServer", "llama-story")
    ms["spec"]["platformRef"] = {"name": plat["metadata"]["name"]}
    before = _template(_build(ms, plat))
    changed = {**plat, "spec": {**plat["spec"], "settings": {"STORYBANG_STORY__MAX_WORDS": "900"}}}
    changed["spec"]["auth"] = {**plat["spec"].get("auth", {}), "accessTokenTTLSeconds": 600}
    assert _template(_build(ms, changed)) == before
    assert "storybang.io/config-hash" not in before["metadata"]["annotations"]


def test_a_platform_setting_restarts_transformers_servers_which_read_it(example: Example, plat: dict[str, Any]) -> None:
    ms = example("ModelServer", "smollm2")
    before = _template(_build(ms, plat))
    changed = {**plat, "spec": {**plat["spec"], "settings": {"STORYBANG_STORY__MAX_WORDS": "900"}}}
    after = _template(_build(ms, changed))
    hash_key = "storybang.io/config-hash"
    assert after["metadata"]["annotations"][hash_key] != before["metadata"]["annotations"][hash_key]


def test_scheduling_knobs_reach_the_pods(example: Example) -> None:
    ms = example("ModelServer", "llama-story")
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "gpu.product", "operator": "In", "values": ["H100"]}]}
                ]
            }
        }
    }
    ms["spec"] |= {
        "affinity": affinity,
        "priorityClassName": "serving-high",
        "runtimeClassName": "nvidia",
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway"},
            {
                "maxSkew": 2,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"team": "stories"}},
            },
        ],
        "sharedMemorySize": "16Gi",
        "podLabels": {"team": "stories"},
        "podAnnotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"},
    }
    children = _build(ms, None)
    template = _template(children)
    pod = template["spec"]
    assert pod["affinity"] == affinity
    assert pod["priorityClassName"] == "serving-high"
    assert pod["runtimeClassName"] == "nvidia"
    zone, host = pod["topologySpreadConstraints"]
    # Without a selector a constraint means the server's own pods.
    assert zone["labelSelector"] == {"matchLabels": one(children, "Deployment")["spec"]["selector"]["matchLabels"]}
    assert host["labelSelector"] == {"matchLabels": {"team": "stories"}}
    assert {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}} in pod["volumes"]
    assert template["metadata"]["labels"]["team"] == "stories"
    assert "team" not in one(children, "Deployment")["metadata"]["labels"]
    assert template["metadata"]["annotations"]["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "false"
    assert_restricted(pod)


def test_vllm_gets_two_gigabytes_of_shared_memory_and_transformers_none_unless_set(
    example: Example, plat: dict[str, Any]
) -> None:
    [vllm] = pod_specs(_build(example("ModelServer", "llama-story"), None))
    assert {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}} in vllm["volumes"]
    ms = example("ModelServer", "smollm2")
    [transformers] = pod_specs(_build(ms, plat))
    assert "shm" not in {v["name"] for v in transformers["volumes"]}
    ms["spec"]["sharedMemorySize"] = "1Gi"
    [transformers] = pod_specs(_build(ms, plat))
    assert {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}} in transformers["volumes"]


@pytest.mark.parametrize(
    ("field", "key"),
    [
        ("podLabels", "app.kubernetes.io/instance"),
        ("podLabels", "storybang.io/owner-uid"),
        ("podAnnotations", "storybang.io/config-hash"),
    ],
)
def test_pod_labels_and_annotations_of_the_operator_s_own_are_an_invalid_spec(
    example: Example, field: str, key: str
) -> None:
    ms = example("ModelServer", "llama-story")
    ms["spec"][field] = {key: "mine"}
    with pytest.raises(errors.InvalidSpec, match=f"{field} may not use"):
        _build(ms, None)
