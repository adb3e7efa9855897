#!/usr/bin/env bash
# `make images`: build the StoryBang images from docker/ with Docker, or with podman where there is
# no Docker daemon (the Dockerfiles are the same for both).
#
#   scripts/images.sh [IMAGE...]    (default: storybang storybang-operator)
#   scripts/images.sh base          only the local base image
#   scripts/images.sh previous      the previous release's storybang and storybang-operator (below)
#
# IMAGE is storybang, storybang-operator, storybang-inference, or one of the datastores' images:
# storybang-redis, storybang-mariadb, storybang-ferretdb (`datastores` builds all three; `cluster`
# builds every image the chart's platform runs, for the real node of the end-to-end tests). Those are
# stand-ins for the official redis, mariadb and mongo images that the chart runs by default, made
# from Debian's packages for clusters that reach no registry; the chart's pods run them unchanged
# once their values point at them. storybang-ferretdb carries FerretDB's own command, built here
# from the FerretDB module that tools/ferretdb pins (bin/ferretdb-upstream).
#
# `previous` builds the images of the release that the upgrade test on the real node starts from
# (tests/e2e/previous-release, tests/e2e/test_platform_upgrade.py): that release's own
# scripts/images.sh, on its own source (git archive), on the same base, tagged `previous`.
#
# StoryBang's images are built on the build argument PYTHON_IMAGE, the datastores' on DEBIAN_IMAGE.
# Where a registry is reachable they are the official python:3.11-slim-bookworm and
# debian:bookworm-slim; where none is (as on the machines that run `make test`), both are a base
# made here from Debian's own packages: `debootstrap --variant=minbase` of bookworm with python3
# (3.11, the version of the official image), imported with `podman import`. The root file system
# is cached under ~/.cache/storybang/images (a few minutes to make, seconds to import again). Set
# PYTHON_IMAGE or DEBIAN_IMAGE to choose a base yourself, and TAG for the images' tag (default: dev).
#
# podman sets the containers' rlimits at run time; a sandbox may refuse to raise them, so builds
# and runs here ask for limits below the usual ones (--ulimit). Debian: apt-get install podman runc.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OFFICIAL_PYTHON=docker.io/library/python:3.11-slim-bookworm
OFFICIAL_DEBIAN=docker.io/library/debian:bookworm-slim
LOCAL_BASE=localhost/storybang-base:bookworm
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/storybang/images"
TAG="${TAG:-dev}"
BASE_PACKAGES=python3,python3-venv,ca-certificates,passwd
DATASTORES=(storybang-redis storybang-mariadb storybang-ferretdb)
PODMAN_LIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
# Debian's podman runs crun, which refuses hosts with cgroup v1 or hybrid hierarchies; runc does not.
PODMAN_RUNTIME=()
if command -v runc >/dev/null; then PODMAN_RUNTIME=(--runtime "$(command -v runc)"); fi

log() { printf 'images: %s\n' "$*" >&2; }

builder() {
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    echo docker
  elif command -v podman >/dev/null; then
    echo podman
  else
    log "neither a Docker daemon nor podman: install one (Debian: apt-get install podman)"
    exit 1
  fi
}

# The local base: Debian bookworm's python3 in a minimal root file system. It trusts what this
# machine trusts (its CA bundle), so that pip and uv reach PyPI through a TLS-inspecting proxy.
local_base() {
  if podman image exists "$LOCAL_BASE"; then
    return
  fi
  local tarball="$CACHE/debian-bookworm-python3.tar"
  if [[ ! -f $tarball ]]; then
    command -v debootstrap >/dev/null || { log "no registry and no debootstrap: apt-get install debootstrap"; exit 1; }
    local rootfs="$CACHE/rootfs"
    rm -rf "$rootfs" && mkdir -p "$rootfs"
    log "making the base root file system with debootstrap (a few minutes, once)"
    debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >&2
    cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
    # As the official image: no apt lists or caches in the layer.
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
    tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
  fi
  log "importing $tarball as $LOCAL_BASE"
  podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["python3"]' \
    "$tarball" "$LOCAL_BASE" >/dev/null
}

