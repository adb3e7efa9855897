"""Generator → worker Deployment and what scales it (a KEDA ScaledObject, or the operator from
the queue's length)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from storybang_operator import errors
from storybang_operator.builders import generator, workerscaling
from tests.builders import typed
from tests.builders.pods import assert_owned, assert_restricted, by_kind, env_names, one, pod_specs

Example = Callable[..., dict[str, Any]]


def _build(
    gen: dict[str, Any],
    plat: dict[str, Any],
    servers: dict[str, Any],
    *,
    keda: bool,
    depth: int | None = 0,
    current: int | None = None,
) -> list[dict[str, Any]]:
    parsed = {name: typed.model_server(server) for name, server in servers.items()}
    typed_gen = typed.generator(gen)
    plan = workerscaling.plan(typed_gen, keda=keda, queue_depth=depth, current=current)
    return generator.build(typed_gen, typed.platform(plat), parsed, plan=plan)


@pytest.fixture
def plat(example: Example) -> dict[str, Any]:
    return example("Platform", "storybang")


@pytest.fixture
def servers(example: Example) -> dict[str, dict[str, Any]]:
    """The ModelServers of the examples, as the operator has reported them."""
    return {
        "llama-story": example("ModelServer", "llama-story", model="llama-3.1-8b-instruct"),
        "smollm2": example("ModelServer", "smollm2", model="smollm2-135m-instruct"),
    }


@pytest.mark.parametrize("keda", [True, False])
def test_workers_are_owned_restricted_and_run_their_task(
    example: Example, plat: dict[str, Any], servers: dict[str, Any], keda: bool
) -> None:
    gen = example("Generator", "story")
    children = _build(gen, plat, servers, keda=keda)
    assert_owned(children, gen)
    [pod] = pod_specs(children)
    assert_restricted(pod)
    container = pod["containers"][0]
    assert container["command"] == ["storybang", "worker", "--task", "story"]
    assert container["ports"][0]["containerPort"] == 9191
    # KEDA owns the replica count, else the operator sets it from the queue.
    assert ("replicas" in one(children, "Deployment")["spec"]) is not keda
    assert by_kind(children, "HorizontalPodAutoscaler") == []


def test_keda_present_renders_a_scaled_object_on_the_dramatiq_list(
    example: Example, plat: dict[str, Any], servers: dict[str, Any]
) -> None:
    children = _build(example("Generator", "story"), plat, servers, keda=True)
    assert by_kind(children, "HorizontalPodAutoscaler") == []
    scaled = one(children, "ScaledObject")["spec"]
    assert scaled["scaleTargetRef"]["name"] == "story"
    assert (scaled["minReplicaCount"], scaled["maxReplicaCount"]) == (1, 6)
    [trigger] = scaled["triggers"]
    assert trigger["type"] == "redis"
    assert trigger["metadata"]["listName"] == "dramatiq:story"
    assert trigger["metadata"]["listLength"] == "5"
    auth = one(children, "TriggerAuthentication")
    assert trigger["authenticationRef"] == {"name": auth["metadata"]["name"]}
    assert auth["spec"]["secretTargetRef"] == [
        {"parameter": "address", "name": "storybang-redis", "key": "address"},
        {"parameter": "password", "name": "storybang-redis", "key": "password"},
    ]


def test_keda_absent_the_workers_follow_the_queue_not_the_cpu(
    example: Example, plat: dict[str, Any], servers: dict[str, Any]
) -> None:
    # story: 1..6 workers, 5 waiting messages per worker.
    gen = example("Generator", "story")
    children = _build(gen, plat, servers, keda=False, depth=17, current=1)
    assert by_kind(children, "ScaledObject") == [] and by_kind(children, "TriggerAuthentication") == []
    assert by_kind(children, "HorizontalPodAutoscaler") == []
    assert one(children, "Deployment")["spec"]["replicas"] == 4  # ceil(17 / 5)
    plan = workerscaling.plan(typed.generator(gen), keda=False, queue_depth=17, current=1)
    assert (plan.autoscaler, plan.observed, plan.reason) == ("Operator", True, "Queue")
    assert "dramatiq:story" in plan.message


@pytest.mark.parametrize(
    ("depth", "current", "expected"),
    [
        (0, None, 1),  # a new Deployment: the minimum
        (1000, 2, 6),  # up at once, to the maximum at most
        (0, 5, 4),  # down by one per pass
        (12, 5, 4),  # ceil(12 / 5) = 3 < 5: still one at a time
        (None, 3, 3),  # the queue cannot be read: the count stays
        (None, None, 1),
        (None, 9, 6),  # within the bounds even then
    ],
)
def test_the_operator_s_worker_count(depth: int | None, current: int | None, expected: int) -> None:
    assert workerscaling.desired_workers(depth, current, target=5, low=1, high=6) == expected


def test_an_unreadable_queue_leaves_the_workers_and_says_so(example: Example) -> None:
    plan = workerscaling.plan(typed.generator(example("Generator", "story")), keda=False, queue_depth=None, current=3)
    assert (plan.replicas, plan.observed, plan.reason) == (3, False, "QueueUnreadable")


def test_scale_to_zero_with_keda(example: Example, plat: dict[str, Any], servers: dict[str, Any]) -> None:
    gen = example("Generator", "translate")
    children = _build(gen, plat, servers, keda=True)
    scaled = one(children, "ScaledObject")["spec"]
    assert scaled["minReplicaCount"] == 0
    assert scaled["cooldownPeriod"] == 600
    assert "replicas" not in one(children, "Deployment")["spec"]
    assert workerscaling.plan(typed.generator(gen), keda=True, queue_depth=None, current=None).reason == "KEDA"


def test_scale_to_zero_without_keda_keeps_one_worker(
    example: Example, plat: dict[str, Any], servers: dict[str, Any]
) -> None:
    gen = example("Generator", "translate")
    deployment = one(_build(gen, plat, servers, keda=False, depth=0, current=0), "Deployment")
    assert deployment["spec"]["replicas"] == 1
    plan = workerscaling.plan(typed.generator(gen), keda=False, queue_depth=0, current=0)
    assert plan.reason == "ScaleToZeroNeedsKEDA" and plan.min_replicas == 1


def test_backends_become_ordered_config_and_secret_refs(
    example: Example, plat: dict[str, Any], servers: dict[str, Any]
) -> None:
    [pod] = pod_specs(_build(example("Generator", "story"), plat, servers, keda=False))
    env = env_names(pod["containers"][0])
    assert json.loads(env["STORYBANG_GENERATION__BACKENDS"]["value"]) == [
        {
            "name": "llama",
            "kind": "openai",
            "base_url": "http://llama-story.stories.svc:8000/v1",
            "model": "llama-3.1-8b-instruct",
        },
        {
            "name": "xai",
            "kind": "openai",
            "base_url": "https://api.x.ai/v1",
            "model": "grok-3-mini",
        },
    ]
    assert env["STORYBANG_GENERATION__API_KEYS__xai"]["valueFrom"] == {
        "secretKeyRef": {"name": "xai-api-key", "key": "api-key"}
    }
    assert env["STORYBANG_GENERATION__MAX_TOKENS"]["value"] == "2048"
    assert env["STORYBANG_WORKER__CONCURRENCY"]["value"] == "4"


def test_no_secret_value_in_the_rendered_workers(
    example: Example, plat: dict[str, Any], servers: dict[str, Any]
) -> None:
    [pod] = pod_specs(_build(example("Generator", "story"), plat, servers, keda=True))
    for item in pod["containers"][0]["env"]:
        if "KEY" in item["name"] or item["name"].endswith("__URL"):
            assert "valueFrom" in item and "value" not in item


def test_grace_period_covers_the_longest_job(example: Example, plat: dict[str, Any], servers: dict[str, Any]) -> None:
    [pod] = pod_specs(_build(example("Generator", "story"), plat, servers, keda=False))
    assert pod["terminationGracePeriodSeconds"] == 180 + 30


def test_missing_model_server_is_a_dependency_not_an_invalid_spec(example: Example, plat: dict[str, Any]) -> None:
    with pytest.raises(errors.DependencyNotReady) as caught:
        _build(example("Generator", "story"), plat, {}, keda=False)
    assert caught.value.reason == "BackendNotFound"


def test_model_server_without_a_model_yet_is_not_ready(example: Example, plat: dict[str, Any]) -> None:
    servers = {"llama-story": example("ModelServer", "llama-story")}
    servers["llama-story"]["spec"]["model"].pop("servedName")
    with pytest.raises(errors.DependencyNotReady) as caught:
        _build(example("Generator", "story"), plat, servers, keda=False)
    assert caught.value.reason == "BackendNotReady"


def test_min_above_max_is_an_invalid_spec(example: Example, plat: dict[str, Any], servers: dict[str, Any]) -> None:
    gen = example("Generator", "story")
    gen["spec"]["workers"] |= {"minReplicas": 9, "maxReplicas": 2}
    with pytest.raises(errors.InvalidSpec, match="minReplicas must not exceed"):
        _build(gen, plat, servers, keda=True)


def test_translation_tries_apertium_then_the_transformers_model_server(
    example: Example, plat: dict[str, Any], servers: dict[str, Any]
) -> None:
    [pod] = pod_specs(_build(example("Generator", "translate"), plat, servers, keda=False))
    listed = json.loads(env_names(pod["containers"][0])["STORYBANG_GENERATION__BACKENDS"]["value"])
    assert listed == [
        # Offline, inside the worker image: no URL, no model.
        {"name": "apertium", "kind": "apertium"},
        # `storybang inference`: OpenAI-compatible plus /v1/translations.
        {
            "name": "smollm2",
            "kind": "storybang",
            "base_url": "http://smollm2.stories.svc:8000/v1",
            "model": "smollm2-135m-instruct",
        },
    ]


def test_a_vllm_model_server_and_an_external_api_are_openai_backends(
    example: Example, plat: dict[str, Any], servers: dict[str, Any]
) -> None:
    [pod] = pod_specs(_build(example("Generator", "story"), plat, servers, keda=False))
    listed = json.loads(env_names(pod["containers"][0])["STORYBANG_GENERATION__BACKENDS"]["value"])
    assert {b["name"]: b["kind"] for b in listed} == {"llama": "openai", "xai": "openai"}


def test_apertium_outside_translation_is_an_invalid_spec(
    example: Example, plat: dict[str, Any], servers: dict[str, Any]
) -> None:
    gen = example("Generator", "story")
    gen["spec"]["backends"].append({"name": "offline", "apertium": {}})
    with pytest.raises(errors.InvalidSpec, match="only translates"):
        _build(gen, plat, servers, keda=False)


@pytest.mark.parametrize("extra", [{"apertium": {}}, {"external": {"baseURL": "https://x/v1", "model": "m"}}])
def test_a_model_server_backend_with_another_source_is_an_invalid_spec(
    example: Example, plat: dict[str, Any], servers: dict[str, Any], extra: dict[str, Any]
) -> None:
    gen = example("Generator", "translate")
    gen["spec"]["backends"][1] |= extra
    with pytest.raises(errors.InvalidSpec, match="exactly one of modelServerRef, external and"):
        _build(gen, plat, servers, keda=False)
