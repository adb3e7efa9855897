#!/usr/bin/env bash
# Static checks: ruff, mypy --strict and the written-down import rules, for the services and the
# operator; the CRDs in the chart are the ones in crds/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/${VENV:-.venv}/bin"
for part in services operator; do
  echo "lint: $part"
  (cd "$ROOT/$part" && "$BIN/ruff" check src tests && "$BIN/mypy" src && "$BIN/lint-imports" --config .importlinter)
done
echo "lint: tests/e2e"
"$BIN/ruff" check --config "$ROOT/tests/e2e/ruff.toml" "$ROOT/tests/e2e"
"$ROOT/scripts/crds.sh" check
