"""Readiness from a Deployment's status, conditions, and status diffs."""

from __future__ import annotations

from typing import Any

from storybang_operator import status


def _deployment(desired: int, **st: Any) -> dict[str, Any]:
    return {
        "metadata": {"generation": 2},
        "spec": {"replicas": desired},
        "status": {"observedGeneration": 2, **st},
    }


def test_missing_deployment_is_not_ready() -> None:
    assert status.deployment_readiness(None).ready is False


def test_rolled_out_deployment_is_ready() -> None:
    r = status.deployment_readiness(_deployment(2, replicas=2, updatedReplicas=2, availableReplicas=2))
    assert (r.ready, r.reason, r.ready_replicas) == (True, "Available", 2)


def test_partly_available_deployment_is_progressing() -> None:
    r = status.deployment_readiness(_deployment(3, replicas=3, updatedReplicas=3, availableReplicas=1))
    assert (r.ready, r.reason) == (False, "Progressing")
    assert "1/3" in r.message


def test_unseen_generation_is_progressing_even_if_available() -> None:
    d = _deployment(1, replicas=1, updatedReplicas=1, availableReplicas=1)
    d["status"]["observedGeneration"] = 1
    assert status.deployment_readiness(d).ready is False


def test_stuck_rollout_says_so() -> None:
    d = _deployment(
        1,
        conditions=[
            {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": "took too long",
            }
        ],
    )
    r = status.deployment_readiness(d)
    assert (r.ready, r.reason) == (False, "RolloutStuck")


def test_scaled_to_zero_is_ready() -> None:
    r = status.deployment_readiness(_deployment(0))
    assert (r.ready, r.reason) == (True, "ScaledToZero")


def test_transition_time_moves_only_when_the_status_flips() -> None:
    first = status.condition("Ready", False, "Progressing", "0/1", generation=1, timestamp="2030-01-01T00:00:00Z")
    same = status.condition(
        "Ready",
        False,
        "Progressing",
        "0/1",
        generation=1,
        previous=[first],
        timestamp="2030-01-02T00:00:00Z",
    )
    flipped = status.condition(
        "Ready",
        True,
        "Available",
        "1/1",
        generation=1,
        previous=[same],
        timestamp="2030-01-03T00:00:00Z",
    )
    assert same == first
    assert flipped["lastTransitionTime"] == "2030-01-03T00:00:00Z"


def test_unchanged_status_needs_no_write() -> None:
    ready = status.condition("Ready", True, "Available", "1/1", generation=3)
    current = {"observedGeneration": 3, "conditions": [ready], "endpoint": "http://x", "url": None}
    desired = {
        "observedGeneration": 3,
        "conditions": [status.condition("Ready", True, "Available", "1/1", generation=3, previous=[ready])],
        "url": None,
    }
    assert status.changes(current, desired) == {}
    assert status.changes(current, {**desired, "observedGeneration": 4}) == {"observedGeneration": 4}
