#!/usr/bin/env bash
# Static checks: ruff over every Python file of the repository (one configuration: the root
# pyproject.toml), mypy --strict and the written-down import rules of the services and the operator,
# mypy --strict of the shared test support, and the chart's generated files up to date.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/${VENV:-.venv}/bin"
cd "$ROOT"
echo "lint: ruff"
"$BIN/ruff" check .
"$BIN/ruff" format --check .
for part in services operator; do
  echo "lint: $part"
  (cd "$ROOT/$part" && "$BIN/mypy" src && "$BIN/lint-imports" --config .importlinter)
done
echo "lint: testing"
(cd "$ROOT/testing" && "$BIN/mypy")
echo "lint: dashboards"
"$BIN/mypy" --strict charts/tools/dashboards
echo "lint: chart"
"$ROOT/scripts/chart.sh" check
