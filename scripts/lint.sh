#!/usr/bin/env bash
# Static checks: ruff, mypy --strict, the written-down import rules.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/${VENV:-.venv}/bin"
cd "$ROOT/services"
"$BIN/ruff" check src tests
"$BIN/mypy" src
"$BIN/lint-imports" --config "$ROOT/services/.importlinter"
