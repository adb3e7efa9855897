#!/usr/bin/env bash
# The entrypoint of storybang-ferretdb (docker/ferretdb.Dockerfile): FerretDB v1 on SQLite files in
# /data/db, in place of the official mongo image for the chart's MongoDB StatefulSet
# (charts/storybang/templates/datastores/mongodb.yaml), which sets:
#
#   MONGO_INITDB_ROOT_USERNAME, MONGO_INITDB_ROOT_PASSWORD   the administrator, made in `admin` on the
#                                                           first start; with them, authentication is on
#   MONGO_APP_DATABASE, MONGO_APP_USERNAME, MONGO_APP_PASSWORD   StoryBang's user, made in its database
#                                                           on the first start
#   MONGO_INITDB_DATABASE                                   accepted and unused (the database the official
#                                                           image runs init scripts in; here MONGO_APP_DATABASE)
#
# Releases of the chart before the stand-in images existed named StoryBang's user
# STORYBANG_MONGO_DATABASE/USERNAME/PASSWORD (their init script read those); they are read when the
# MONGO_APP_* names are absent, so that such a release runs on this image and can be upgraded.
#
# The official image runs the chart's init script (/docker-entrypoint-initdb.d/*.js) with mongosh,
# which this image lacks; it does natively what that script does, making the application user. Users
# authenticate with SCRAM-SHA-256 or SCRAM-SHA-1 (FerretDB's "new authentication"), and every command
# but the handshake needs an authenticated user. FerretDB v1 keeps no roles: an authenticated user may
# read and write every database, not only the one readWrite would give.
#
# The chart's arguments are mongod's (`mongod --wiredTigerCacheSizeGB=0.25`): logged and ignored. Any
# other command runs as it is (e.g. bash).
set -euo pipefail

DATA=/data/db
INITDIR=$DATA/.initdb
# A setup writes a few rows: only a very slow disk comes near this.
SETUP_TIMEOUT_S=60
# The password hashes are in admin.sqlite: the data is the server's alone.
umask 077

log() { printf '%s entrypoint: %s\n' "$(date '+%FT%T')" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# No state file, telemetry or debug listener: the pod's only port is MongoDB's.
FERRETDB=(ferretdb --handler=sqlite --state-dir=- --telemetry=disable --debug-addr=-)

# setup DIR DATABASE USERNAME PASSWORD: DATABASE, and USERNAME in it, made by FerretDB's own setup
# (--setup-*), which runs before the server listens: once its unix socket is there, the setup is
# done and the server is stopped. It never listens on TCP, so the pod's port answers only once the
# real server runs. The password reaches it in its environment, not on its command line.
setup() {
  local dir=$1 database=$2 username=$3 password=$4 pid i
  FERRETDB_SETUP_PASSWORD=$password "${FERRETDB[@]}" --sqlite-url="file:$dir/" --test-enable-new-auth \
    --listen-addr= --listen-unix="$dir/setup.sock" \
    --setup-database="$database" --setup-username="$username" &
  pid=$!
  for ((i = 0; i < SETUP_TIMEOUT_S * 5; i++)); do
    if [[ -S $dir/setup.sock ]]; then
      kill "$pid"
      wait "$pid"
      return
    fi
    kill -0 "$pid" 2>/dev/null || die "FerretDB stopped while making $username in $database (see above)"
    sleep 0.2
  done
  die "FerretDB did not make $username in $database within $SETUP_TIMEOUT_S s"
}

# The first start: the users are made in a directory beside the data, then moved into place, the
# database that holds them (admin) last, so that a start cut short is a first start again. A
# database already in place (an interrupted first start's, or one written before authentication
# was on) is kept.
init_data() {
  local f
  [[ ${MONGO_APP_DATABASE:-} != admin ]] || die "MONGO_APP_DATABASE is admin: the application user needs a database of its own"
  log "first start: making $MONGO_INITDB_ROOT_USERNAME in admin${MONGO_APP_USERNAME:+ and $MONGO_APP_USERNAME in $MONGO_APP_DATABASE}"
  rm -rf "$INITDIR"
  mkdir "$INITDIR"
  setup "$INITDIR" admin "$MONGO_INITDB_ROOT_USERNAME" "$MONGO_INITDB_ROOT_PASSWORD"
  if [[ -n ${MONGO_APP_USERNAME:-} ]]; then
    setup "$INITDIR" "$MONGO_APP_DATABASE" "$MONGO_APP_USERNAME" "$MONGO_APP_PASSWORD"
  fi
  for f in "$INITDIR"/*.sqlite*; do
    [[ $f == */admin.sqlite ]] || mv -n "$f" "$DATA/"
  done
  mv "$INITDIR/admin.sqlite" "$DATA/"
  rm -rf "$INITDIR"
  for f in /docker-entrypoint-initdb.d/*; do
    if [[ -e $f ]]; then
      log "skipping $f: this image runs no init scripts (it has no mongo shell); it made the application user itself"
    fi
  done
}

if [[ ${1:-} == mongod || ${1:-} == -* ]]; then
  [[ $1 != mongod ]] || shift
  : "${MONGO_APP_DATABASE:=${STORYBANG_MONGO_DATABASE:-}}" "${MONGO_APP_USERNAME:=${STORYBANG_MONGO_USERNAME:-}}"
  : "${MONGO_APP_PASSWORD:=${STORYBANG_MONGO_PASSWORD:-}}"
  (($# == 0)) || log "ignoring mongod's options: $*"
  if [[ -n ${MONGO_INITDB_ROOT_USERNAME:-} || -n ${MONGO_INITDB_ROOT_PASSWORD:-} ]]; then
    [[ -n ${MONGO_INITDB_ROOT_USERNAME:-} && -n ${MONGO_INITDB_ROOT_PASSWORD:-} ]] ||
      die "MONGO_INITDB_ROOT_USERNAME and MONGO_INITDB_ROOT_PASSWORD go together"
    if [[ -n ${MONGO_APP_USERNAME:-} ]]; then
      [[ -n ${MONGO_APP_DATABASE:-} && -n ${MONGO_APP_PASSWORD:-} ]] ||
        die "MONGO_APP_USERNAME needs MONGO_APP_DATABASE and MONGO_APP_PASSWORD"
    fi
    if [[ ! -e $DATA/admin.sqlite ]]; then
      init_data
    fi
    auth=(--test-enable-new-auth)
  else
    log "no MONGO_INITDB_ROOT_USERNAME/PASSWORD: authentication is off, as in the official image"
    auth=()
  fi
  # As the official image: the server needs none of them, so they stay out of its environment.
  unset "${!MONGO_INITDB_@}" "${!MONGO_APP_@}" "${!STORYBANG_MONGO_@}"
  exec "${FERRETDB[@]}" --sqlite-url="file:$DATA/" --listen-addr=0.0.0.0:27017 "${auth[@]}"
fi
exec "$@"
