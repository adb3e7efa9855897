"""The figures of a status: written when they move enough to matter, left out when unknown, and
the queries that select one resource's series."""

from __future__ import annotations

from storybang_operator import slo


def test_a_figure_within_its_tolerance_keeps_the_one_shown() -> None:
    # A resync every half minute must not rewrite a status for a job more or a second older.
    assert slo.settle(100, 108, slo.QUEUE_DEPTH) == 100
    assert slo.settle(100, 115, slo.QUEUE_DEPTH) == 115
    assert slo.settle(40, 52, slo.OLDEST_AGE) == 40
    assert slo.settle(40, 60, slo.OLDEST_AGE) == 60
    assert slo.settle(12.3, 12.9, slo.DURATION) == 12.3
    assert slo.settle(12.3, 14.0, slo.DURATION) == 14.0


def test_small_queues_show_every_job() -> None:
    assert slo.settle(3, 4, slo.QUEUE_DEPTH) == 4
    assert slo.settle(3, 3.2, slo.WAITING) == 3


def test_reaching_or_leaving_zero_is_written_at_once() -> None:
    assert slo.settle(10, 0, slo.OLDEST_AGE) == 0
    assert slo.settle(0, 3, slo.OLDEST_AGE) == 3
    assert slo.settle(0.0, 0.4, slo.TOKENS_PER_SECOND) == 0.4


def test_figures_are_rounded_to_what_a_column_shows() -> None:
    assert slo.settle(None, 41.6, slo.OLDEST_AGE) == 42
    assert isinstance(slo.settle(None, 41.6, slo.OLDEST_AGE), int)
    assert slo.settle(None, 1.23456, slo.DURATION) == 1.23
    assert slo.settle(None, 17.06, slo.TOKENS_PER_SECOND) == 17.1


def test_a_figure_without_a_source_is_left_out_not_zero() -> None:
    # None removes the field in the merge patch of the status; its column shows <none>.
    shown = {"queueDepth": 7, "p95JobDurationSeconds": 3.5}
    new = {"queueDepth": (None, slo.QUEUE_DEPTH), "p95JobDurationSeconds": (3.6, slo.DURATION)}
    assert slo.figures(shown, new) == {"queueDepth": None, "p95JobDurationSeconds": 3.5}
    assert slo.figures(None, {"queueDepth": (2, slo.QUEUE_DEPTH)}) == {"queueDepth": 2}


def test_job_durations_are_those_of_one_platform_and_task_that_ended() -> None:
    query = slo.job_duration_p95("stories", "story-bang", "story")
    assert query == (
        "histogram_quantile(0.95, sum by (le) (rate(storybang_generation_job_duration_seconds_bucket"
        '{namespace="stories", platform="story-bang", task="story", outcome=~"succeeded|failed"}[15m])))'
    )


def test_model_server_queries_ask_both_engines_for_its_pods_only() -> None:
    waiting = slo.requests_waiting("stories", "llama.story")
    pods = r'{namespace="stories", component="model-server", pod=~"llama\\.story-[a-z0-9]+-[a-z0-9]+"}'
    assert waiting == f"sum(storybang_inference_requests_waiting{pods}) or sum(vllm:num_requests_waiting{pods})"
    tokens = slo.tokens_per_second("stories", "llama.story")
    assert "storybang_inference_generated_tokens_total" in tokens
    assert "vllm:generation_tokens_total" in tokens
    assert "[5m]" in tokens
