"""The shipped dashboards (charts/storybang/files/dashboards), read as Grafana reads them: their
variables resolved against Prometheus in order, then each panel's queries with the values filled in."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from tests.monitoring.prometheus import REPO, Prometheus

FOLDER = REPO / "charts/storybang/files/dashboards"
# What Grafana puts for $__rate_interval and $__range: the whole length of a test's traffic.
RANGE = "10m"
# The dashboards' marker for panels that only vLLM answers (see charts/tools/dashboards/common.py).
ENGINE_ONLY = "Only vLLM exports this."
_LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.*),\s*(?P<label>\w+)\)$")


@dataclass
class Target:
    dashboard: str
    panel: str
    expr: str
    engine_only: bool


def load(name: str) -> dict[str, Any]:
    board: dict[str, Any] = json.loads((FOLDER / f"{name}.json").read_text())
    return board


def names() -> list[str]:
    return sorted(p.stem for p in FOLDER.glob("*.json"))


def fill(text: str, values: dict[str, str]) -> str:
    text = text.replace("$__rate_interval", RANGE).replace("$__range", RANGE)
    for name in sorted(values, key=len, reverse=True):  # $pod before $p…, were there one
        text = text.replace(f"${name}", values[name])
    return text


def resolve_variables(board: dict[str, Any], prom: Prometheus) -> dict[str, str]:
    """Each query variable's values, as Grafana would offer them, all selected (a regex of them).
    A variable that offers nothing fails: its dashboard would show nothing."""
    values: dict[str, str] = {}
    for variable in board["templating"]["list"]:
        if variable["type"] != "query":
            continue
        match = _LABEL_VALUES.match(variable["query"])
        assert match, f"{board['uid']}: variable {variable['name']} is not label_values(…): {variable['query']}"
        found = prom.label_values(fill(match["selector"], values), match["label"])
        assert found, f"{board['uid']}: variable {variable['name']} offers no value ({variable['query']})"
        values[variable["name"]] = "(" + "|".join(found) + ")"  # Grafana's "All" with every value picked
    return values


def targets(board: dict[str, Any], values: dict[str, str]) -> list[Target]:
    return [
        Target(board["uid"], panel["title"], fill(t["expr"], values), ENGINE_ONLY in panel.get("description", ""))
        for panel in board["panels"]
        for t in panel.get("targets", [])
    ]
