"""Why pods are not ready, from pod statuses shaped as the kubelet and the scheduler write them
(the PodStatus and ContainerStatus of the Kubernetes API reference, with the messages kubelets
and kube-scheduler print)."""

from __future__ import annotations

import datetime
from typing import Any

from storybang_operator import pods, status

NOW = datetime.datetime(2026, 12, 3, 7, 0, tzinfo=datetime.UTC)


def _pod(name: str = "writer-7d9c-abcde", **st: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "stories"}, "status": st}


SCHEDULED = {"type": "PodScheduled", "status": "True"}


def _waiting(reason: str, message: str | None = None, **extra: Any) -> dict[str, Any]:
    waiting = {"reason": reason} | ({"message": message} if message else {})
    return {"name": "worker", "ready": False, "restartCount": 0, "state": {"waiting": waiting}, **extra}


def test_an_image_that_cannot_be_pulled_says_so_with_the_kubelets_words() -> None:
    backoff = _pod(
        phase="Pending",
        conditions=[SCHEDULED],
        containerStatuses=[_waiting("ImagePullBackOff", 'Back-off pulling image "registry.example/storybang:nope"')],
    )
    problem = pods.diagnose([backoff])
    assert problem is not None
    assert problem.reason == "ImagePullBackOff"
    assert problem.message == (
        'pod writer-7d9c-abcde: container worker: Back-off pulling image "registry.example/storybang:nope"'
    )
    err = _pod(
        phase="Pending",
        conditions=[SCHEDULED],
        containerStatuses=[_waiting("ErrImagePull", "rpc error: code = NotFound desc = failed to pull and unpack")],
    )
    found = pods.diagnose([err])
    assert found is not None and found.reason == "ImagePullBackOff"  # one reason while the kubelet alternates
    assert "NotFound" in found.message


def test_a_crash_loop_gives_the_last_exit_reason_and_code_but_no_counters() -> None:
    crashing = _pod(
        phase="Running",
        conditions=[SCHEDULED],
        containerStatuses=[
            _waiting(
                "CrashLoopBackOff",
                "back-off 40s restarting failed container=worker pod=writer-7d9c-abcde_stories(uid)",
                restartCount=4,
                lastState={
                    "terminated": {
                        "exitCode": 137,
                        "reason": "OOMKilled",
                        "startedAt": "2026-12-03T06:58:00Z",
                        "finishedAt": "2026-12-03T06:58:09Z",
                    }
                },
            )
        ],
    )
    problem = pods.diagnose([crashing])
    assert problem is not None and problem.reason == "CrashLoopBackOff"
    assert (
        problem.message == "pod writer-7d9c-abcde: container worker keeps exiting; last exit: OOMKilled (exit code 137)"
    )
    assert "40s" not in problem.message and "4" not in problem.message.replace("137", "")


def test_a_crash_loop_carries_the_termination_message() -> None:
    crashing = _pod(
        containerStatuses=[
            _waiting(
                "CrashLoopBackOff",
                lastState={
                    "terminated": {"exitCode": 1, "reason": "Error", "message": "invalid STORYBANG_* settings\n"}
                },
            )
        ]
    )
    problem = pods.diagnose([crashing])
    assert problem is not None
    assert problem.message.endswith("last exit: Error (exit code 1): invalid STORYBANG_* settings")


def test_a_missing_secret_key_is_the_kubelets_create_container_config_error() -> None:
    pod = _pod(
        phase="Pending",
        conditions=[SCHEDULED],
        containerStatuses=[
            _waiting("CreateContainerConfigError", "couldn't find key url in Secret stories/storybang-redis")
        ],
    )
    problem = pods.diagnose([pod])
    assert problem is not None
    assert (problem.reason, problem.message) == (
        "CreateContainerConfigError",
        "pod writer-7d9c-abcde: container worker: couldn't find key url in Secret stories/storybang-redis",
    )


def test_no_node_with_a_free_gpu_is_unschedulable_with_the_schedulers_message() -> None:
    message = (
        "0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available: "
        "3 No preemption victims found for incoming pod."
    )
    pod = _pod(
        phase="Pending",
        conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}],
    )
    problem = pods.diagnose([pod])
    assert problem is not None and problem.reason == "Unschedulable"
    assert "Insufficient nvidia.com/gpu" in problem.message


def test_an_unbound_claim_is_a_pending_volume() -> None:
    message = "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: not eligible."
    pod = _pod(
        phase="Pending",
        conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}],
    )
    problem = pods.diagnose([pod])
    assert problem is not None and problem.reason == "VolumePending"
    assert message in problem.message


