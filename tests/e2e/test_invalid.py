"""Invalid specs: what the CRD schema forbids is refused by the API server with its message;
what only the operator can judge is reported as Ready=False with the reason, and an Event."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from conftest import StartOperator
from kube import Cluster, eventually, example

Change = Callable[[dict[str, Any]], None]


def _generator() -> dict[str, Any]:
    return example("generator-scale-to-zero.yaml")


def _set(path: str, value: Any) -> Change:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = doc
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        node[last] = value

    return change


REFUSED = [
    (
        _generator,
        _set("spec.workers.minReplicas", 5),
        "workers.minReplicas must not exceed workers.maxReplicas",
    ),
    (_generator, _set("spec.task", "poem"), 'Unsupported value: "poem"'),
    (
        _generator,
        _set(
            "spec.backends.1.external",
            {"baseURL": "https://api.x.ai/v1", "model": "grok"},
        ),
        "a backend has exactly one of modelServerRef, external and apertium",
    ),
    (
        lambda: example("generator-story-xai.yaml"),
        lambda doc: doc["spec"]["backends"].append({"name": "offline", "apertium": {}}),
        "an apertium backend only translates; the task must be translate",
    ),
    (
        _generator,
        _set("spec.workers.cooldownSeconds", 60),
        "workers.cooldownSeconds must be at least",
    ),
    (
        lambda: example("modelserver-gpu-vllm-story.yaml"),
        _set("spec.model", {"bundled": {"name": "smollm2-135m-instruct"}}),
        "a bundled model is served by the transformers engine only",
    ),
    (
        lambda: example("domain-services.yaml", "stories"),
        _set("spec.autoscaling.minReplicas", 9),
        "must not exceed",
    ),
    (
        lambda: example("modelserver-gpu-vllm-story.yaml"),
        _set("spec.cache.accessMode", "ReadWriteOnce"),
        "more than one replica cannot share a ReadWriteOnce or ReadWriteOncePod cache",
    ),
    (
        lambda: example("modelserver-gpu-vllm-story.yaml"),
        _set("spec.podLabels", {"app.kubernetes.io/instance": "other"}),
        "podLabels may not use the app.kubernetes.io/ and storybang.io/ prefixes",
    ),
    (
        lambda: example("modelserver-gpu-vllm-story.yaml"),
        _set("spec.topologySpreadConstraints", [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "Maybe"}]),
        'Unsupported value: "Maybe"',
    ),
]


@pytest.mark.parametrize(("make", "change", "message"), REFUSED, ids=[r[2][:40] for r in REFUSED])
def test_the_api_server_refuses_what_the_schema_forbids(
    cluster: Cluster,
    namespace: str,
    make: Callable[[], dict[str, Any]],
    change: Change,
    message: str,
) -> None:
    doc = copy.deepcopy(make())
    change(doc)
    with pytest.raises(AssertionError) as refused:
        cluster.apply(namespace, [doc])
    assert message in str(refused.value)
    assert "is invalid" in str(refused.value)  # the API server's own words


def test_a_task_cannot_change_once_set(cluster: Cluster, namespace: str) -> None:
    cluster.apply(namespace, [_generator()])
    changed = _generator()
    changed["spec"]["task"] = "story"
    with pytest.raises(AssertionError, match="task is immutable; create another Generator"):
        cluster.apply(namespace, [changed])


@pytest.mark.parametrize(
    ("field", "value"), [("storageClassName", "another-class"), ("accessMode", "ReadWriteOncePod")]
)
def test_what_a_cache_claim_cannot_change_in_place_is_refused(
    cluster: Cluster, namespace: str, field: str, value: str
) -> None:
    server = example("modelserver-gpu-vllm-story.yaml")
    server["spec"]["autoscaling"]["maxReplicas"] = 1
    cluster.apply(namespace, [server])
    changed = copy.deepcopy(server)
    changed["spec"]["cache"][field] = value
    with pytest.raises(AssertionError, match=f"cache.{field} is immutable"):
        cluster.apply(namespace, [changed])
    server["spec"]["cache"]["size"] = "80Gi"  # what a claim can take is accepted
    cluster.apply(namespace, [server])


def _warnings(cluster: Cluster, namespace: str, name: str) -> list[tuple[str, str]]:
    return [
        (e.reason, e.message)
        for e in cluster.events(namespace)
        if e.type == "Warning" and e.involved_object.name == name
    ]


def test_a_spec_the_operator_cannot_render_says_why_and_recovers_when_fixed(
    cluster: Cluster, namespace: str, start_operator: StartOperator
) -> None:
    start_operator(namespace)
    server = example("modelserver-cpu-transformers.yaml")
    # The schema allows any environment; a served name that contradicts model.servedName it does
    # not know about.
    server["spec"]["env"] = [{"name": "STORYBANG_INFERENCE_SERVED_MODEL_NAME", "value": "other"}]
    cluster.apply(namespace, [example("platform.yaml"), server])

    def judged() -> dict[str, Any]:  # it may wait for its Platform first
        ready = cluster.ready(namespace, "ModelServer", "smollm2")
        return ready if ready.get("reason") not in (None, "PlatformNotReady") else {}

    ready = eventually(judged)
    assert (ready["status"], ready["reason"]) == ("False", "InvalidSpec")
    assert "set model.servedName instead" in ready["message"]
    [(reason, message)] = eventually(lambda: _warnings(cluster, namespace, "smollm2"))
    assert reason == "InvalidSpec" and "set model.servedName instead" in message
    assert not cluster.apps.list_namespaced_deployment(namespace).items

    cluster.patch(namespace, "ModelServer", "smollm2", {"spec": {"env": None}})
    cluster.wait_ready(namespace, "ModelServer", "smollm2")


def test_a_missing_profile_is_reported_with_its_reason(
    cluster: Cluster, namespace: str, start_operator: StartOperator
) -> None:
    start_operator(namespace)
    server = example("modelserver-gpu-vllm-story.yaml")
    server["spec"]["profile"] = "no-such-profile"
    cluster.apply(namespace, [server])
    ready = eventually(lambda: cluster.ready(namespace, "ModelServer", "llama-story"))
    assert (ready["status"], ready["reason"]) == ("False", "ProfileNotFound")
    assert eventually(lambda: _warnings(cluster, namespace, "llama-story"))[0][0] == ("ProfileNotFound")


def test_a_missing_dependency_is_reported_and_waited_for(
    cluster: Cluster, namespace: str, start_operator: StartOperator
) -> None:
    start_operator(namespace)
    cluster.apply(namespace, [example("platform.yaml"), _generator()])
    cluster.wait_ready(namespace, "Platform", "storybang")
    ready = eventually(
        lambda: (
            cluster.ready(namespace, "Generator", "translate").get("reason") == "BackendNotFound"
            and cluster.ready(namespace, "Generator", "translate")
        )
    )
    assert ready["status"] == "False"
    cluster.apply(namespace, [example("modelserver-cpu-transformers.yaml")])
    cluster.wait_ready(namespace, "Generator", "translate")
