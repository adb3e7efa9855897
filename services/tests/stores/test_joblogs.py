"""Each job's log lines kept for administrators: a bounded buffer that never makes logging wait,
written out in batches to real Redis (or the embedded store), capped per job, with an expiry."""

from __future__ import annotations

import json
import logging
import secrets
import socket
import time
from collections.abc import Iterator

import pytest
import redis
from prometheus_client import REGISTRY

from storybang import logs
from storybang.settings import LogSettings
from storybang.stores import joblogs


def dropped(reason: str) -> float:
    value = REGISTRY.get_sample_value("storybang_job_log_lines_dropped_total", {"reason": reason})
    assert value is not None
    return value


@pytest.fixture
def configured() -> Iterator[None]:
    """The process's logging, put back to plain lines (no job lines kept) afterwards."""
    yield
    logs.configure(LogSettings(format="json"))
    logging.getLogger().handlers.clear()


def line(n: int) -> str:
    return json.dumps({"timestamp": f"2026-01-01T00:00:{n:02d}Z", "level": "info", "event": f"line {n}"})


async def test_a_full_buffer_drops_lines_and_counts_them_instead_of_waiting() -> None:
    store = joblogs.MemoryJobLines(max_lines=3)
    shipper = joblogs.Shipper(store, capacity=5)  # not started: nothing drains the buffer yet
    before = dropped("buffer_full")
    started = time.perf_counter()
    for n in range(8):
        shipper.offer("job-a", line(n))
    assert time.perf_counter() - started < 0.1
    assert dropped("buffer_full") - before == 3

    shipper.start()
    assert shipper.flush()
    shipper.close()
    # The five lines the buffer took, of which the job keeps its last three, oldest first.
    assert [entry["event"] for entry in await store.read("job-a")] == ["line 2", "line 3", "line 4"]
    assert await store.read("job-b") == []


async def test_the_embedded_store_is_one_per_process_for_the_logging_and_the_api() -> None:
    """`storybang dev` has no Redis: its logging writes, and its API reads, the process's own store."""
    written = joblogs.destination(None, max_lines=200, ttl_seconds=600)
    assert written is joblogs.reader(None, max_lines=200) is joblogs.in_process(200)
    job_id = secrets.token_hex(12)
    shipper = joblogs.Shipper(written, capacity=10).start()
    shipper.offer(job_id, line(1))
    assert shipper.flush()
    shipper.close()
    assert [entry["event"] for entry in await joblogs.reader(None, max_lines=200).read(job_id)] == ["line 1"]


async def test_lines_with_a_job_id_are_kept_in_redis_capped_and_expiring(redis_url: str, configured: None) -> None:
    client = redis.Redis.from_url(redis_url)
    to = joblogs.destination(redis_url, max_lines=4, ttl_seconds=600)
    shipper = joblogs.Shipper(to, capacity=100).start()
    logs.configure(LogSettings(format="json"), job_lines=shipper.offer)
    job_id = secrets.token_hex(12)
    log = logs.get("test")
    log.info("not about a job")
    for n in range(6):
        log.info("step", job_id=job_id, n=n)
    try:
        raise ValueError("the backend said no")
    except ValueError:
        log.exception("job crashed", job_id=job_id, password="hunter2")
    assert shipper.flush()
    shipper.close()

    kept = await joblogs.reader(redis_url, max_lines=4).read(job_id)
    assert [(entry["event"], entry.get("n")) for entry in kept] == [
        ("step", 3),
        ("step", 4),
        ("step", 5),
        ("job crashed", None),
    ]
    assert all(entry["job_id"] == job_id and entry["level"] and entry["timestamp"] for entry in kept)
    crashed = kept[-1]
    assert crashed["level"] == "error"
    assert "ValueError: the backend said no" in crashed["exception"]
    # The same lines as the process's output: a credential passed by mistake is masked in both.
    assert crashed["password"] == logs.REDACTED
    assert 0 < client.ttl(joblogs.PREFIX + job_id) <= 600
    client.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_logging_goes_on_when_redis_is_down_and_the_lost_lines_are_counted(configured: None) -> None:
    to = joblogs.destination(f"redis://127.0.0.1:{closed_port()}/0", max_lines=200, ttl_seconds=600)
    shipper = joblogs.Shipper(to, capacity=1000).start()
    logs.configure(LogSettings(format="json"), job_lines=shipper.offer)
    before = dropped("store_down")
    started = time.perf_counter()
    for n in range(50):
        logs.get("test").info("step", job_id="job-down", n=n)
    # Logging never waits for the store: 50 lines take a few milliseconds however Redis is.
    assert time.perf_counter() - started < 0.5
    assert shipper.flush()
    shipper.close()
    assert dropped("store_down") - before == 50
