#!/usr/bin/env bash
# The Helm chart charts/storybang: its generated files, and its tests.
#
#   scripts/chart.sh sync    (make chart) regenerate what the chart copies or derives:
#                              crds/*.yaml         -> charts/storybang/crds/ (scripts/crds.sh)
#                              operator/rbac.yaml  -> charts/storybang/files/operator-rbac.yaml
#                              values.yaml's `## @param` comments -> values.schema.json, README.md
#                              charts/tools/dashboards (Python) -> files/dashboards/*.json (Grafana)
#   scripts/chart.sh check   (make lint) fail, saying what differs, when any of them is out of date
#   scripts/chart.sh test    `helm lint --strict` of both charts, the chart tests (charts/tests: renders with
#                            default, external and invalid values; Pod Security "restricted"; RBAC
#                            equal to operator/rbac.yaml; custom resources valid against the CRDs),
#                            and the alert rules' unit tests (promtool, scripts/prometheus.sh check)
#
# Needs the virtual environment (.venv); `test` needs helm too: $HELM, else bin/helm (`make tools`),
# else helm on the PATH.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/${VENV:-.venv}/bin/python"
CHART=charts/storybang
# The CRDs as a chart of their own, so that `helm upgrade` upgrades them; its definitions/ is a
# link to $CHART/crds, so `sync` keeps both.
CRDS_CHART=charts/storybang-crds
# The operator's RBAC, read by templates/operator/rbac.yaml: one list of rules, kept in operator/
# where the code that needs them is, and copied because Helm reads files inside the chart only.
RBAC_SRC=operator/rbac.yaml
RBAC_DST=$CHART/files/operator-rbac.yaml
dashboards() { PYTHONPATH="$ROOT/charts/tools" "$PY" -m dashboards "$CHART/files/dashboards" "$@"; }

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
  sync)
    scripts/crds.sh sync
    cp "$RBAC_SRC" "$RBAC_DST"
    echo "chart: copied $RBAC_SRC into $RBAC_DST"
    "$PY" charts/tools/values_doc.py "$CHART"
    dashboards
    echo "chart: wrote the dashboards from charts/tools/dashboards"
    ;;
  check)
    status=0
    scripts/crds.sh check || status=1
    if diff -u "$RBAC_SRC" "$RBAC_DST"; then
      echo "chart: $RBAC_DST up to date"
    else
      echo "chart: $RBAC_DST differs from $RBAC_SRC" >&2
      status=1
    fi
    "$PY" charts/tools/values_doc.py "$CHART" --check || status=1
    dashboards --check || status=1
    ((status == 0)) || { echo "chart: generated files out of date; run 'make chart'" >&2; exit 1; }
    ;;
  test)
    HELM="$(helm_bin)"
    export HELM
    "$HELM" lint --strict "$CHART"
    "$HELM" lint --strict "$CRDS_CHART"
    "$ROOT/${VENV:-.venv}/bin/pytest" -q -p no:cacheprovider charts/tests
    scripts/prometheus.sh check
    ;;
  *)
    echo "usage: $0 sync|check|test" >&2
    exit 2
    ;;
esac
