"""The Kopf layer: handlers are registered for every kind (and none needs a finalizer), invalid
specs stop retrying and say why, a pass that changes nothing patches nothing, and the resync
queue reconciles what Kopf's change handlers have seen."""

from __future__ import annotations

import base64
import contextlib
import datetime
from collections.abc import Callable
from typing import Any

import kopf
import pytest

import storybang_operator  # registers the handlers, as `kopf run -m storybang_operator` does
from storybang_operator import errors, handlers, k8s, metrics, pods, reconcile, resync, status
from storybang_operator.handlers import kinds, lifecycle, nudges, passes, state
from storybang_operator.settings import OperatorSettings
from tests.conftest import PROFILES

PLURALS = {"platforms", "domainservices", "generators", "modelservers"}


class RecordingApi:
    """What the resync pass writes through the API: status patches and Events."""

    def __init__(self) -> None:
        self.patched: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []

    def patch_status(self, owner: Any, fields: dict[str, Any]) -> None:
        self.patched.append(dict(fields))

    def post_event(self, owner: Any, **event: Any) -> None:
        self.events.append(event)


@pytest.fixture
def api() -> RecordingApi:
    return RecordingApi()


@pytest.fixture
def events() -> list[dict[str, Any]]:
    """Events the change handlers post. Kopf posts through the running operator's queue; there
    is no operator in these tests, so the operator is given a poster that records them."""
    return []


@pytest.fixture
def operator(api: RecordingApi, events: list[dict[str, Any]]) -> state.Operator:
    """The operator as the start-up handler makes it, with the API and the Event poster
    recording what they are asked to do, and no Redis (no reconciler here reads a queue)."""
    settings = OperatorSettings(profiles_dir=PROFILES, metrics_port=0)
    context = reconcile.Context(
        api=api,  # type: ignore[arg-type]
        queues=None,  # type: ignore[arg-type]
        settings=settings,
        metrics=metrics.Metrics(),
    )
    return state.Operator(context=context, warn=lambda body, **kw: events.append(kw))


@pytest.fixture
def reconciler(operator: state.Operator) -> Callable[[dict[str, Any] | Exception], None]:
    """Make the DomainService reconciler return a status or raise."""

    def use(result: dict[str, Any] | Exception) -> None:
        def run(ctx: Any, body: Any) -> dict[str, Any]:
            if isinstance(result, Exception):
                raise result
            return result

        operator.reconcilers["DomainService"] = run

    return use


def _body(**status_: Any) -> dict[str, Any]:
    body = {
        "apiVersion": "storybang.io/v1alpha1",
        "kind": "DomainService",
        "metadata": {"name": "stories", "namespace": "stories", "uid": "u-1", "generation": 2},
        "spec": {"domain": "stories"},
    }
    if status_:
        body["status"] = status_
    return body


Use = Callable[[dict[str, Any] | Exception], None]


def test_every_kind_has_change_handlers_and_an_index_and_nothing_needs_a_finalizer() -> None:
    assert storybang_operator.handlers is handlers
    registry = kopf.get_default_registry()
    changing = {h.selector.any_name for h in registry._changing.get_all_handlers()}
    indexing = {h.selector.any_name for h in registry._indexing.get_all_handlers()}
    assert changing >= PLURALS
    assert indexing >= PLURALS
    # No timers or daemons (unless peering is on): a finalizer would keep every resource from
    # being deleted while the operator is down.
    assert not list(registry._spawning.get_all_handlers())
    assert not any(h.requires_finalizer for h in registry._changing.get_all_handlers())


def test_with_peering_each_kind_is_resynced_by_a_kopf_timer() -> None:
    registry = kopf.OperatorRegistry()
    kinds.register_timers(OperatorSettings(profiles_dir=PROFILES, replicas=2, resync_seconds=7), registry)
    timers = registry._spawning.get_all_handlers()
    assert {h.selector.any_name for h in timers} == PLURALS
    assert {h.interval for h in timers} == {7}  # type: ignore[union-attr]


def test_invalid_spec_sets_ready_false_posts_an_event_and_stops(
    operator: state.Operator, events: list[dict[str, Any]], reconciler: Use
) -> None:
    reconciler(errors.InvalidSpec("domain must be one of …"))
    patch = kopf.Patch()
    with pytest.raises(kopf.PermanentError):
        passes.changed(operator, "DomainService", kopf.Body(_body()), patch)
    [ready] = patch["status"]["conditions"]
    assert (ready["type"], ready["status"], ready["reason"]) == ("Ready", "False", "InvalidSpec")
    assert patch["status"]["observedGeneration"] == 2
    assert events == [{"reason": "InvalidSpec", "message": "domain must be one of …"}]


