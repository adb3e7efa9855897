#!/usr/bin/env bash
# KEDA for the end-to-end tests, from the Go module proxy at the release pinned in tools/keda/go.mod:
#
#   scripts/keda.sh crds    print the folder of KEDA's CustomResourceDefinitions (config/crd/bases of
#                           the module; downloaded once into Go's module cache, then read from there)
#   scripts/keda.sh build   build bin/keda-webhooks, KEDA's admission webhooks, when missing or stale
#
# The CRDs are KEDA's own, with their full schemas (the ScaledJob CRD alone is 650 kB), so they are
# read from the module rather than copied into this repository. The webhooks run out of the cluster
# in the tests (tests/e2e/keda.py registers them by URL); KEDA's operator and metrics server are not
# needed there: nothing scales without a metrics pipeline, the tests play that part.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=$root/tools/keda
bin=$root/bin
export GOTOOLCHAIN=local
module=github.com/kedacore/keda/v2

module_dir() {
  (cd "$dir" && go mod download "$module" && go list -m -f '{{.Dir}}' "$module")
}

cmd_crds() {
  local found
  found=$(module_dir)/config/crd/bases
  [[ -d $found ]] || { echo "keda: no CRDs in $found" >&2; exit 1; }
  echo "$found"
}

cmd_build() {
  local target=$bin/keda-webhooks
  if [[ -x $target && ! $dir/go.mod -nt $target && ! $dir/go.sum -nt $target ]]; then
    echo "keda: bin/keda-webhooks is up to date" >&2
    return
  fi
  mkdir -p "$bin"
  local start=$SECONDS
  (cd "$dir" && nice go build -trimpath -ldflags='-s -w' -o "$target" "$module/cmd/webhooks")
  touch "$target" # go build leaves an identical binary untouched; mark it checked
  echo "keda: built bin/keda-webhooks in $((SECONDS - start))s" >&2
}

case "${1:-}" in
  crds) cmd_crds ;;
  build) cmd_build ;;
  *)
    echo "usage: $0 crds|build" >&2
    exit 2
    ;;
esac
