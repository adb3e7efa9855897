"""The notifier: sockets and the people behind them, events delivered live and replayed, and how
long an event takes from a worker to a browser."""

from __future__ import annotations

from dashboards.common import RATE, Panel, Row, build, q, selector, standard_variables

NF = selector('domain="notifier"')


def _lag(p: str) -> str:
    return f"histogram_quantile({p}, sum by (le) (rate(storybang_notifier_delivery_lag_seconds_bucket{NF}[{RATE}])))"


def dashboard() -> str:
    now = Row(
        "Now",
        [
            Panel("Sockets connected", [q(f"sum(storybang_notifier_connected_sockets{NF})")], kind="stat"),
            Panel("Users connected", [q(f"sum(storybang_notifier_connected_users{NF})")], kind="stat"),
            Panel("Delivery lag p95", [q(_lag("0.95"))], unit="s", kind="stat"),
            Panel("Notifier pods up", [q(f"sum(up{NF})")], kind="stat"),
        ],
    )
    connections = Row(
        "Connections",
        [
            Panel(
                "Sockets and users connected",
                [
                    q(f"sum by (pod) (storybang_notifier_connected_sockets{NF})", "{{pod}} sockets"),
                    q(f"sum by (pod) (storybang_notifier_connected_users{NF})", "{{pod}} users"),
                ],
            ),
            Panel(
                "Connections / s, accepted and refused",
                [
                    q(f"sum(rate(storybang_notifier_connections_total{NF}[{RATE}]))", "accepted"),
                    q(
                        f"sum by (reason) (rate(storybang_notifier_connections_refused_total{NF}[{RATE}]))",
                        "refused: {{reason}}",
                    ),
                ],
                unit="ops",
            ),
        ],
    )
    deliveries = Row(
        "Deliveries",
        [
            Panel(
                "Events sent / s by path",
                [q(f"sum by (path) (rate(storybang_notifier_events_delivered_total{NF}[{RATE}]))", "{{path}}")],
                unit="ops",
            ),
            Panel(
                "Delivery lag",
                [q(_lag(p), f"p{n}") for p, n in (("0.5", 50), ("0.95", 95), ("0.99", 99))],
                unit="s",
                description="From a worker publishing an event to the notifier sending it to the user's sockets.",
            ),
            Panel(
                "Replays / s by result",
                [q(f"sum by (result) (rate(storybang_notifier_replays_total{NF}[{RATE}]))", "{{result}}")],
                unit="ops",
                description="incomplete: the client was away too long and was told to refetch its state.",
            ),
            Panel(
                "Duplicates dropped / s",
                [q(f"sum(rate(storybang_notifier_duplicates_dropped_total{NF}[{RATE}]))", "dropped")],
                unit="ops",
            ),
        ],
    )
    return build(
        "storybang-notifier",
        "StoryBang / Notifier",
        "Socket.IO connections, deliveries, replays and delivery lag.",
        [now, connections, deliveries],
        standard_variables(),
    )