def test_a_spec_the_model_refuses_stops_with_the_field_path_in_ready(
    operator: state.Operator, events: list[dict[str, Any]]
) -> None:
    body = _body()
    body["spec"] = {"platformRef": {"name": "storybang"}, "domain": "billing"}
    patch = kopf.Patch()
    with pytest.raises(kopf.PermanentError, match=r"spec\.domain must be one of"):
        passes.changed(operator, "DomainService", kopf.Body(body), patch)
    [ready] = patch["status"]["conditions"]
    assert (ready["status"], ready["reason"]) == ("False", "InvalidSpec")
    assert ready["message"].startswith("spec.domain must be one of 'identity'")
    assert [e["reason"] for e in events] == ["InvalidSpec"]


def test_resync_of_an_unchanged_invalid_spec_does_nothing(
    operator: state.Operator, api: RecordingApi, reconciler: Use
) -> None:
    failed = reconcile.failed(_body(), errors.InvalidSpec("bad"))
    called = []
    reconciler(errors.InvalidSpec("bad"))
    operator.reconcilers["DomainService"] = lambda ctx, body: called.append(1) or {}  # type: ignore[func-returns-value]
    passes.resynced(operator, "DomainService", _body(**failed), "resync")
    assert called == [] and api.patched == [] and api.events == []


def test_resync_waits_until_the_change_handler_has_seen_the_generation(
    operator: state.Operator, api: RecordingApi, reconciler: Use
) -> None:
    reconciler({"observedGeneration": 2, "replicas": 1})
    passes.resynced(operator, "DomainService", _body(observedGeneration=1), "resync")
    assert api.patched == []


def test_a_missing_dependency_is_reported_and_left_to_the_resync_queue(
    operator: state.Operator, events: list[dict[str, Any]], reconciler: Use
) -> None:
    reconciler(errors.DependencyNotReady("Platform p does not exist", reason="PlatformNotFound"))
    patch = kopf.Patch()
    passes.changed(operator, "DomainService", kopf.Body(_body()), patch)  # no Kopf retry
    assert patch["status"]["conditions"][0]["reason"] == "PlatformNotFound"
    assert patch["status"]["observedGeneration"] == 2  # so that the resync queue takes it
    assert events == []


def test_an_api_failure_is_retried_by_kopf(
    operator: state.Operator, events: list[dict[str, Any]], reconciler: Use
) -> None:
    reconciler(errors.ApiError("GET /apis/...: 503 unavailable", status=503))
    patch = kopf.Patch()
    with pytest.raises(kopf.TemporaryError):
        passes.changed(operator, "DomainService", kopf.Body(_body()), patch)
    assert patch["status"]["conditions"][0]["reason"] == "ApiError"
    # The operator's queue of work shows the retry, and no pass still running.
    registry = operator.context.metrics.registry
    assert (
        registry.get_sample_value("storybang_operator_retries_total", {"kind": "DomainService", "reason": "ApiError"})
        == 1
    )
    assert registry.get_sample_value("storybang_operator_passes_in_progress", {"kind": "DomainService"}) == 0


def test_converged_pass_patches_nothing(
    operator: state.Operator, events: list[dict[str, Any]], api: RecordingApi, reconciler: Use
) -> None:
    ready = status.condition("Ready", True, "Available", "2/2 replicas available", generation=2)
    current = {"observedGeneration": 2, "conditions": [ready], "replicas": 2, "readyReplicas": 2}
    desired = {
        **current,
        "conditions": [
            status.condition("Ready", True, "Available", "2/2 replicas available", generation=2, previous=[ready])
        ],
    }
    reconciler(desired)
    patch = kopf.Patch()
    passes.changed(operator, "DomainService", kopf.Body(_body(**current)), patch)
    passes.resynced(operator, "DomainService", _body(**current), "resync")
    assert not patch and api.patched == [] and api.events == []


def test_changed_status_is_patched_field_by_field(
    operator: state.Operator, events: list[dict[str, Any]], api: RecordingApi, reconciler: Use
) -> None:
    current = {"observedGeneration": 2, "replicas": 2, "readyReplicas": 1}
    reconciler({**current, "readyReplicas": 2})
    patch = kopf.Patch()
    passes.changed(operator, "DomainService", kopf.Body(_body(**current)), patch)
    assert dict(patch) == {"status": {"readyReplicas": 2}}
    passes.resynced(operator, "DomainService", _body(**current), "resync")
    assert api.patched == [{"readyReplicas": 2}]


def test_a_spec_found_invalid_on_resync_is_reported_once(
    operator: state.Operator, api: RecordingApi, reconciler: Use
) -> None:
    reconciler(errors.InvalidSpec("the API server rejected a child: …", reason="Rejected"))
    body = _body(observedGeneration=2)
    passes.resynced(operator, "DomainService", body, "resync")
    assert api.events == [{"reason": "Rejected", "message": "the API server rejected a child: …"}]
    [fields] = api.patched
    assert fields["conditions"][0]["reason"] == "Rejected"


