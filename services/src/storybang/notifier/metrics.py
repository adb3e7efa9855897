"""The notifier's Prometheus metrics, on ``/metrics``."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

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
