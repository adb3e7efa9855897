#!/usr/bin/env bash
# Pins this module to one Kubernetes release.
#
# k8s.io/kubernetes requires its staging modules (k8s.io/api, k8s.io/apiserver, ...) at v0.0.0 and
# points them at ./staging/src through replace directives, which a depending module does not inherit.
# This script reads the release's own go.mod from the module cache and replaces every staging module
# k8s.io/X with its published twin k8s.io/X v0.N.M (Kubernetes v1.N.M), then requires etcd at exactly
# the version that release is tested with.
#
# Usage: tools/cluster/gen-replaces.sh v1.34.4     (then commit go.mod and go.sum)
set -euo pipefail
export GOTOOLCHAIN=local

version=${1:?usage: $0 v1.N.M}
[[ $version =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || { echo "not a v1.N.M release: $version" >&2; exit 2; }
staging_version="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"
cd "$(dirname "$0")"

kube_gomod=$(go mod download -json "k8s.io/kubernetes@$version" |
  sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
[[ -f $kube_gomod ]] || { echo "no go.mod for k8s.io/kubernetes@$version" >&2; exit 1; }

# Lines such as `k8s.io/api => ./staging/src/k8s.io/api` inside the replace block.
staging=$(awk '$2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }' "$kube_gomod")
etcd_version=$(awk '$1 == "go.etcd.io/etcd/server/v3" { print $2 }' "$kube_gomod")
[[ -n $staging && -n $etcd_version ]] || { echo "unexpected layout of $kube_gomod" >&2; exit 1; }

# Drop replaces of an earlier pin (a staging module may have left between releases).
sed -n 's/^\(replace\)\{0,1\}[[:space:]]*\(k8s\.io\/[^ ]*\) => .*/\2/p' go.mod |
  while read -r mod; do go mod edit -dropreplace="$mod"; done
edits=(-require="k8s.io/kubernetes@$version" -require="go.etcd.io/etcd/server/v3@$etcd_version")
for mod in $staging; do
  edits+=(-replace="$mod=$mod@$staging_version")
done
go mod edit "${edits[@]}"
go mod tidy

resolved=$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
if [[ $resolved != "$etcd_version" ]]; then
  echo "etcd resolved to $resolved but Kubernetes $version uses $etcd_version" >&2
  exit 1
fi
echo "pinned k8s.io/kubernetes $version, $(wc -w <<<"$staging") staging modules at $staging_version, etcd $etcd_version"