# base_image TOOL OFFICIAL: the official image where it can be pulled; else the local base.
base_image() {
  local tool=$1 official=$2
  if [[ $tool == docker ]] || podman image exists "$official" || timeout 60 podman pull -q "$official" >/dev/null 2>&1; then
    echo "$official"
  else
    log "no registry reachable: building on a local Debian base"
    local_base
    echo "$LOCAL_BASE"
  fi
}

# FerretDB's own command, which the image storybang-ferretdb needs for its SCRAM authentication
# (bin/ferretdb, the tests' server, embeds FerretDB's public package, which has none). A plain
# `go install .../cmd/ferretdb` panics: that command reads build/version/version.txt, which FerretDB
# generates at release time and which the module proxy's copy lacks. So it is built from a copy of
# the module that tools/ferretdb pins, with that file written. Static (no cgo: SQLite is pure Go),
# so it runs on any base.
ferretdb_upstream() {
  local out="$ROOT/bin/ferretdb-upstream" version dir src
  command -v go >/dev/null || { log "Go is needed to build FerretDB (>= 1.24)"; exit 1; }
  version=$(pinned_go list -m -f '{{.Version}}' github.com/FerretDB/FerretDB)
  if [[ -x $out ]] && "$out" --version | grep -qx "version: $version"; then
    return
  fi
  log "building bin/ferretdb-upstream, FerretDB $version (cold: a few minutes)"
  pinned_go mod download github.com/FerretDB/FerretDB
  dir=$(pinned_go list -m -f '{{.Dir}}' github.com/FerretDB/FerretDB)
  src="$CACHE/ferretdb-src"
  rm -rf "$src" && mkdir -p "$src"
  cp -r "$dir/." "$src"
  chmod -R u+w "$src"
  echo "$version" >"$src/build/version/version.txt"
  mkdir -p "$(dirname "$out")"
  # Beside the target, then renamed: an interrupted build never leaves a broken binary behind.
  (cd "$src" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS='-trimpath -buildvcs=false -mod=readonly' \
    nice go build -o "$out.tmp" ./cmd/ferretdb)
  mv -f "$out.tmp" "$out"
  rm -rf "$src"
}

