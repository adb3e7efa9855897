"""What every StoryBang dashboard shares: its variables, label selectors and panel shapes.

Built on grafana-foundation-sdk (Grafana's own typed builders), so a misspelt option is a type
error, not a panel that silently ignores it. Every query selects on the target labels that the
chart's monitors give StoryBang pods (see charts/storybang/files/monitoring/relabelings.yaml):
``namespace`` and ``platform`` always, ``domain`` and ``component`` where they narrow, and the
labels the metrics carry themselves (``task``, ``backend``, ``outcome``, ``reason``, ``route``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    VariableModel,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
RATE = "$__rate_interval"
# Panels whose query only an engine we cannot run in `make test` answers (vLLM on a GPU) say so in
# their description; the Prometheus test holds them to naming only that engine's metrics.
ENGINE_ONLY = "Only vLLM exports this."


def selector(*matchers: str, variables: Sequence[str] = ("namespace", "platform")) -> str:
    """A label selector: the dashboard's variables (multi-valued: regex) and ``matchers``."""
    parts = [f'{v}=~"${v}"' for v in variables] + list(matchers)
    return "{" + ", ".join(parts) + "}"


def ratio(part: str, whole: str) -> str:
    """``part / whole`` that is 0, not empty, when ``part`` has no series yet (no 5xx answer so far
    means none are counted: an empty numerator would leave the panel saying "No data")."""
    return f"({part} or {whole} * 0) / clamp_min({whole}, 1e-9)"


@dataclass
class Query:
    expr: str
    legend: str = ""


@dataclass
class Panel:
    title: str
    queries: list[Query]
    unit: str = "short"
    kind: str = "timeseries"  # or "stat"
    description: str = ""
    width: int = 12
    stack: bool = False
    min_zero: bool = True


@dataclass
class Row:
    title: str
    panels: list[Panel] = field(default_factory=list)


def q(expr: str, legend: str = "") -> Query:
    return Query(expr, legend)


def _targets(panel: Panel) -> list[prometheus.Dataquery]:
    refs = "ABCDEFGH"
    return [
        prometheus.Dataquery().expr(query.expr).legend_format(query.legend or "__auto").ref_id(refs[i]).range()
        for i, query in enumerate(panel.queries)
    ]


def _build(panel: Panel, panel_id: int) -> stat.Panel | timeseries.Panel:
    built: stat.Panel | timeseries.Panel
    if panel.kind == "stat":
        built = stat.Panel().height(4).span(panel.width if panel.width != 12 else 4)
    else:
        built = timeseries.Panel().height(8).span(panel.width)
        if panel.stack:
            built = built.fill_opacity(30)
    built = built.id(panel_id).title(panel.title).unit(panel.unit).datasource(DATASOURCE)
    if panel.description:
        built = built.description(panel.description)
    if panel.min_zero:
        built = built.min(0)
    for target in _targets(panel):
        built = built.with_target(target)
    return built


def query_variable(name: str, label: str, query: str, *, include_all: bool = True) -> dashboard.QueryVariable:
    return (
        dashboard.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(query)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(include_all)
        .all_value(".*")
        .current(VariableOption(selected=True, text="All", value="$__all"))
    )


def standard_variables() -> list[Builder[VariableModel]]:
    """Data source, namespace and platform: the first three variables of every dashboard."""
    return [
        dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus"),
        query_variable("namespace", "Namespace", 'label_values(up{platform!=""}, namespace)'),
        query_variable("platform", "Platform", 'label_values(up{namespace=~"$namespace"}, platform)'),
    ]


def build(
    uid: str,
    title: str,
    description: str,
    rows: list[Row],
    variables: Sequence[Builder[VariableModel]],
) -> str:
    """The dashboard as Grafana's JSON, stable byte for byte (diffed by `make test`)."""
    board = (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["storybang"])
        .editable()
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .refresh("30s")
        .time("now-3h", "now")
        .timezone("browser")
    )
    for variable in variables:
        board = board.with_variable(variable)
    panel_id = 1
    for row in rows:
        board = board.with_row(dashboard.Row(row.title).id(panel_id))
        panel_id += 1
        for panel in row.panels:
            board = board.with_panel(_build(panel, panel_id))
            panel_id += 1
    encoded = JSONEncoder(sort_keys=True, indent=2).encode(board.build())
    return json.dumps(json.loads(encoded), indent=2, sort_keys=True) + "\n"
