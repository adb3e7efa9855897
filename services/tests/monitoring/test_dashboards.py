"""Every panel of the shipped dashboards shows data when Prometheus scrapes real StoryBang
processes through the chart's relabelling, and the metrics behind them are sound: HELP text, no
label renamed by a clash with a target label, buckets that fit what they time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from storybang_testing import prometheus
from storybang_testing.prometheus import Prometheus
from storybang_testing.waiting import eventually
from tests.monitoring.conftest import Stack
from tests.monitoring.prometheus import annotation_scrape_config

# The operator runs against a Kubernetes API server: its dashboard is checked there
# (tests/e2e/test_monitoring.py).
CHECKED = [name for name in prometheus.dashboard_names() if name != "operator"]


def test_the_chart_ships_one_dashboard_per_audience() -> None:
    assert prometheus.dashboard_names() == ["generation", "model-servers", "notifier", "operator", "overview"]


def test_every_target_is_scraped(stack: Stack) -> None:
    targets = stack.prom.targets()
    assert {t["labels"]["pod"]: t["health"] for t in targets} == {
        "generation-7d9f-abcde": "up",
        "worker-story-5c8b-fghij": "up",
        "notifier-6f7a-klmno": "up",
        "tiny-84c2-pqrst": "up",
    }


def test_the_traffic_had_a_fallback_and_a_failed_job(stack: Stack) -> None:
    assert stack.jobs["story"]["status"] == "succeeded", stack.jobs["story"]
    assert stack.jobs["story"]["backend"] == "tiny"
    assert stack.jobs["translation"]["backend"] == "apertium"
    assert stack.jobs["failure"]["status"] == "failed"


@pytest.mark.parametrize("name", CHECKED)
def test_every_panel_shows_data(stack: Stack, name: str) -> None:
    empty = prometheus.panels_without_data(name, stack.prom)
    assert not empty, "panels without data:\n" + "\n".join(empty)


def test_failures_fallbacks_and_tokens_are_counted_by_what_happened(stack: Stack) -> None:
    prom = stack.prom

    def value(expr: str) -> float:
        result = prom.query(expr)
        assert len(result) == 1, (expr, result)
        return float(result[0]["value"][1])

    assert value('sum(storybang_generation_job_failures_total{task="translate", reason="backends_down"})') == 1
    assert value('sum(storybang_generation_fallbacks_total{task="story", backend="down"})') == 1
    assert value('sum(storybang_generation_backend_requests_total{backend="tiny", outcome="ok"})') >= 1
    assert value('sum(storybang_generation_tokens_total{task="story", backend="tiny"})') > 0
    assert value('sum(storybang_generation_tokens_total{task="translate", backend="apertium"})') > 0
    assert value('sum(storybang_notifier_replays_total{result="complete"})') == 1
    assert value("sum(storybang_generation_queue_depth)") == 0
    assert value('count(storybang_generation_queue_depth{pod="generation-7d9f-abcde"})') == 4  # every task
    # The list of characters, read three times by one writer: from the store once, then kept.
    assert value('sum(storybang_kept_pages_total{scope="characters", result="miss"})') == 1
    assert value('sum(storybang_kept_pages_total{scope="characters", result="hit"})') == 2


def test_no_label_is_renamed_by_a_clash_with_a_target_label(stack: Stack) -> None:
    assert not [n for n in stack.prom.label_names() if n.startswith("exported_")]


def test_every_metric_has_help_text(stack: Stack) -> None:
    metadata = stack.prom.metadata()
    ours = {n: m for n, m in metadata.items() if n.startswith(("storybang_", "http_"))}
    assert len(ours) > 30
    assert not [n for n, m in ours.items() if not all(entry["help"].strip() for entry in m)]


@pytest.mark.parametrize(
    ("metric", "smallest", "largest"),
    [
        ("http_request_duration_seconds", 0.005, 10),
        ("storybang_generation_job_duration_seconds", 0.25, 1200),
        ("storybang_generation_backend_request_duration_seconds", 0.05, 300),
        ("storybang_inference_request_duration_seconds", 0.1, 600),
    ],
)
def test_buckets_fit_what_they_time(stack: Stack, metric: str, smallest: float, largest: float) -> None:
    bounds = {float(s["metric"]["le"]) for s in stack.prom.query(f"{metric}_bucket")} - {float("inf")}
    assert (min(bounds), max(bounds)) == (smallest, largest)


def _target_labels(prom: Prometheus) -> dict[str, dict[str, str]]:
    return {t["labels"]["pod"]: t["labels"] for t in prom.targets()}


def test_without_the_prometheus_operator_the_charts_scrape_job_labels_series_alike(
    stack: Stack, tmp_path: Path
) -> None:
    """A Prometheus that scrapes by the pods' prometheus.io annotations, through the job the chart
    renders for it, gives every target the labels the PodMonitor gives it; every panel shows data."""
    with prometheus.prometheus(tmp_path / "prometheus", annotation_scrape_config(stack.pods)) as prom:
        eventually(lambda: all(t["health"] == "up" for t in prom.targets()) and len(prom.targets()) == 4, timeout=30)
        assert _target_labels(prom) == _target_labels(stack.prom)
        assert {"platform", "domain", "component"} <= set(_target_labels(prom)["generation-7d9f-abcde"])
        eventually(lambda: prom.query("storybang_generation_queue_depth"), timeout=30)
        time.sleep(3)  # rates need two scrapes or more
        empty = {name: prometheus.panels_without_data(name, prom) for name in CHECKED}
    assert not any(empty.values()), empty