# llama_context: the llama.cpp that scripts/inference-env.sh compiled into .venv-inference (from the
# same source, with the same build settings of pyproject.toml) as the inference image's build
# context `llama`, which then skips compiling it again (minutes): printed when its version is the
# lock's and its Python the image's (3.11), else nothing is.
llama_context() {
  local venv=$ROOT/.venv-inference dir=$CACHE/llama-context locked have site
  [[ -x $venv/bin/python ]] || return 0
  locked=$(sed -n '/^name = "llama-cpp-python"$/{n;s/^version = "\(.*\)"$/\1/p}' uv.lock)
  have=$("$venv/bin/python" -c 'import importlib.metadata as m, sys
print(m.version("llama-cpp-python") if sys.version_info[:2] == (3, 11) else "")' 2>/dev/null || true)
  [[ -n $locked && $have == "$locked" ]] || return 0
  site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  rm -rf "$dir" && mkdir -p "$dir/opt/llama"
  cp -a "$site/llama_cpp" "$site/llama_cpp_python-$have.dist-info" "$dir/opt/llama/"
  find "$dir" -name __pycache__ -prune -exec rm -rf {} +
  echo "$dir"
}

# previous TOOL: storybang:previous and storybang-operator:previous, from the release that
# tests/e2e/previous-release names. Its storybang image carries a web client, which its build would
# make first (npm, minutes): today's web/dist goes in instead; the upgrade test runs no web front.
# A subshell, so that its source tree is removed however the build ends.
previous() (
  local tool=$1 rev dir
  rev=$(grep -v '^#' tests/e2e/previous-release | grep -m1 .)
  [[ -f web/dist/index.html ]] || scripts/web.sh build
  dir=$(mktemp -d "${TMPDIR:-/tmp}/storybang-previous.XXXXXX")
  trap 'rm -rf "$dir"' EXIT
  git archive "$rev" | tar -x -C "$dir"
  mkdir -p "$dir/web" && cp -a web/dist "$dir/web/dist"
  log "building the previous release's images ($rev) with its own scripts/images.sh"
  PYTHON_IMAGE=${PYTHON_IMAGE:-$(base_image "$tool" "$OFFICIAL_PYTHON")} TAG=previous \
    "$dir/scripts/images.sh" storybang storybang-operator
)

# go in tools/ferretdb, whose go.mod pins FerretDB's version.
pinned_go() { (cd tools/ferretdb && GOTOOLCHAIN=local go "$@"); }

build() {
  local tool=$1 image=$2 started=$SECONDS base_arg=PYTHON_IMAGE official=$OFFICIAL_PYTHON base
  local args=(build -t "$image:$TAG")
  [[ $tool == podman ]] && args+=("${PODMAN_RUNTIME[@]}" "${PODMAN_LIMITS[@]}" --network host --layers)
  case $image in
    storybang) args+=(-f docker/storybang.Dockerfile --target storybang) ;;
    storybang-inference) args+=(-f docker/storybang.Dockerfile --target storybang-inference) ;;
    storybang-operator) args+=(-f docker/operator.Dockerfile) ;;
    storybang-redis | storybang-mariadb | storybang-ferretdb)
      args+=(-f "docker/${image#storybang-}.Dockerfile")
      base_arg=DEBIAN_IMAGE official=$OFFICIAL_DEBIAN
      ;;
    *) log "unknown image $image (storybang, storybang-operator, storybang-inference, ${DATASTORES[*]}, datastores)"; exit 2 ;;
  esac
  # Each base is chosen once a run, by the first image that needs it, unless the environment gave it.
  if [[ -z ${!base_arg:-} ]]; then
    base=$(base_image "$tool" "$official")
    printf -v "$base_arg" %s "$base"
  fi
  base=${!base_arg}
  args+=(--build-arg "$base_arg=$base")
  if [[ $image == storybang || $image == storybang-inference ]] && [[ ! -f web/dist/index.html ]]; then
    log "the image carries the web client: building it first (make web)"
    scripts/web.sh build
  fi
  if [[ $image == storybang-ferretdb ]]; then
    ferretdb_upstream
  fi
  if [[ $image == storybang-inference ]]; then
    local llama
    llama=$(llama_context)
    if [[ -n $llama ]]; then
      log "llama.cpp from .venv-inference (the lock's version, compiled already)"
      args+=(--build-context "llama=$llama")
    fi
  fi
  log "building $image:$TAG on $base with $tool"
  "$tool" "${args[@]}" .
  log "$image:$TAG built in $((SECONDS - started)) s"
}

main() {
  local tool
  tool=$(builder)
  if [[ ${1:-} == base ]]; then
    local_base
    return
  fi
  local images=() image build_previous=
  for image in "$@"; do
    [[ $image == previous ]] && build_previous=1
  done
  for image in "$@"; do
    case $image in
      datastores) images+=("${DATASTORES[@]}") ;;
      cluster) images+=(storybang storybang-operator storybang-inference "${DATASTORES[@]}") ;;
      previous) ;;
      *) images+=("$image") ;;
    esac
  done
  [[ ${#images[@]} -gt 0 || -n $build_previous ]] || images=(storybang storybang-operator)
  for image in "${images[@]}"; do
    build "$tool" "$image"
  done
  [[ -z $build_previous ]] || previous "$tool"
  "$tool" images --filter "reference=*storybang*" >&2
}

main "$@"