def test_a_rejected_child_is_re_examined_by_resync_but_an_invalid_spec_is_not(
    operator: state.Operator, api: RecordingApi, reconciler: Use
) -> None:
    """A refusal by the API server (an admission policy, a LimitRange) may be lifted without a
    new spec: the next resync pass tries again; a spec that cannot be parsed waits for a new one."""
    rejected = {"type": "Ready", "status": "False", "reason": "Rejected", "message": "denied"}
    available = status.condition("Ready", True, "Available", "1/1 replicas available", generation=2)
    reconciler({"observedGeneration": 2, "conditions": [available]})
    passes.resynced(operator, "DomainService", _body(observedGeneration=2, conditions=[rejected]), "resync")
    assert [fields["conditions"][0]["reason"] for fields in api.patched] == ["Available"]
    invalid = {**rejected, "reason": "InvalidSpec"}
    passes.resynced(operator, "DomainService", _body(observedGeneration=2, conditions=[invalid]), "resync")
    assert len(api.patched) == 1


def test_a_pod_nudges_its_owner_when_it_tells_what_the_status_does_not() -> None:
    pod = {
        "metadata": {
            "name": "writer-7d9c-abcde",
            "namespace": "stories",
            "labels": {
                "app.kubernetes.io/name": "storybang",
                "app.kubernetes.io/instance": "writer",
                "app.kubernetes.io/component": "worker",
            },
        },
        "status": {
            "containerStatuses": [
                {"name": "worker", "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off"}}}
            ]
        },
    }
    assert nudges.owner_of_pod(pod) == ("Generator", "stories", "writer")
    progressing = status.condition("Ready", False, "Progressing", "0/1 replicas available", generation=1)
    assert nudges.pod_differs("Generator", {"status": {"conditions": [progressing]}}, pod)
    told = status.condition(
        "Ready", False, "ImagePullBackOff", "pod writer-7d9c-abcde: container worker: Back-off", generation=1
    )
    assert not nudges.pod_differs("Generator", {"status": {"conditions": [told]}}, pod)
    # Once the pod has no problem, an owner still showing one is reconciled again.
    healthy = {**pod, "status": {}}
    assert nudges.pod_differs("Generator", {"status": {"conditions": [told]}}, healthy)
    assert not nudges.pod_differs("Generator", {"status": {"conditions": [progressing]}}, healthy)
    assert nudges.owner_of_pod({"metadata": {"labels": {"app": "other"}}}) is None


def test_a_model_server_shown_downloading_is_not_reconciled_again_for_its_loading_pod() -> None:
    started = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    labels = {
        "app.kubernetes.io/name": "storybang",
        "app.kubernetes.io/component": "model-server",
        "app.kubernetes.io/instance": "smollm2",
    }
    running = {"name": "inference", "ready": False, "state": {"running": {"startedAt": started}}}
    pod = {
        "metadata": {"name": "smollm2-7d9c-abcde", "namespace": "stories", "labels": labels},
        "status": {"containerStatuses": [running]},
    }
    loading = pods.diagnose([pod], loading_seconds=1800)
    assert loading is not None and loading.reason == "Loading"
    said = pods.downloading(loading)
    downloading = status.condition("Ready", False, said.reason, said.message, generation=1)
    owner = {"status": {"conditions": [downloading], "downloadedBytes": 150_000_000}}
    assert not nudges.pod_differs("ModelServer", owner, pod)
    # Once the download's figure is gone (the model is loading from disk), Loading is news.
    assert nudges.pod_differs("ModelServer", {"status": {"conditions": [downloading]}}, pod)


def test_a_deployment_not_yet_available_leaves_a_reason_told_by_the_pods() -> None:
    told = status.condition("Ready", False, "CrashLoopBackOff", "pod p: container c keeps exiting", generation=1)
    owner = {"status": {"conditions": [told], "workers": 2, "readyWorkers": 1}}
    assert not nudges.deployment_differs("Generator", owner, _deployment(2, 1))
    assert nudges.deployment_differs("Generator", owner, _deployment(2, 2))


def _deployment(replicas: int, available: int) -> dict[str, Any]:
    return {
        "metadata": {"generation": 1},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": 1,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "availableReplicas": available,
        },
    }


def test_a_deployment_nudges_its_owner_only_when_the_status_is_behind() -> None:
    ready = status.condition("Ready", True, "Available", "2/2 replicas available", generation=1)
    owner = {"status": {"conditions": [ready], "workers": 2, "readyWorkers": 2}}
    assert not nudges.deployment_differs("Generator", owner, _deployment(2, 2))
    assert nudges.deployment_differs("Generator", owner, _deployment(2, 1))
    assert nudges.deployment_differs("Generator", owner, _deployment(3, 3))


