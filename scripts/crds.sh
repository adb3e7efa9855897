#!/usr/bin/env bash
# The chart's copy of the CRDs. crds/ is the source of truth for the API group storybang.io; the
# chart ships an exact copy in charts/storybang/crds/ because Helm installs that folder before any
# template (and never templates it).
#
#   scripts/crds.sh sync    copy crds/*.yaml into the chart (and drop files no longer in crds/)
#   scripts/crds.sh check   fail, listing the differences, when the copy is not exact
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/crds"
DST="$ROOT/charts/storybang/crds"

case "${1:-}" in
  sync)
    mkdir -p "$DST"
    rm -f "$DST"/storybang.io_*.yaml
    cp "$SRC"/*.yaml "$DST"/
    echo "crds: copied $(ls "$SRC"/*.yaml | wc -l) CRDs into ${DST#"$ROOT"/}"
    ;;
  check)
    status=0
    for src in "$SRC"/*.yaml; do
      diff -u "$src" "$DST/$(basename "$src")" || status=1
    done
    for dst in "$DST"/storybang.io_*.yaml; do
      [[ -e $SRC/$(basename "$dst") ]] || { echo "crds: $dst is not in crds/" >&2; status=1; }
    done
    if ((status)); then
      echo "crds: charts/storybang/crds/ differs from crds/; run 'make crds' (scripts/crds.sh sync)" >&2
      exit 1
    fi
    echo "crds: chart copy up to date"
    ;;
  *)
    echo "usage: $0 sync|check" >&2
    exit 2
    ;;
esac
