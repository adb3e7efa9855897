"""A ModelServer with minReplicas 0: sized by the operator on its Generators' jobs, refused without one,
and announced to the Generators' workers as a backend that may be starting."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from storybang_operator.builders import generator, modelplan, modelscaling, modelserver, workerscaling
from tests.builders import typed
from tests.builders.pods import by_kind, env_names, one, pod_specs

Example = Callable[..., dict[str, Any]]
IMAGES = {"vllm_image": "vllm/vllm-openai:v0.33.0", "vllm_cpu_image": "vllm-cpu:v0.33.0"}
QUEUES = ["dramatiq:story"]


def _from_zero(example: Example, name: str = "smollm2") -> dict[str, Any]:
    ms = example("ModelServer", name)
    ms["spec"]["autoscaling"] = {"minReplicas": 0, "maxReplicas": 3, "scaleToZeroAfterSeconds": 120}
    return ms


def _build(ms: dict[str, Any], plat: dict[str, Any], demand: modelscaling.Demand | None, *, keda: bool) -> list[Any]:
    return modelserver.build(
        typed.model_server(ms), profile=None, plat=typed.platform(plat), keda=keda, demand=demand, **IMAGES
    )


@pytest.mark.parametrize("keda", [True, False])
def test_a_job_wakes_a_server_at_zero_and_no_other_autoscaler_fights_the_operator(example: Example, keda: bool) -> None:
    plat = example("Platform", "storybang")
    children = _build(_from_zero(example), plat, modelscaling.Demand(QUEUES, 1, 0, 0), keda=keda)
    assert one(children, "Deployment")["spec"]["replicas"] == 1
    assert by_kind(children, "HorizontalPodAutoscaler") == [] and by_kind(children, "ScaledObject") == []


def _decide(example: Example, demand: modelscaling.Demand | None) -> modelscaling.Decision:
    parsed = typed.model_server(_from_zero(example))
    return modelscaling.decide(parsed, modelplan.plan(parsed, None), keda=True, custom_metrics=True, demand=demand)


def test_the_condition_names_the_queues_and_the_idle_period(example: Example) -> None:
    decision = _decide(example, modelscaling.Demand(QUEUES, 7, 0, 1))
    assert (decision.autoscaler, decision.replicas, decision.scaling, decision.reason) == ("Operator", 2, True, "Queue")
    assert "dramatiq:story" in decision.message and "to zero after 120 s" in decision.message


@pytest.mark.parametrize(
    ("jobs", "current", "idle", "expected"),
    [
        (0, 0, 0, 0),  # asleep, nobody waits: stays at zero
        (0, None, 0, 0),  # a new server nobody uses yet does not start
        (1, 0, 0, 1),  # the first job wakes it
        (12, 1, 0, 3),  # grows at once, within maxReplicas
        (0, 2, 30, 2),  # idle for a moment between two jobs: kept
        (0, 2, 120, 0),  # idle for scaleToZeroAfterSeconds: stopped
        (2, 3, 0, 2),  # shrinks by one per pass while there are jobs
    ],
)
def test_replicas_from_zero(jobs: int, current: int | None, idle: float, expected: int) -> None:
    assert modelscaling.replicas_from_zero(jobs, current, target=5, high=3, idle_seconds=idle, after=120) == expected


@pytest.mark.parametrize("demand", [None, modelscaling.Demand([], 0, 500, 0)])
def test_zero_without_a_generator_to_wake_it_is_refused_and_keeps_a_replica(
    example: Example, demand: modelscaling.Demand | None
) -> None:
    decision = _decide(example, demand)
    assert (decision.autoscaler, decision.replicas, decision.scaling) == (None, 1, False)
    assert decision.reason == "ScaleToZeroNeedsQueue"
    assert "no Generator" in decision.message


def test_an_unreadable_queue_keeps_the_replicas_and_says_so(example: Example) -> None:
    decision = _decide(example, modelscaling.Demand(QUEUES, None, 0, 2))
    assert (decision.replicas, decision.scaling, decision.reason) == (2, False, "QueueUnreadable")


def test_generators_wait_for_a_server_that_may_be_at_zero(example: Example) -> None:
    plat = example("Platform", "storybang")
    llama = _from_zero(example, "llama-story")
    llama["status"] = {"model": "llama-3.1-8b-instruct"}
    gen = typed.generator(example("Generator", "story"))
    plan = workerscaling.plan(gen, keda=False, queue_depth=0, current=None)
    servers = {"llama-story": typed.model_server(llama)}
    [pod] = pod_specs(generator.build(gen, typed.platform(plat), servers, plan=plan))
    listed = json.loads(env_names(pod["containers"][0])["STORYBANG_GENERATION__BACKENDS"]["value"])
    cold = {b["name"]: b.get("cold_start_seconds") for b in listed}
    assert cold == {"llama": generator.COLD_START_SECONDS, "xai": None}  # an external API is down when it refuses