class RecordingQueue:
    def __init__(self) -> None:
        self.nudged: list[tuple[resync.Key, str]] = []

    def nudge(self, key: resync.Key, trigger: str = "child") -> None:
        self.nudged.append((key, trigger))


def test_a_reconciled_dependency_nudges_what_waits_for_it(operator: state.Operator) -> None:
    def waiting(reason: str) -> dict[str, Any]:
        return _body(conditions=[{"type": "Ready", "status": "False", "reason": reason}])

    indices = {
        "DomainService": {("stories", "waits"): [waiting("PlatformNotReady")]},
        "Generator": {
            ("stories", "story"): [waiting("BackendNotReady")],
            ("stories", "fine"): [waiting("Progressing")],
            ("elsewhere", "story"): [waiting("BackendNotReady")],
        },
    }
    queue = RecordingQueue()
    operator.indices = indices  # type: ignore[assignment]
    operator.queue = queue  # type: ignore[assignment]
    ready = {"conditions": [{"type": "Ready", "status": "True"}]}
    assert nudges.ready_for_dependents("Platform", {"status": ready})
    assert not nudges.ready_for_dependents("Platform", {"status": {}})
    assert nudges.ready_for_dependents("ModelServer", {"status": {"model": "smollm2"}})
    nudges.nudge_waiting(operator, "stories")
    assert sorted(queue.nudged) == [
        (("DomainService", "stories", "waits"), "dependency"),
        (("Generator", "stories", "story"), "dependency"),
    ]


def test_a_new_domain_service_nudges_its_platform(operator: state.Operator) -> None:
    queue = RecordingQueue()
    operator.queue = queue  # type: ignore[assignment]
    body = _body()
    body["spec"]["platformRef"] = {"name": "storybang"}
    nudges.nudge_platform_of(operator, body)
    assert queue.nudged == [(("Platform", "stories", "storybang"), "child")]


def test_only_our_deployments_and_pods_are_asked_of_the_api_server() -> None:
    settings = kopf.OperatorSettings()
    lifecycle.configure_kopf(settings, OperatorSettings(profiles_dir=PROFILES))
    selectors = settings.watching.label_selectors
    ours = ["app.kubernetes.io/managed-by=storybang-operator"]
    assert selectors.collect(kopf.Resource("apps", "v1", "deployments")) == ours
    assert selectors.collect(kopf.Resource("", "v1", "pods")) == ours
    # The custom resources, Secrets and Kopf's own watches are not narrowed.
    assert selectors.collect(kopf.Resource("storybang.io", "v1alpha1", "generators")) == []
    assert selectors.collect(kopf.Resource("metrics.k8s.io", "v1beta1", "pods")) == []
    assert selectors.collect(kopf.Resource("", "v1", "namespaces")) == []


def test_the_secrets_a_pass_finds_missing_are_followed_by_name(operator: state.Operator) -> None:
    class Secrets(k8s.Api):
        """`read_secret` as it is, over Secrets held here rather than in an API server."""

        def __init__(self, found: dict[str, dict[str, Any]]) -> None:
            self.found = found

        def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> Any:
            return self.found.get(name)

    secrets = Secrets({"storybang-redis": {"data": {"address": base64.b64encode(b"redis:6379").decode()}}})
    key = ("DomainService", "stories", "stories")
    operator.indices = {"DomainService": {("stories", "stories"): [_body()]}}  # type: ignore[dict-item]

    def a_condition_only(ctx: Any, body: Any) -> dict[str, Any]:
        with contextlib.suppress(errors.DependencyNotReady):  # as a queue that cannot be read
            secrets.read_secret("stories", "storybang-redis", "url")
        return {}

    operator.reconcilers["DomainService"] = a_condition_only
    passes.changed(operator, "DomainService", kopf.Body(_body()), kopf.Patch())
    assert nudges.waited_secrets(operator) == {("stories", "storybang-redis"): [key]}

    operator.reconcilers["DomainService"] = lambda ctx, body: {"token": secrets.read_secret("stories", "keys", "k")}
    passes.changed(operator, "DomainService", kopf.Body(_body()), kopf.Patch())
    assert nudges.waited_secrets(operator) == {("stories", "keys"): [key]}

    secrets.found["keys"] = {"data": {"k": base64.b64encode(b"v").decode()}}
    passes.changed(operator, "DomainService", kopf.Body(_body()), kopf.Patch())
    assert nudges.waited_secrets(operator) == {}

    del secrets.found["keys"]
    passes.changed(operator, "DomainService", kopf.Body(_body()), kopf.Patch())
    operator.indices = {"DomainService": {}}  # type: ignore[dict-item]
    assert nudges.waited_secrets(operator) == {}  # a resource that is gone waits for nothing