def test_a_multi_attach_event_names_the_volume_held_elsewhere() -> None:
    pod = _pod(
        phase="Pending",
        conditions=[SCHEDULED],
        containerStatuses=[_waiting("ContainerCreating")],
    )
    assert pods.diagnose([pod]) is None and pods.waits_for_volumes(pod)
    multi = (
        'Multi-Attach error for volume "pvc-1234" Volume is already used by pod(s) llama-5f7b-xyz12 and 1 other pod(s)'
    )
    events = [
        {
            "type": "Normal",
            "reason": "Scheduled",
            "message": "Successfully assigned",
            "lastTimestamp": "2026-12-03T06:59:00Z",
        },
        {"type": "Warning", "reason": "FailedAttachVolume", "message": multi, "lastTimestamp": "2026-12-03T06:59:05Z"},
    ]
    problem = pods.volume_problem(pod, events)
    assert problem is not None and problem.reason == "VolumeMultiAttach"
    assert multi in problem.message
    mount = {
        "type": "Warning",
        "reason": "FailedMount",
        "message": "MountVolume.SetUp failed",
        "lastTimestamp": "2026-12-03T06:59:09Z",
    }
    later = pods.volume_problem(pod, [*events, mount])
    assert later is not None and later.reason == "FailedMount"


def test_a_running_pod_is_not_waiting_for_volumes() -> None:
    running = _pod(
        phase="Running",
        conditions=[SCHEDULED],
        containerStatuses=[
            {"name": "worker", "ready": True, "state": {"running": {"startedAt": "2026-12-03T06:00:00Z"}}}
        ],
    )
    assert not pods.waits_for_volumes(running)
    assert pods.volume_problem(running, []) is None


def test_a_model_server_loading_within_its_startup_window_is_loading_or_downloading_without_invented_bytes() -> None:
    started = "2026-12-03T06:45:00Z"
    pod = _pod(
        phase="Running",
        conditions=[SCHEDULED, {"type": "Ready", "status": "False", "reason": "ContainersNotReady"}],
        containerStatuses=[
            {"name": "vllm", "ready": False, "started": False, "state": {"running": {"startedAt": started}}}
        ],
    )
    problem = pods.diagnose([pod], loading_seconds=1800, now=NOW)
    assert problem is not None and problem.reason == "Loading"
    assert started in problem.message and "downloading or loading its model" in problem.message
    assert not any(unit in problem.message for unit in ("byte", "MB", "GB", "MiB", "GiB", "%"))
    # A server that reports the bytes it has downloaded is Downloading, the figure kept out of the
    # message (a changed figure alone must not rewrite the condition); other problems stay as they are.
    said = pods.downloading(problem)
    assert (said.reason, said.rank) == ("Downloading", problem.rank)
    assert said.message.startswith(problem.message) and "status.downloadedBytes" in said.message
    crashing = pods.Problem("CrashLoopBackOff", "pod x: container vllm exited", pods.CONTAINER)
    assert pods.downloading(crashing) == crashing
    # Past its startup window it is no longer reported as loading, and other kinds never are.
    assert pods.diagnose([pod], loading_seconds=600, now=NOW) is None
    assert pods.diagnose([pod]) is None


def test_the_most_telling_problem_wins_and_the_same_pods_give_the_same_answer() -> None:
    loading = _pod(
        "a-loading",
        containerStatuses=[
            {"name": "vllm", "ready": False, "state": {"running": {"startedAt": "2026-12-03T06:59:00Z"}}}
        ],
    )
    unschedulable = _pod(
        "b-pending",
        conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes"}],
    )
    crashing = _pod("c-crash", containerStatuses=[_waiting("CrashLoopBackOff")])
    found = pods.diagnose([loading, unschedulable, crashing], loading_seconds=1800, now=NOW)
    again = pods.diagnose([crashing, unschedulable, loading], loading_seconds=1800, now=NOW)
    assert found == again and found is not None and found.reason == "CrashLoopBackOff"


def test_a_pod_being_deleted_and_routine_waits_say_nothing() -> None:
    going = _pod(containerStatuses=[_waiting("CrashLoopBackOff")])
    going["metadata"]["deletionTimestamp"] = "2026-12-03T06:59:00Z"
    creating = _pod(conditions=[SCHEDULED], containerStatuses=[_waiting("ContainerCreating")])
    assert pods.diagnose([going, creating]) is None


def test_a_long_message_is_cut() -> None:
    pod = _pod(containerStatuses=[_waiting("CreateContainerError", "x" * 2000)])
    problem = pods.diagnose([pod])
    assert problem is not None and len(problem.message) == pods.MESSAGE_LIMIT


def test_the_pods_tell_a_deployment_that_only_says_not_yet() -> None:
    progressing = status.Readiness(False, "Progressing", "0/1 replicas available, 1 updated", 1, 0)
    problem = pods.Problem("ImagePullBackOff", "pod p: container c: Back-off pulling image", pods.CONTAINER)
    told = status.with_pods(progressing, problem)
    assert (told.ready, told.reason, told.message, told.replicas) == (False, "ImagePullBackOff", problem.message, 1)
    stuck = status.Readiness(False, "RolloutStuck", "ReplicaSet has timed out progressing.")
    assert status.with_pods(stuck, problem).reason == "ImagePullBackOff"
    available = status.Readiness(True, "Available", "1/1 replicas available", 1, 1)
    assert status.with_pods(available, problem) == available
    assert status.with_pods(progressing, None) == progressing
