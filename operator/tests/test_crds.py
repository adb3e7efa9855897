"""The CRDs are well-formed, documented, and accept every example in manifests/ while refusing
the specs their validation rules exist for."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from storybang_testing import crd_schema as schema
from tests.conftest import examples_by_name, load_crds, load_examples

KINDS = {"Platform", "DomainService", "Generator", "ModelServer"}


def _walk(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for key, sub in node.get("properties", {}).items():
        yield from _walk(sub, f"{path}.{key}")
    if isinstance(node.get("items"), dict):
        yield from _walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _walk(node["additionalProperties"], f"{path}{{}}")


def test_one_namespaced_v1alpha1_crd_per_kind(crds: dict[str, dict[str, Any]]) -> None:
    assert set(crds) == KINDS
    for kind, crd in crds.items():
        assert crd["spec"]["group"] == "storybang.io"
        assert crd["spec"]["scope"] == "Namespaced"
        assert crd["metadata"]["name"] == f"{crd['spec']['names']['plural']}.storybang.io", kind
        assert [v["name"] for v in crd["spec"]["versions"]] == ["v1alpha1"]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_field_is_described(kind: str) -> None:
    crd = load_crds()[kind]
    missing = [
        path for path, node in _walk(schema.openapi(crd)) if path not in (".metadata",) and not node.get("description")
    ]
    assert missing == []


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_status_has_conditions_observed_generation_and_a_subresource(kind: str) -> None:
    crd = load_crds()[kind]
    version = crd["spec"]["versions"][0]
    assert "status" in version["subresources"]
    status = schema.openapi(crd)["properties"]["status"]["properties"]
    assert status["observedGeneration"]["type"] == "integer"
    conditions = status["conditions"]
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    item = conditions["items"]
    assert set(item["required"]) == {"type", "status", "lastTransitionTime", "reason", "message"}
    assert item["properties"]["status"]["enum"] == ["True", "False", "Unknown"]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_printer_columns_show_ready_and_age(kind: str) -> None:
    columns = {c["name"]: c for c in load_crds()[kind]["spec"]["versions"][0]["additionalPrinterColumns"]}
    assert columns["Ready"]["jsonPath"] == '.status.conditions[?(@.type=="Ready")].status'
    assert columns["Age"]["jsonPath"] == ".metadata.creationTimestamp"


@pytest.mark.parametrize("kind", ["DomainService", "Generator", "ModelServer"])
def test_printer_columns_of_workloads_say_why_they_are_not_ready(kind: str) -> None:
    columns = {c["name"]: c for c in load_crds()[kind]["spec"]["versions"][0]["additionalPrinterColumns"]}
    assert columns["Reason"]["jsonPath"] == '.status.conditions[?(@.type=="Ready")].reason'


def test_scale_subresource_where_replicas_are_a_spec_field(crds: dict[str, dict[str, Any]]) -> None:
    for kind in ("DomainService", "ModelServer"):
        scale = crds[kind]["spec"]["versions"][0]["subresources"]["scale"]
        assert scale["specReplicasPath"] == ".spec.replicas"
        assert scale["labelSelectorPath"] == ".status.selector"


def test_printer_columns_show_queue_depth_and_endpoint(crds: dict[str, dict[str, Any]]) -> None:
    def columns(kind: str) -> dict[str, str]:
        return {c["name"]: c["jsonPath"] for c in crds[kind]["spec"]["versions"][0]["additionalPrinterColumns"]}

    assert columns("Generator")["Queue"] == ".status.queueDepth"
    assert columns("Generator")["Workers"] == ".status.readyWorkers"
    assert columns("ModelServer")["Endpoint"] == ".status.endpoint"
    assert columns("ModelServer")["Replicas"] == ".status.readyReplicas"


@pytest.mark.parametrize(("where", "doc"), load_examples(), ids=[w for w, _ in load_examples()])
def test_example_is_valid_against_its_crd(where: str, doc: dict[str, Any]) -> None:
    openapi = schema.openapi(load_crds()[doc["kind"]])
    value = copy.deepcopy(doc)
    schema.apply_defaults(openapi, value)
    assert schema.validate(openapi, value) == []
    assert schema.cel_errors(openapi, value) == []


def _broken(kind: str, name: str, change: Any) -> list[str]:
    """Apply `change` to a copy of an example and return the CEL and schema errors."""
    doc = copy.deepcopy(examples_by_name()[(kind, name)])
    change(doc["spec"])
    openapi = schema.openapi(load_crds()[kind])
    schema.apply_defaults(openapi, doc)
    return schema.validate(openapi, doc) + schema.cel_errors(openapi, doc)


def test_backend_needs_exactly_one_of_model_server_ref_external_and_apertium() -> None:
    def both(spec: dict[str, Any]) -> None:
        spec["backends"][0]["external"] = {"baseURL": "https://api.x.ai/v1", "model": "grok"}

    def neither(spec: dict[str, Any]) -> None:
        del spec["backends"][0]["modelServerRef"]

    def also_apertium(spec: dict[str, Any]) -> None:
        spec["backends"][0]["apertium"] = {}

    for change in (both, neither, also_apertium):
        errs = _broken("Generator", "story", change)
        assert any("exactly one of modelServerRef, external and apertium" in e for e in errs), errs


def test_apertium_backend_is_accepted_for_translation_only() -> None:
    def add_apertium(spec: dict[str, Any]) -> None:
        spec["backends"].append({"name": "offline", "apertium": {}})

    assert _broken("Generator", "translate", lambda s: None) == []  # the example has one
    errs = _broken("Generator", "story", add_apertium)
    assert any("apertium backend only translates" in e for e in errs), errs


def test_worker_minimum_above_maximum_is_refused() -> None:
    errs = _broken("Generator", "story", lambda s: s["workers"].update(minReplicas=5, maxReplicas=2))
    assert any("minReplicas must not exceed" in e for e in errs), errs


def test_scale_to_zero_needs_a_cooldown_longer_than_a_job() -> None:
    errs = _broken("Generator", "translate", lambda s: s["workers"].update(cooldownSeconds=60))
    assert any("cooldownSeconds must be at least" in e for e in errs), errs


def test_domain_service_autoscaling_min_above_max_is_refused() -> None:
    errs = _broken("DomainService", "stories", lambda s: s["autoscaling"].update(minReplicas=9, maxReplicas=3))
    assert any("minReplicas must not exceed" in e for e in errs), errs


def test_vllm_model_server_needs_a_profile_or_a_model() -> None:
    def bare(spec: dict[str, Any]) -> None:
        del spec["profile"]
        del spec["model"]

    errs = _broken("ModelServer", "llama-story", bare)
    assert any("a vllm model server needs a profile or a model" in e for e in errs), errs


def test_model_has_exactly_one_source() -> None:
    errs = _broken("ModelServer", "llama-story", lambda s: s["model"].update(pvc={"claimName": "weights"}))
    assert any("exactly one source" in e for e in errs), errs


def test_bundled_model_only_on_transformers() -> None:
    def vllm(spec: dict[str, Any]) -> None:
        spec["engine"] = "vllm"

    errs = _broken("ModelServer", "smollm2", vllm)
    assert any("bundled model is served by the transformers engine only" in e for e in errs), errs


def test_enabled_ingress_needs_a_host_and_tls_a_secret() -> None:
    errs = _broken("Platform", "storybang", lambda s: s["ingress"].pop("host"))
    assert any("ingress.host is required" in e for e in errs), errs
    errs = _broken("Platform", "storybang", lambda s: s["ingress"]["tls"].pop("secretName"))
    assert any("tls.secretName is required" in e for e in errs), errs


def test_extra_settings_must_be_storybang_variables() -> None:
    errs = _broken("Platform", "storybang", lambda s: s.update(settings={"PATH": "/bin"}))
    assert any("settings keys must start with STORYBANG_" in e for e in errs), errs


def test_trusted_proxies_are_addresses_or_networks() -> None:
    accepted = ["10.244.0.0/16", "192.168.1.7", "::1", "fd00:10:244::/56"]
    assert _broken("Platform", "storybang", lambda s: s.update(trustedProxies=accepted)) == []
    for wrong in ("ingress-nginx", "10.0.0.0/33", "*"):
        errs = _broken("Platform", "storybang", lambda s, w=wrong: s.update(trustedProxies=[w]))
        assert any("trustedProxies" in e for e in errs), (wrong, errs)


def test_an_ingress_from_peer_is_selectors_or_an_ip_block_alone() -> None:
    def peers(*given: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
        return lambda s: s["networkPolicies"].update(ingressFrom=list(given))

    good = peers(
        {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "envoy"}}},
        {"ipBlock": {"cidr": "192.0.2.0/24"}},
    )
    assert _broken("Platform", "storybang", good) == []
    for bad in ({}, {"ipBlock": {"cidr": "192.0.2.0/24"}, "namespaceSelector": {}}):
        errs = _broken("Platform", "storybang", peers(bad))
        assert any("an ingressFrom peer is" in e for e in errs), (bad, errs)


def test_access_token_lifetime_is_bounded_by_the_services_limit() -> None:
    errs = _broken("Platform", "storybang", lambda s: s["auth"].update(accessTokenTTLSeconds=7200))
    assert any("accessTokenTTLSeconds" in e for e in errs), errs


def test_unknown_domain_and_task_are_refused() -> None:
    assert _broken("DomainService", "identity", lambda s: s.update(domain="billing"))
    assert _broken("Generator", "story", lambda s: s.update(task="music"))


def test_task_and_domain_are_immutable() -> None:
    openapi = schema.openapi(load_crds()["Generator"])
    old = copy.deepcopy(examples_by_name()[("Generator", "story")])
    new = copy.deepcopy(old)
    new["spec"]["task"] = "image"
    for doc in (old, new):
        schema.apply_defaults(openapi, doc)
    assert any("task is immutable" in e for e in schema.cel_errors(openapi, new, old))
    assert schema.cel_errors(openapi, old, old) == []


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_defaults_pass_their_own_rules_as_the_api_server_checks_them(kind: str) -> None:
    """The API server validates every `default` against the schema and CEL rules below it,
    without filling in nested defaults first, transition rules included (with the default as
    oldSelf too); a CRD whose default breaks a rule is refused."""
    broken = [
        f"{path}: {error}"
        for path, node in _walk(schema.openapi(load_crds()[kind]))
        if "default" in node
        for error in schema.validate(node, node["default"]) + schema.cel_errors(node, node["default"], node["default"])
    ]
    assert broken == []


def test_several_replicas_on_a_single_node_cache_claim_are_refused() -> None:
    message = "more than one replica cannot share a ReadWriteOnce or ReadWriteOncePod cache"
    for mode in ("ReadWriteOnce", "ReadWriteOncePod"):
        errs = _broken("ModelServer", "llama-story", lambda s, mode=mode: s["cache"].update(accessMode=mode))
        assert any(message in e for e in errs), errs

    def replicas(spec: dict[str, Any]) -> None:
        spec.pop("autoscaling")
        spec.update(replicas=2, cache={"accessMode": "ReadWriteOnce"})

    assert any(message in e for e in _broken("ModelServer", "llama-story", replicas))
    for fine in (
        {"accessMode": "ReadWriteMany"},
        {"mode": "perPod", "accessMode": "ReadWriteOncePod"},
        {"enabled": False},
    ):
        assert _broken("ModelServer", "llama-story", lambda s, fine=fine: s.update(cache=fine)) == []

    def single(spec: dict[str, Any]) -> None:
        spec.pop("autoscaling")
        spec.update(replicas=1, cache={"accessMode": "ReadWriteOncePod"})

    assert _broken("ModelServer", "llama-story", single) == []


def _transition(
    change: Callable[[dict[str, Any]], None], start: Callable[[dict[str, Any]], None] | None = None
) -> list[str]:
    openapi = schema.openapi(load_crds()["ModelServer"])
    old = copy.deepcopy(examples_by_name()[("ModelServer", "llama-story")])
    if start is not None:
        start(old["spec"])
    new = copy.deepcopy(old)
    change(new["spec"])
    for doc in (old, new):
        schema.apply_defaults(openapi, doc)
    return schema.cel_errors(openapi, new, old)


def test_what_a_cache_claim_cannot_change_in_place_is_immutable() -> None:
    errs = _transition(lambda s: s["cache"].update(storageClassName="fast"))
    assert any("cache.storageClassName is immutable" in e for e in errs), errs
    errs = _transition(lambda s: s["cache"].update(accessMode="ReadWriteOncePod", mode="shared"))
    assert any("cache.accessMode is immutable" in e for e in errs), errs
    # What the claim can take, and a cache of claims made with each pod, may change.
    assert _transition(lambda s: s["cache"].update(size="80Gi", deleteWithServer=True)) == []
    per_pod = _transition(
        lambda s: s["cache"].update(storageClassName="fast", accessMode="ReadWriteOnce"),
        start=lambda s: s["cache"].update(mode="perPod"),
    )
    assert per_pod == []


def test_pod_labels_and_annotations_of_the_operator_s_own_are_refused() -> None:
    errs = _broken("ModelServer", "llama-story", lambda s: s.update(podLabels={"app.kubernetes.io/instance": "x"}))
    assert any("podLabels may not use" in e for e in errs), errs
    errs = _broken("ModelServer", "llama-story", lambda s: s.update(podAnnotations={"storybang.io/config-hash": "x"}))
    assert any("podAnnotations may not use" in e for e in errs), errs
    fine = {"podLabels": {"team": "stories"}, "podAnnotations": {"example.com/owner": "stories"}}
    assert _broken("ModelServer", "llama-story", lambda s: s.update(fine)) == []


def test_scheduling_knobs_follow_the_core_v1_shapes() -> None:
    spread = {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway"}
    knobs = {
        "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}},
        "priorityClassName": "serving-high",
        "runtimeClassName": "nvidia",
        "topologySpreadConstraints": [spread],
        "sharedMemorySize": "16Gi",
    }
    assert _broken("ModelServer", "llama-story", lambda s: s.update(knobs)) == []
    wrong = {**spread, "whenUnsatisfiable": "Sometimes"}
    assert _broken("ModelServer", "llama-story", lambda s: s.update(topologySpreadConstraints=[wrong]))
    assert _broken("ModelServer", "llama-story", lambda s: s.update(sharedMemorySize="lots"))
    assert _broken("ModelServer", "llama-story", lambda s: s.update(priorityClassName="Not_A_Name"))
