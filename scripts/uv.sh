#!/usr/bin/env bash
# uv, at the version pinned here, from PyPI: the one installer of every Python environment of the
# project (.venv, .venv-inference, the images), each installed exactly from uv.lock.
#
#   scripts/uv.sh ARGS...   run `uv ARGS...` (e.g. `scripts/uv.sh lock` after a change of requirements)
#
# uv is installed by pip into .uv/ (a virtual environment of its own) the first time, so nothing
# beyond python3 is needed on a fresh machine. It uses the interpreter named by $PYTHON (python3 by
# default) and never downloads one. It runs in the repository's root, where the workspace is.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
UV_VERSION=0.13.9
home="$ROOT/.uv"

if [[ $("$home/bin/uv" --version 2>/dev/null) != "uv $UV_VERSION"* ]]; then
  "${PYTHON:-python3}" -m venv --clear "$home"
  "$home/bin/python" -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
fi
cd "$ROOT"
export UV_PYTHON="${UV_PYTHON:-${PYTHON:-python3}}" UV_PYTHON_DOWNLOADS=never
exec "$home/bin/uv" "$@"
