#!/usr/bin/env bash
# The Helm chart charts/storybang: generated files and checks.
#
#   scripts/chart.sh schema   regenerate values.schema.json and README.md's parameter tables from
#                             the `## @param` comments of values.yaml
#   scripts/chart.sh check    those files are up to date, the CRD copy is exact, `helm lint`
#                             passes, and the chart tests (charts/tests: renders with default,
#                             external and invalid values; Pod Security "restricted"; RBAC equal to
#                             operator/rbac.yaml; custom resources valid against the CRDs)
#
# Needs the virtual environment (.venv) and helm: $HELM, else bin/helm (`make tools`), else helm on
# the PATH.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/${VENV:-.venv}/bin/python"
CHART=charts/storybang

helm_bin() {
  if [[ -n ${HELM:-} ]]; then echo "$HELM"
  elif [[ -x $ROOT/bin/helm ]]; then echo "$ROOT/bin/helm"
  elif command -v helm >/dev/null; then command -v helm
  else
    echo "chart: no helm: run 'make tools' (bin/helm) or set HELM" >&2
    return 1
  fi
}

case "${1:-}" in
  schema)
    "$PY" charts/tools/values_doc.py "$CHART"
    ;;
  check)
    "$PY" charts/tools/values_doc.py "$CHART" --check
    scripts/crds.sh check
    HELM="$(helm_bin)"
    export HELM
    "$HELM" lint --strict "$CHART"
    "$ROOT/${VENV:-.venv}/bin/pytest" -q -p no:cacheprovider charts/tests
    ;;
  *)
    echo "usage: $0 schema|check" >&2
    exit 2
    ;;
esac
