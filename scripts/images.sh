#!/usr/bin/env bash
# `make images`: build the StoryBang images from docker/ with Docker, or with podman where there is
# no Docker daemon (the Dockerfiles are the same for both).
#
#   scripts/images.sh [storybang] [storybang-operator] [storybang-inference]   (default: the first two)
#   scripts/images.sh base                                                     only the local base image
#
# The base image is the build argument PYTHON_IMAGE. Where a registry is reachable it is the official
# python:3.11-slim-bookworm; where none is (as on the machines that run `make test`), it is a base
# made here from Debian's own packages: `debootstrap --variant=minbase` of bookworm with python3 (3.11,
# the version of the official image), imported with `podman import`. The root file system is cached
# under ~/.cache/storybang/images (a few minutes to make, seconds to import again). Set PYTHON_IMAGE
# to choose the base yourself, and TAG for the images' tag (default: dev).
#
# podman sets the containers' rlimits at run time; a sandbox may refuse to raise them, so builds
# and runs here ask for limits below the usual ones (--ulimit). Debian: apt-get install podman runc.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OFFICIAL=docker.io/library/python:3.11-slim-bookworm
LOCAL_BASE=localhost/storybang-base:bookworm
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/storybang/images"
TAG="${TAG:-dev}"
BASE_PACKAGES=python3,python3-venv,ca-certificates,passwd
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

# PYTHON_IMAGE if set; else the official image where it can be pulled; else the local base.
base_image() {
  local tool=$1
  if [[ -n ${PYTHON_IMAGE:-} ]]; then
    echo "$PYTHON_IMAGE"
  elif [[ $tool == docker ]] || podman image exists "$OFFICIAL" || timeout 60 podman pull -q "$OFFICIAL" >/dev/null 2>&1; then
    echo "$OFFICIAL"
  else
    log "no registry reachable: building on a local Debian base"
    local_base
    echo "$LOCAL_BASE"
  fi
}

build() {
  local tool=$1 base=$2 image=$3 started=$SECONDS
  local args=(build --build-arg "PYTHON_IMAGE=$base" -t "$image:$TAG")
  [[ $tool == podman ]] && args+=("${PODMAN_RUNTIME[@]}" "${PODMAN_LIMITS[@]}" --network host --layers)
  case $image in
    storybang) args+=(-f docker/storybang.Dockerfile --target storybang) ;;
    storybang-inference) args+=(-f docker/storybang.Dockerfile --target storybang-inference) ;;
    storybang-operator) args+=(-f docker/operator.Dockerfile) ;;
    *) log "unknown image $image (storybang, storybang-operator, storybang-inference)"; exit 2 ;;
  esac
  if [[ $image == storybang* && $image != storybang-operator && ! -f web/dist/index.html ]]; then
    log "the image carries the web client: building it first (make web)"
    scripts/web.sh build
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
  local images=("$@")
  [[ ${#images[@]} -gt 0 ]] || images=(storybang storybang-operator)
  local base
  base=$(base_image "$tool")
  for image in "${images[@]}"; do
    build "$tool" "$base" "$image"
  done
  "$tool" images --filter "reference=*storybang*" >&2
}

main "$@"
