"""The notifier's Prometheus metrics, on ``/metrics``."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

# From a worker's publish to the notifier's send: milliseconds normally, seconds when Redis or the
# notifier's event loop falls behind.
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

CONNECTIONS = Counter("storybang_notifier_connections_total", "Sockets accepted.")
REFUSED = Counter("storybang_notifier_connections_refused_total", "Sockets refused at connect.", ["reason"])
CONNECTED = Gauge("storybang_notifier_connected_sockets", "Sockets connected now.")
DELIVERED = Counter(
    "storybang_notifier_events_delivered_total",
    "Events sent to sockets (one per socket): live, or replayed after a reconnect.",
    ["path"],
)
DUPLICATES_DROPPED = Counter(
    "storybang_notifier_duplicates_dropped_total", "Live events held during a replay that the replay had already sent."
)
CONNECTED_USERS = Gauge("storybang_notifier_connected_users", "Users with at least one socket connected now.")
REPLAYS = Counter(
    "storybang_notifier_replays_total",
    "Reconnects that asked for missed events, by result: complete, or incomplete (told to refetch).",
    ["result"],
)
LAG = Histogram(
    "storybang_notifier_delivery_lag_seconds",
    "From an event's publication (the time in its id) to its live sending to the user's sockets.",
    buckets=LAG_BUCKETS,
)


def observe_lag(data: Any) -> None:
    """Time since the event in ``data`` was published; events without an id are not timed."""
    event_id = data.get("event_id") if isinstance(data, Mapping) else None
    if isinstance(event_id, str) and "-" in event_id:
        published_ms = event_id.split("-", 1)[0]
        if published_ms.isdigit():
            LAG.observe(max(0.0, time.time() - int(published_ms) / 1000))


def count_users(rooms: Callable[[], Mapping[str, Mapping[Any, Any]]]) -> None:
    """Report the users whose room (``user:<id>``, gone with its last socket) has sockets, read at
    scrape time from the Socket.IO manager's rooms."""
    CONNECTED_USERS.set_function(lambda: sum(1 for room in rooms().get("/", {}) if str(room).startswith("user:")))
